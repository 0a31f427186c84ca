"""`paramsecrets dev`: the server against an embedded, seeded AWS backend (moto), no AWS account needed.

`seed` reads and checks the seed file (standard library only), `backend` starts moto and writes the
seed into it, `cli` ties them to the server. moto is an optional extra: only `backend` imports it.
"""

__all__ = [
    "backend",
    "cli",
    "seed",
]
