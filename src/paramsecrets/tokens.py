"""The SSRF token: where it comes from, and the constant-time check on every data request.

The token is the value of the first set variable of the configured list (by default
AWS_TOKEN, AWS_SESSION_TOKEN, AWS_CONTAINER_AUTHORIZATION_TOKEN). A value `file:///path`
means the file's trimmed content, re-read when the file changes (checked at most once a
second, so the hot path pays one clock read).

Whoever chooses the token controls every secret the server can read, so a token must be at
least MIN_TOKEN_LENGTH characters of UTF-8 text without control characters, and a token file
must be a regular file (symlinks to one are followed: Kubernetes mounts secrets that way) of at
most MAX_TOKEN_FILE_BYTES, owned by root or the server's user and writable by nobody else. It is
checked with stat before it is opened (a FIFO or device is never opened) and read with
O_NONBLOCK, so a file swapped for something else can never stall the event loop.
"""

from __future__ import annotations

import os
import stat
import time
from _collections_abc import Mapping, Sequence  # cheaper than collections.abc during INIT

from paramsecrets import log

try:  # hmac's own constant-time compare, without importing hmac (hashlib, ~5 ms) before `next`
    from _operator import _compare_digest
except ImportError:  # pragma: no cover - other Pythons
    import hmac

    _compare_digest = hmac.compare_digest

FILE_PREFIX = "file://"
RECHECK_S = 1.0
MIN_TOKEN_LENGTH = 16  # characters: a guessable token protects nothing
MAX_TOKEN_FILE_BYTES = 64 * 1024  # session tokens are a few KiB at most
GENERATE_HINT = "(for example: openssl rand -hex 16)"


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

    def _file_stamp(self) -> tuple[int, ...] | None:
        """What changes when the file (or what a symlink points at) changes, its mode and owner included."""
        try:
            status = os.stat(self._path)  # type: ignore[arg-type]
        except OSError:
            return None
        return (status.st_dev, status.st_ino, status.st_mtime_ns, status.st_ctime_ns, status.st_size,
                status.st_mode, status.st_uid)

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
    """The checked token in the file at `path`, or TokenError saying exactly why not."""
    where = f"{variable} points at {path}, which"
    try:
        problem = _file_problem(os.stat(path))  # before opening: a FIFO or device is never opened
        if problem:
            raise TokenError(variable, f"{where} {problem}")
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
        try:
            problem = _file_problem(os.fstat(fd))  # what was opened: it may have been swapped meanwhile
            if problem:
                raise TokenError(variable, f"{where} {problem}")
            data = _read_bounded(fd)
        finally:
            os.close(fd)
    except OSError as error:
        raise TokenError(variable, f"{where} cannot be read: {error.strerror}") from None
    if len(data) > MAX_TOKEN_FILE_BYTES:
        raise TokenError(variable, f"{where} {_too_large()}")
    return check_token(data.strip(), variable, where)


def _file_problem(status: os.stat_result) -> str | None:
    """Why a file may not hold the token, or None."""
    if not stat.S_ISREG(status.st_mode):
        return "is not a regular file (a FIFO, device or directory is refused: it could stall the server)"
    if status.st_size > MAX_TOKEN_FILE_BYTES:
        return _too_large()
    if status.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        return "is writable by its group or by other users, who could choose the token (chmod go-w)"
    if status.st_uid not in (0, os.geteuid()):
        return f"is owned by another user (uid {status.st_uid}): only root or the server's own user may set the token"
    return None


def _too_large() -> str:
    return f"is larger than {MAX_TOKEN_FILE_BYTES // 1024} KiB"


def _read_bounded(fd: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while size <= MAX_TOKEN_FILE_BYTES:
        chunk = os.read(fd, MAX_TOKEN_FILE_BYTES + 1 - size)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def check_token(value: bytes, variable: str, where: str | None = None) -> bytes:
    """`value` if it is usable as a token, else TokenError (the message never quotes it)."""
    where = where or variable
    if not value:
        raise TokenError(variable, f"{where} is empty")
    try:
        text = value.decode("utf-8")
    except UnicodeDecodeError:
        raise TokenError(variable, f"{where} does not hold UTF-8 text") from None
    if any(ord(char) < 0x20 or ord(char) == 0x7F for char in text):
        raise TokenError(variable, f"{where} holds control characters (a token travels in an HTTP header)")
    if len(text) < MIN_TOKEN_LENGTH:
        raise TokenError(variable, f"{where} holds a token of {len(text)} characters; tokens must have at "
                                   f"least {MIN_TOKEN_LENGTH} {GENERATE_HINT}")
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
            try:
                value = raw.encode()
            except UnicodeEncodeError:  # os.environ keeps undecodable bytes as surrogates
                raise TokenError(name, f"{name} is set, but does not hold UTF-8 text") from None
            token = Token(name, check_token(value, name))
        log.redact(token.value())
        return token
    raise TokenError(names[0] if names else "AWS_TOKEN",
                     "no token: set one of " + ", ".join(names) + " (the value clients send in "
                     "X-Aws-Parameters-Secrets-Token)")
