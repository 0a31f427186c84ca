"""The process layer: start-up order (boot.py), Lambda's lifecycle (lambda_ext.py), where to listen
(listen.py), the assembled server (app.py), and what runs beside it (warm.py, prefetch.py, emf.py).
The top of the server: it may import every layer below it; nothing below imports it.

Submodules are imported where they are used, never here: the cold start pays only for what it runs.
"""

__all__ = [
    "app",
    "boot",
    "emf",
    "lambda_ext",
    "listen",
    "prefetch",
    "warm",
]
