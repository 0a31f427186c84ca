"""The answering layer: requests in, bytes out. The GET routes (routes.py), the service that
answers them (service.py), the answer's look (rendering.py, profiles.py), the token and the client
key (tokens.py, clientkey.py), and the AWS SDKs' own protocol (sdk/). It reads through cache/ and
calls aws/; it never imports process/.

Submodules are imported where they are used, never here: the cold start pays only for what it runs.
"""

__all__ = [
    "clientkey",
    "profiles",
    "rendering",
    "replay",
    "routes",
    "sdk",
    "service",
    "tokens",
]
