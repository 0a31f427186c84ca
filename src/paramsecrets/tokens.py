"""The SSRF token: where it comes from, and the constant-time check on every data request.

The token is the value of the first set variable of the configured list (by default
AWS_TOKEN, AWS_SESSION_TOKEN, AWS_CONTAINER_AUTHORIZATION_TOKEN). A value `file:///path`
means the file's trimmed content, re-read when the file changes (checked at most once a
second, so the hot path pays one clock read).
"""

from __future__ import annotations

import os
import time
from _collections_abc import Mapping, Sequence  # cheaper than collections.abc during INIT

from paramsecrets import log

try:  # hmac's own constant-time compare, without importing hmac (hashlib, ~5 ms) before `next`
    from _operator import _compare_digest
except ImportError:  # pragma: no cover - other Pythons
    from hmac import compare_digest as _compare_digest

FILE_PREFIX = "file://"
RECHECK_S = 1.0


class TokenError(Exception):
    """No usable token; `variable` names where we looked, for Lambda's init/error report."""

    def __init__(self, variable: str, message: str) -> None:
        super().__init__(message)
        self.variable = variable


class Token:
    """Holds the current token and answers `matches(header_value)` in constant time."""

    def __init__(self, variable: str, value: bytes, path: str | None = None) -> None:
        self.variable = variable
        self._value = value
        self._path = path
        self._stamp = self._file_stamp() if path else None
        self._next_check = time.monotonic() + RECHECK_S

    @property
    def source(self) -> str:
        """Where the token comes from, for logs: never the value."""
        return f"{self.variable} (file {self._path})" if self._path else self.variable

    def matches(self, candidate: bytes | None) -> bool:
        if self._path is not None and time.monotonic() >= self._next_check:
            self._reload()
        if candidate is None:
            return False
        return _compare_digest(candidate, self._value)

    def value(self) -> str:
        """For dev mode and the client, which must send it."""
        return self._value.decode()

    def _file_stamp(self) -> tuple[int, int, int] | None:
        try:
            status = os.stat(self._path)  # type: ignore[arg-type]
        except OSError:
            return None
        return status.st_ino, status.st_mtime_ns, status.st_size

    def _reload(self) -> None:
        self._next_check = time.monotonic() + RECHECK_S
        stamp = self._file_stamp()
        if stamp == self._stamp:
            return
        self._stamp = stamp
        try:
            value = read_token_file(self._path or "", self.variable)
        except TokenError as error:
            log.warn("keeping the previous token: %s", error)
            return
        self._value = value
        log.redact(value.decode())
        log.info("token file %s changed; new token in use", self._path)


def read_token_file(path: str, variable: str) -> bytes:
    try:
        with open(path, "rb") as handle:
            value = handle.read().strip()
    except OSError as error:
        raise TokenError(variable, f"{variable} points at {path}, which cannot be read: {error.strerror}") from None
    if not value:
        raise TokenError(variable, f"{variable} points at {path}, which is empty")
    return value


def resolve(names: Sequence[str], environ: Mapping[str, str] | None = None) -> Token:
    """The token from the first set variable in `names`, or TokenError saying where we looked."""
    environ = os.environ if environ is None else environ
    for name in names:
        raw = environ.get(name)
        if not raw:
            continue
        if raw.startswith(FILE_PREFIX):
            path = raw[len(FILE_PREFIX):]
            token = Token(name, read_token_file(path, name), path)
        else:
            token = Token(name, raw.encode())
        log.redact(token.value())
        return token
    raise TokenError(names[0] if names else "AWS_TOKEN",
                     "no token: set one of " + ", ".join(names) + " (the value clients send in "
                     "X-Aws-Parameters-Secrets-Token)")
