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
O_NONBLOCK, so a file swapped for something else can never stall the event loop. A file every
user can read is accepted with a warning (any local user could then read secrets).

A token longer than MAX_TOKEN_LENGTH is refused at start: no request could carry it in the 32 KiB
of headers the HTTP parser accepts (with room for the request's other headers).

A token file that disappears revokes the token: every request is refused (401) until the file is
back, as revoking a Kubernetes secret or deleting the file is meant to do. A file that is still
there but unusable (being rewritten, wrong mode) keeps the last good token, with one warning.
"""

from __future__ import annotations

import os
import stat
import time
from _collections_abc import Mapping, Sequence  # cheaper than collections.abc during INIT

from paramsecrets import log
from paramsecrets.errors import AnswerError

try:  # hmac's own constant-time compare, without importing hmac (hashlib, ~5 ms) before `next`
    from _operator import _compare_digest
except ImportError:  # pragma: no cover - other Pythons
    import hmac

    _compare_digest = hmac.compare_digest

FILE_PREFIX = "file://"
RECHECK_S = 1.0
MIN_TOKEN_LENGTH = 16  # characters: a guessable token protects nothing
MAX_TOKEN_FILE_BYTES = 64 * 1024  # session tokens are a few KiB at most
# The parser's header limit is 32 KiB (http/parser.py MAX_HEADER_BYTES, not imported before
# `register`); half of it leaves room for the request's other headers. Session tokens are 1-2 KiB.
MAX_TOKEN_LENGTH = 16 * 1024
GENERATE_HINT = "(for example: openssl rand -hex 16)"


class TokenError(AnswerError):
    """No usable token; `variable` names where we looked, for Lambda's init/error report. Raised
    at start-up, never at a request: were one ever answered, it is the server's fault (500)."""

    def __init__(self, variable: str, message: str) -> None:
        super().__init__(500, "TokenError", message)
        self.variable = variable


class Token:
    """Holds the current token and answers `matches(header_value)` in constant time."""

    def __init__(self, variable: str, value: bytes, path: str | None = None) -> None:
        self.variable = variable
        self._value = value
        self._path = path
        self._revoked = False  # the token file is gone: nothing matches until it is back
        self._stamp = self._file_stamp() if path else None
        self._next_check = time.monotonic() + RECHECK_S

    @property
    def source(self) -> str:
        """Where the token comes from, for logs: never the value."""
        return f"{self.variable} (file {self._path})" if self._path else self.variable

    def matches(self, candidate: bytes | None) -> bool:
        if self._path is not None and time.monotonic() >= self._next_check:
            self._reload()
        if candidate is None or self._revoked:
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
        if stamp is None and _gone(self._path or ""):
            if not self._revoked:
                log.error("token file %s is gone: every request is refused (401) until it is back", self._path)
            self._revoked = True
            return
        try:
            value = read_token_file(self._path or "", self.variable)
        except TokenError as error:
            if self._revoked:
                log.warn("token file %s is back but unusable; requests are still refused: %s", self._path, error)
            else:
                log.warn("keeping the previous token: %s", error)
            return
        self._value = value
        self._revoked = False
        log.redact(value.decode())
        log.info("token file %s changed; new token in use", self._path)


def _gone(path: str) -> bool:
    """Whether nothing is at `path` any more (a dangling symlink included)."""
    try:
        os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        return True
    except OSError:
        return False
    return False


def read_token_file(path: str, variable: str) -> bytes:
    """The checked token in the file at `path`, or TokenError saying exactly why not."""
    where = f"{variable} points at {path}, which"
    try:
        problem = _file_problem(os.stat(path))  # before opening: a FIFO or device is never opened
        if problem:
            raise TokenError(variable, f"{where} {problem}")
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
        try:
            opened = os.fstat(fd)
            problem = _file_problem(opened)  # what was opened: it may have been swapped meanwhile
            if problem:
                raise TokenError(variable, f"{where} {problem}")
            data = _read_bounded(fd)
        finally:
            os.close(fd)
    except OSError as error:
        raise TokenError(variable, f"{where} cannot be read: {error.strerror}") from None
    if len(data) > MAX_TOKEN_FILE_BYTES:
        raise TokenError(variable, f"{where} {_too_large()}")
    token = check_token(data.strip(), variable, where)
    if opened.st_mode & stat.S_IROTH:
        log.warn("the token file %s (%s) is readable by every user of this host, who could then read every "
                 "secret the server can: chmod o-r (on Kubernetes: defaultMode 0440 and the pod's fsGroup)",
                 path, variable)
    return token


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
    if len(value) > MAX_TOKEN_LENGTH:
        raise TokenError(variable, f"{where} holds a token of {len(value)} bytes; no request could carry it "
                                   f"(request headers are limited to 32 KiB): tokens may have at most "
                                   f"{MAX_TOKEN_LENGTH} bytes")
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
