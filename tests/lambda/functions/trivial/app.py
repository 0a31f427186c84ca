"""The smallest function: the cold-start reference (with and without the layer)."""


def handler(event: object, context: object) -> dict[str, bool]:
    return {"ok": True}
