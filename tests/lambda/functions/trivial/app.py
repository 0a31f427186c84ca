"""The smallest function: the cold-start reference (with and without the layer)."""


def handler(event, context):
    return {"ok": True}
