"""The client commands' documented exit codes (get-parameter, get-secret, exec), in one place.

Standard library only and cheap to import: `exec` runs on the layer's interpreter during INIT.
"""

from __future__ import annotations

from paramsecrets.client import AccessDeniedError, NotFoundError, ParamSecretsError, UnauthorizedError, UnavailableError

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_NOT_FOUND = 3
EXIT_DENIED = 4
EXIT_UNAVAILABLE = 5


def exit_code(error: ParamSecretsError) -> int:
    """The documented exit code for a client error."""
    if isinstance(error, NotFoundError):
        return EXIT_NOT_FOUND
    if isinstance(error, AccessDeniedError | UnauthorizedError):
        return EXIT_DENIED
    if isinstance(error, UnavailableError):
        return EXIT_UNAVAILABLE
    return EXIT_ERROR
