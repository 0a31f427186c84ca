"""The HTTP front, the bottom layer (it imports nothing else of ours): the parser, the connection rules
and the slots without I/O (parser.py, connection.py, slots.py), answer bytes (responses.py), and the
asyncio adapter that carries bytes between them and the sockets (server.py)."""

__all__ = [
    "connection",
    "parser",
    "responses",
    "server",
    "slots",
]
