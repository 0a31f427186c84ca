"""Client for a local paramsecrets server or the AWS Parameters and Secrets Lambda Extension.

Standard library only, in one self-contained module, so a function can import it (or vendor
this one file) without pulling a dependency into its package:

    from paramsecrets.client import get_parameter, get_secret_json
    host = get_parameter("/app/db/host")
    password = get_secret_json("prod/db")["password"]

Port and token come from the same environment variables as the server. Names and ids are
URL-encoded here. Every request asks for paramsecrets' detailed answers (`X-Paramsecrets-Profile:
detailed`), so errors keep their real status and code whatever the server's default. While
nothing listens yet (a function's INIT, a sidecar still starting), connection-refused is retried
for a short window. Errors are typed (`NotFoundError`, ...), all under `ParamSecretsError`;
their messages never hold a token or a secret value.
"""

from __future__ import annotations

import _thread  # threading's Lock without threading's imports (functools, collections)
import math
import os
import sys
import time

# Imported when used, not here: `paramsecrets exec` runs this module on the layer's interpreter before
# a function's runtime starts (INIT), where http.client (with email), json (with re), base64,
# urllib.parse and typing cost ~30 ms of CPU it does not need (it uses paramsecrets.client.wire).
TYPE_CHECKING = False  # mypy reads this name as true
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Mapping
    from typing import Any, Protocol, TypeVar

    V = TypeVar("V")

    class Response(Protocol):
        status: int
        will_close: bool

        def getheaders(self) -> list[tuple[str, str]]: ...

        def read(self) -> bytes: ...

    class Connection(Protocol):
        """What the client calls on a connection: http.client.HTTPConnection's subset (wire.RawConnection too)."""

        def request(self, method: str, url: str, body: bytes | None = None,
                    headers: dict[str, str] = ...) -> None: ...

        def getresponse(self) -> Response: ...

        def close(self) -> None: ...

__all__ = [
    "DEFAULT_PORT",
    "DEFAULT_RETRY_SECONDS",
    "DEFAULT_TIMEOUT",
    "DEFAULT_TOKEN_ENV",
    "AccessDeniedError",
    "BadRequestError",
    "Client",
    "NotFoundError",
    "ParamSecretsError",
    "ThrottledError",
    "UnauthorizedError",
    "UnavailableError",
    "default_client",
    "get_parameter",
    "get_parameters",
    "get_parameters_by_path",
    "get_secret",
    "get_secret_json",
    "get_secrets",
    "resolve_port",
    "resolve_retry_seconds",
    "resolve_token",
    "set_default_client",
]

DEFAULT_PORT = 2773
DEFAULT_HOST = "127.0.0.1"
DEFAULT_TIMEOUT = 30.0
DEFAULT_RETRY_SECONDS = 3.0
DEFAULT_TOKEN_ENV = ("AWS_TOKEN", "AWS_SESSION_TOKEN", "AWS_CONTAINER_AUTHORIZATION_TOKEN")

PORT_ENV = "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT"
TOKEN_ENV_ENV = "PARAMETERS_SECRETS_EXTENSION_TOKEN_ENV"
RETRY_ENV = "PARAMSECRETS_CLIENT_RETRY_SECONDS"
TOKEN_HEADER = "X-Aws-Parameters-Secrets-Token"
# paramsecrets answers like the AWS extension (one opaque 400 for every failure) unless a request
# asks for the detailed profile: real statuses and JSON error bodies, which the typed errors
# below are made from. The AWS extension ignores the header.
PROFILE_HEADER = "X-Paramsecrets-Profile"

# The AWS extension answers every upstream failure with this body (400, text/plain).
AWS_GENERIC_ERROR = "an unexpected error occurred while executing request"

MAX_PARAMETERS_PER_REQUEST = 100  # the server's get-many limit
MAX_SECRETS_PER_REQUEST = 100  # the server's secrets get-many limit
MAX_QUERY_BYTES = 6000  # keeps the request line well under the server's 8 KiB limit

_FIRST_BACKOFF = 0.05
_MAX_BACKOFF = 0.5
_MAX_IDLE_CONNECTIONS = 4
_MAX_MESSAGE_CHARS = 300
MASK_ANYWHERE_CHARS = 8  # tokens this long are masked wherever they appear; shorter ones as whole words
_USER_AGENT = "paramsecrets-client"


# --------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------


class ParamSecretsError(Exception):
    """Any failure to get a value. `status` is the HTTP status (None when no answer came),
    `code` the `__type` of the JSON error body (None when the body had none), `message` the
    server's text. Also raised as is for the AWS extension's opaque generic 400."""

    default_message = "the request failed"

    def __init__(self, message: str = "", status: int | None = None, code: str | None = None,
                 context: str | None = None) -> None:
        self.message = message or self.default_message
        self.status = status
        self.code = code
        self.context = context
        super().__init__(self.message)

    def __str__(self) -> str:
        details = " ".join(str(part) for part in (self.status, self.code) if part is not None)
        text = f"{self.context}: {self.message}" if self.context else self.message
        return f"{text} ({details})" if details else text

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(message={self.message!r}, status={self.status!r}, "
                f"code={self.code!r})")


class BadRequestError(ParamSecretsError):
    """400 with a JSON error body: the request or a name was invalid (e.g. ValidationException)."""

    default_message = "the request was invalid"


class UnauthorizedError(ParamSecretsError):
    """401: the token header is missing or wrong (or no token could be found locally)."""

    default_message = "Bad session token or header key"


class AccessDeniedError(ParamSecretsError):
    """403: the function's role may not read this value (or its KMS key)."""

    default_message = "access denied"


class NotFoundError(ParamSecretsError):
    """404: no such parameter, version, label or secret (or, for a route, no such route)."""

    default_message = "not found"


class ThrottledError(ParamSecretsError):
    """429: upstream throttling with retries exhausted, or too many connections to the server."""

    default_message = "throttled"


class UnavailableError(ParamSecretsError):
    """502/503/504, a timeout, or nothing listening: the value could not be fetched right now."""

    default_message = "the server is unavailable"


_ERRORS_BY_STATUS: dict[int, type[ParamSecretsError]] = {
    401: UnauthorizedError,
    403: AccessDeniedError,
    404: NotFoundError,
    429: ThrottledError,
    502: UnavailableError,
    503: UnavailableError,
    504: UnavailableError,
}


def _json_loads(data: bytes | str) -> Any:
    import json

    return json.loads(data)


def error_from_response(status: int, body: bytes, context: str | None = None,
                        token: str | None = None, loads: Callable[[bytes], Any] = _json_loads) -> ParamSecretsError:
    """Map one non-2xx answer to a typed error.

    A 400 is `BadRequestError` only when it carries our JSON error body; the AWS extension's
    text/plain 400 says nothing about its cause, so it stays a plain `ParamSecretsError`.
    """
    code: str | None = None
    message = ""
    try:
        data = loads(body)
    except (ValueError, UnicodeDecodeError):
        data = None
    if isinstance(data, dict) and isinstance(data.get("__type"), str):
        code = data["__type"]
        raw = data.get("message", data.get("Message", ""))
        message = raw if isinstance(raw, str) else ""
    else:
        message = body.decode("utf-8", "replace").strip()
    message = _clean_message(message, token)
    if status == 400:
        cls = BadRequestError if code is not None else ParamSecretsError
    else:
        cls = _ERRORS_BY_STATUS.get(status, ParamSecretsError)
    return cls(message, status=status, code=code, context=context)


def _clean_message(message: str, token: str | None) -> str:
    """One line, bounded, never the token (the server never sends it; a stranger might)."""
    message = " ".join(message.split())
    if token:
        message = mask_token(message, token)
    if len(message) > _MAX_MESSAGE_CHARS:
        message = message[:_MAX_MESSAGE_CHARS] + "..."
    return message


def mask_token(text: str, token: str) -> str:
    """`text` with the token replaced by `***`.

    A token of MASK_ANYWHERE_CHARS or more is masked wherever it appears. A shorter one is masked
    only where it stands alone (no letter, digit, `_` or `-` on either side): masking every
    occurrence of a one-letter token would garble the message ("P***rameter not found") while
    protecting nothing, since such a token is guessable anyway.
    """
    if len(token) >= MASK_ANYWHERE_CHARS:
        return text.replace(token, "***")
    import re

    return re.sub(rf"(?<![\w-]){re.escape(token)}(?![\w-])", "***", text)


# --------------------------------------------------------------------------------------------
# Configuration from the environment (same rules as the server)
# --------------------------------------------------------------------------------------------


def resolve_port(environ: Mapping[str, str] | None = None) -> int:
    """`PARAMETERS_SECRETS_EXTENSION_HTTP_PORT`, default 2773; ValueError names a bad value."""
    env = os.environ if environ is None else environ
    raw = env.get(PORT_ENV, "").strip()
    if not raw:
        return DEFAULT_PORT
    try:
        port = int(raw)
    except ValueError:
        port = 0
    if not 1 <= port <= 65535:
        raise ValueError(f"{PORT_ENV}={raw!r} is not a port (accepted: 1-65535)")
    return port


def resolve_retry_seconds(environ: Mapping[str, str] | None = None) -> float:
    """`PARAMSECRETS_CLIENT_RETRY_SECONDS`, default 3; how long connection-refused is retried."""
    env = os.environ if environ is None else environ
    raw = env.get(RETRY_ENV, "").strip()
    if not raw:
        return DEFAULT_RETRY_SECONDS
    try:
        seconds = float(raw)
    except ValueError:
        seconds = -1.0
    if not (math.isfinite(seconds) and 0 <= seconds <= 600):
        raise ValueError(f"{RETRY_ENV}={raw!r} is not a number of seconds (accepted: 0-600)")
    return seconds


def token_env_names(environ: Mapping[str, str] | None = None) -> tuple[str, ...]:
    """The variables to look in for the token, in order (`PARAMETERS_SECRETS_EXTENSION_TOKEN_ENV`)."""
    env = os.environ if environ is None else environ
    raw = env.get(TOKEN_ENV_ENV, "")
    names = tuple(name.strip() for name in raw.split(",") if name.strip())
    return names or DEFAULT_TOKEN_ENV


class _TokenFileCache:
    """Re-reads a `file://` token only when the file changes (the server rotates it that way)."""

    def __init__(self) -> None:
        self._lock = _thread.allocate_lock()
        self._entries: dict[str, tuple[tuple[int, int, int], str]] = {}

    def read(self, path: str) -> str:
        stat = os.stat(path)
        stamp = (stat.st_ino, stat.st_mtime_ns, stat.st_size)  # a rename-based rotation too
        with self._lock:
            cached = self._entries.get(path)
            if cached is not None and cached[0] == stamp:
                return cached[1]
        with open(path, encoding="utf-8") as handle:
            value = handle.read().strip()
        with self._lock:
            self._entries[path] = (stamp, value)
        return value


_token_files = _TokenFileCache()


def resolve_token(environ: Mapping[str, str] | None = None) -> str | None:
    """The first set, non-empty variable among the token list; `file:///path` means the file's
    content, trimmed. None when no variable is set. Raises UnauthorizedError (no status) when
    the named file can't be read, naming the variable and path, never a value."""
    env = os.environ if environ is None else environ
    for name in token_env_names(env):
        value = env.get(name, "")
        if not value:
            continue
        if value.startswith("file://"):
            path = value[len("file://"):]
            try:
                token = _token_files.read(path)
            except (OSError, UnicodeDecodeError) as error:
                reason = getattr(error, "strerror", None) or type(error).__name__
                raise UnauthorizedError(
                    f"cannot read the token file {path} named by {name}: {reason}",
                    code="TokenUnavailable") from None
            if not token:
                raise UnauthorizedError(f"the token file {path} named by {name} is empty",
                                        code="TokenUnavailable")
            return token
        return value
    return None


# --------------------------------------------------------------------------------------------
# The client
# --------------------------------------------------------------------------------------------


_UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-~")


def _encode(value: str) -> str:
    """Percent-encode everything but unreserved characters, `/` and `:` included (what
    `urllib.parse.quote(value, safe="")` does, without importing urllib.parse)."""
    data = value.encode("utf-8")
    if all(byte in _UNRESERVED for byte in data):
        return value
    return "".join(chr(byte) if byte in _UNRESERVED else f"%{byte:02X}" for byte in data)


def _http_connection(host: str, port: int, timeout: float) -> Connection:
    import http.client

    return http.client.HTTPConnection(host, port, timeout=timeout)


def _connection_errors() -> tuple[type[Exception], ...]:
    """A failed exchange: OSError, and http.client's own errors when it is in use
    (wire.RawConnection raises OSErrors only)."""
    module = sys.modules.get("http.client")
    return (OSError, module.HTTPException) if module is not None else (OSError,)


def _stale_connection_errors() -> tuple[type[Exception], ...]:
    """A kept connection the server had closed: send once more on a fresh one."""
    module = sys.modules.get("http.client")
    extra = (module.BadStatusLine,) if module is not None else ()
    return (ConnectionResetError, BrokenPipeError, ConnectionAbortedError, *extra)


def _bool(value: bool) -> str:
    return "true" if value else "false"


class _Answer:
    __slots__ = ("body", "headers", "status")

    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body


class Client:
    """A connection to one server, reused across calls (keep-alive) and safe to share
    between threads.

    port: default from PARAMETERS_SECRETS_EXTENSION_HTTP_PORT, else 2773.
    token: a fixed token; default: looked up on every call from the token variables, so a
        rotated file or a token that appears after a SnapStart restore is picked up.
    timeout: seconds to wait for one answer (the server may be fetching from AWS).
    retry_seconds: how long connection-refused is retried (nothing listening yet), default
        from PARAMSECRETS_CLIENT_RETRY_SECONDS, else 3; 0 tries once.
    environ: where to read those variables and the token (default os.environ).
    """

    def __init__(self, port: int | None = None, token: str | None = None, *,
                 host: str = DEFAULT_HOST, timeout: float = DEFAULT_TIMEOUT,
                 retry_seconds: float | None = None,
                 environ: Mapping[str, str] | None = None) -> None:
        self._environ = environ
        self.host = host
        self.port = resolve_port(environ) if port is None else int(port)
        if not 1 <= self.port <= 65535:
            raise ValueError(f"port {self.port} is not in 1-65535")
        self.timeout = float(timeout)
        if not self.timeout > 0:
            raise ValueError("timeout must be a positive number of seconds")
        self.retry_seconds = resolve_retry_seconds(environ) if retry_seconds is None else float(
            retry_seconds)
        if not (math.isfinite(self.retry_seconds) and self.retry_seconds >= 0):
            raise ValueError("retry_seconds must be a non-negative number of seconds")
        self._token = token
        # The retry window's clock: monotonic seconds and a pause. Tests put a fake clock here to
        # check the window and the back-off exactly, without waiting on the wall clock.
        self._monotonic: Callable[[], float] = time.monotonic
        self._sleep: Callable[[float], None] = time.sleep
        self._lock = _thread.allocate_lock()
        # Makes a connection (host, port, timeout): http.client's by default; `paramsecrets exec`
        # puts paramsecrets.client.wire.RawConnection here (no http.client import during INIT).
        self._connect: Callable[[str, int, float], Connection] = _http_connection
        self._loads: Callable[[bytes | str], Any] = _json_loads  # exec: wire.loads (no json, no re)
        self._idle: list[Connection] = []
        self._pid = os.getpid()
        # Batch route -> False once the server answered 404 for it (the AWS extension), True once
        # it answered; absent: not known yet.
        self._batch_routes: dict[str, bool] = {}

    def __repr__(self) -> str:
        return f"Client(host={self.host!r}, port={self.port}, retry_seconds={self.retry_seconds})"

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close idle connections; the client stays usable and reconnects when called again."""
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()

    # ---- public API ------------------------------------------------------------------------

    def get_parameter(self, name: str, decrypt: bool = False, version: int | str | None = None,
                      label: str | None = None, refresh: bool = False) -> str:
        """The value of one parameter (`GET /systemsmanager/parameters/get`).

        `decrypt` asks for a SecureString's plain text; `version` or `label` (not both) select
        one; `refresh` skips the server's cache (`refreshNow=true`).
        """
        _require_name(name, "name")
        if version is not None and label is not None:
            raise ValueError("give version or label, not both")
        query = [("name", name)]
        if version is not None:
            query.append(("version", str(version)))
        if label is not None:
            query.append(("label", label))
        if decrypt:
            query.append(("withDecryption", "true"))
        if refresh:
            query.append(("refreshNow", "true"))
        data = self._get_json("/systemsmanager/parameters/get", query, f"parameter {name!r}")
        parameter = data.get("Parameter") if isinstance(data, dict) else None
        value = parameter.get("Value") if isinstance(parameter, dict) else None
        if not isinstance(value, str):
            raise ParamSecretsError("the answer has no Parameter.Value", status=200,
                                    context=f"parameter {name!r}")
        return value

    def get_parameters(self, names: Iterable[str], decrypt: bool = False,
                       refresh: bool = False) -> dict[str, str]:
        """Values of many parameters, keyed by the names asked for; names that don't exist are
        left out (like GetParameters). Uses `get-many`, 100 names a request; against a server
        without that route (the AWS extension) it falls back to one `get` per name."""
        options = [("withDecryption", "true")] if decrypt else []
        if refresh:
            options.append(("refreshNow", "true"))
        return self._get_many(
            "/systemsmanager/parameters/get-many", "name", _unique(names, "names"), MAX_PARAMETERS_PER_REQUEST,
            options, "parameters", _match_parameters,
            lambda name: self.get_parameter(name, decrypt=decrypt, refresh=refresh))

    def get_parameters_by_path(self, path: str, recursive: bool = True, decrypt: bool = False,
                               refresh: bool = False) -> dict[str, str]:
        """Every parameter under `path` (`get-by-path`, all pages), keyed by full name.
        Our server only: the AWS extension has no such route (NotFoundError says so)."""
        _require_name(path, "path")
        query = [("path", path), ("recursive", _bool(recursive))]
        if decrypt:
            query.append(("withDecryption", "true"))
        if refresh:
            query.append(("refreshNow", "true"))
        context = f"parameters under {path!r}"
        try:
            data = self._get_json("/systemsmanager/parameters/get-by-path", query, context)
        except ParamSecretsError as error:
            if _route_missing(error):
                raise NotFoundError(
                    "this server has no get-by-path route (the AWS extension offers none; "
                    "paramsecrets does)", status=error.status, code=error.code,
                    context=context) from None
            raise
        parameters = data.get("Parameters") if isinstance(data, dict) else None
        if not isinstance(parameters, list):
            raise ParamSecretsError("the answer has no Parameters list", status=200, context=context)
        return {p["Name"]: p["Value"] for p in parameters
                if isinstance(p, dict) and isinstance(p.get("Name"), str)
                and isinstance(p.get("Value"), str)}

    def get_secret(self, secret_id: str, version_id: str | None = None,
                   version_stage: str | None = None, refresh: bool = False) -> str | bytes:
        """A secret's value (`GET /secretsmanager/get`): `str` for SecretString, `bytes` for a
        binary secret. `refresh` skips the server's cache."""
        _require_name(secret_id, "secret_id")
        query = [("secretId", secret_id)]
        if version_id is not None:
            query.append(("versionId", version_id))
        if version_stage is not None:
            query.append(("versionStage", version_stage))
        if refresh:
            query.append(("refreshNow", "true"))
        context = f"secret {secret_id!r}"
        data = self._get_json("/secretsmanager/get", query, context)
        return _secret_value(data, context)

    def get_secret_json(self, secret_id: str, version_id: str | None = None,
                        version_stage: str | None = None, refresh: bool = False) -> Any:
        """A secret's value parsed as JSON (the usual `{"username":..,"password":..}`)."""
        value = self.get_secret(secret_id, version_id=version_id, version_stage=version_stage,
                                refresh=refresh)
        try:
            return self._loads(value)
        except (ValueError, UnicodeDecodeError):
            raise ParamSecretsError("the secret's value is not JSON",
                                    context=f"secret {secret_id!r}") from None

    def get_secrets(self, secret_ids: Iterable[str], refresh: bool = False) -> dict[str, str | bytes]:
        """Values of many secrets, keyed by the ids asked for; ids that don't exist are left
        out, any other per-secret error is raised. Uses `/secretsmanager/get-many`; against a
        server without it (the AWS extension) it falls back to one `get` per id."""
        return self._get_many(
            "/secretsmanager/get-many", "secretId", _unique(secret_ids, "secret_ids"), MAX_SECRETS_PER_REQUEST,
            [("refreshNow", "true")] if refresh else [], "secrets", _match_secrets,
            lambda secret_id: self.get_secret(secret_id, refresh=refresh))

    def _get_many(self, route: str, key: str, wanted: list[str], limit: int, options: list[tuple[str, str]],
                  what: str, match: Callable[[list[str], Any], dict[str, V]],
                  one: Callable[[str], V]) -> dict[str, V]:
        """Many values through a batch `route`, `limit` ids a request (each as `key=`, plus
        `options`); against a server without the route (the AWS extension answers 404) one read
        per id with `one`. Ids that don't exist are left out."""
        result: dict[str, V] = {}
        if not wanted:
            return result
        if self._batch_routes.get(route) is not False:
            for index, chunk in enumerate(_chunks(wanted, key, limit)):
                try:
                    data = self._get_json(route, [*((key, value) for value in chunk), *options],
                                          f"{len(chunk)} {what}")
                except ParamSecretsError as error:
                    if index == 0 and _route_missing(error):
                        self._batch_routes[route] = False
                        break
                    raise
                self._batch_routes[route] = True
                result.update(match(chunk, data))
            else:
                return result
        for value_id in wanted:
            try:
                result[value_id] = one(value_id)
            except NotFoundError:
                continue
        return result

    # ---- HTTP ------------------------------------------------------------------------------

    def _token_value(self) -> str | None:
        if self._token is not None:
            return self._token
        return resolve_token(self._environ)

    def _get_json(self, route: str, query: list[tuple[str, str]], context: str) -> Any:
        """GET route?query; the parsed JSON body of a 2xx, or the typed error."""
        path = route + "?" + "&".join(f"{key}={_encode(value)}" for key, value in query)
        token = self._token_value()
        answer = self._request(path, token, context)
        if not 200 <= answer.status < 300:
            error = error_from_response(answer.status, answer.body, context, token, self._loads)
            if answer.status == 401 and token is None:
                error.message += (" (no token was found: set one of "
                                  + ", ".join(token_env_names(self._environ)) + ")")
            raise error
        # The AWS extension sends its JSON as text/plain: parse whatever the content type.
        try:
            return self._loads(answer.body)
        except (ValueError, UnicodeDecodeError):
            # Never quote a 2xx body: it may be a secret.
            raise ParamSecretsError(f"the answer from {self.host}:{self.port} is not JSON",
                                    status=answer.status, context=context) from None

    def _request(self, path: str, token: str | None, context: str) -> _Answer:
        """One GET, retrying connection-refused (and the AWS extension's INIT-time "not
        ready" 400) with backoff until `retry_seconds` have passed."""
        deadline = self._monotonic() + self.retry_seconds
        delay = _FIRST_BACKOFF
        while True:
            try:
                answer = self._exchange(path, token)
            except ConnectionRefusedError:
                answer = None
            except TimeoutError:
                raise UnavailableError(
                    f"no answer from {self.host}:{self.port} within {self.timeout:g} s",
                    code="Timeout", context=context) from None
            except _connection_errors() as error:
                raise UnavailableError(
                    f"connection to {self.host}:{self.port} failed: {type(error).__name__}",
                    code="ConnectionError", context=context) from None
            if answer is not None and not _not_ready(answer):
                return answer
            remaining = deadline - self._monotonic()
            if remaining <= 0:
                if answer is not None:
                    return answer
                raise UnavailableError(
                    f"nothing is listening on {self.host}:{self.port} — is the paramsecrets "
                    f"layer attached? (retried for {self.retry_seconds:g} s)",
                    code="NotListening")
            self._sleep(min(delay, remaining))
            delay = min(delay * 2, _MAX_BACKOFF)

    def _exchange(self, path: str, token: str | None) -> _Answer:
        """Send on a kept connection if there is one; if the server had closed it, send once
        more on a fresh one (a GET is safe to repeat)."""
        headers = {"User-Agent": _USER_AGENT, PROFILE_HEADER: "detailed"}
        if token is not None:
            headers[TOKEN_HEADER] = token
        conn, reused = self._acquire()
        try:
            return self._send(conn, path, headers)
        except _stale_connection_errors():
            if not reused:
                raise
        conn = self._connect(self.host, self.port, self.timeout)
        return self._send(conn, path, headers)

    def _send(self, conn: Connection, path: str,
              headers: dict[str, str]) -> _Answer:
        try:
            conn.request("GET", path, headers=headers)
            response = conn.getresponse()
            body = response.read()
        except BaseException:
            conn.close()
            raise
        answer = _Answer(response.status, {k.lower(): v for k, v in response.getheaders()}, body)
        if response.will_close:
            conn.close()
        else:
            self._release(conn)
        return answer

    def _acquire(self) -> tuple[Connection, bool]:
        with self._lock:
            if self._pid != os.getpid():  # forked: the parent owns those sockets
                self._idle, self._pid = [], os.getpid()
            if self._idle:
                return self._idle.pop(), True
        return self._connect(self.host, self.port, self.timeout), False

    def _release(self, conn: Connection) -> None:
        with self._lock:
            if self._pid == os.getpid() and len(self._idle) < _MAX_IDLE_CONNECTIONS:
                self._idle.append(conn)
                return
        conn.close()


# --------------------------------------------------------------------------------------------
# Helpers for answers
# --------------------------------------------------------------------------------------------


def _require_name(value: object, what: str) -> None:
    if not isinstance(value, str) or not value:
        raise ValueError(f"{what} must be a non-empty string")


def _unique(values: Iterable[str], what: str) -> list[str]:
    if isinstance(values, str):
        raise TypeError(f"{what} must be a list of strings, not a string")
    seen: dict[str, None] = {}
    for value in values:
        _require_name(value, f"each of {what}")
        seen.setdefault(value, None)
    return list(seen)


def _chunks(values: list[str], key: str, limit: int) -> Iterator[list[str]]:
    """Groups of at most `limit` values whose encoded query stays under MAX_QUERY_BYTES."""
    chunk: list[str] = []
    size = 0
    for value in values:
        cost = len(key) + 2 + len(_encode(value))
        if chunk and (len(chunk) >= limit or size + cost > MAX_QUERY_BYTES):
            yield chunk
            chunk, size = [], 0
        chunk.append(value)
        size += cost
    if chunk:
        yield chunk


def _route_missing(error: ParamSecretsError) -> bool:
    """An answer meaning "no such route": our NotFound, a non-JSON 404 (another server), or the
    AWS extension's opaque 400 (its answer to an unknown path). Batch routes answer missing
    names inside a 200, and paramsecrets answers this client in detail, never with a bare 400."""
    if error.status == 404:
        return error.code in (None, "NotFound")
    return error.status == 400 and error.code is None


def _not_ready(answer: _Answer) -> bool:
    """The AWS extension refuses calls during INIT with a 400 "not ready to serve traffic"."""
    return answer.status == 400 and b"not ready to serve traffic" in answer.body.lower()


def _match_parameters(chunk: list[str], data: Any) -> dict[str, str]:
    """Map a get-many answer back to the names asked for. The server keeps request order and
    lists missing names in InvalidParameters; names are also matched by Name/ARN + Selector."""
    if not isinstance(data, dict) or not isinstance(data.get("Parameters"), list):
        raise ParamSecretsError("the answer has no Parameters list", status=200,
                                context=f"{len(chunk)} parameters")
    parameters = [p for p in data["Parameters"] if isinstance(p, dict) and isinstance(
        p.get("Value"), str)]
    invalid = set(data.get("InvalidParameters") or ())
    found = [name for name in chunk if name not in invalid]
    if len(found) == len(parameters):
        return {name: p["Value"] for name, p in zip(found, parameters, strict=True)}
    by_key: dict[str, str] = {}
    for p in parameters:
        selector = p.get("Selector") or ""
        for key in (p.get("Name"), p.get("ARN")):
            if isinstance(key, str):
                by_key.setdefault(key + selector, p["Value"])
                by_key.setdefault(key, p["Value"])
    return {name: by_key[name] for name in found if name in by_key}


def _secret_value(data: Any, context: str) -> str | bytes:
    if not isinstance(data, dict):
        raise ParamSecretsError("the answer is not a secret", status=200, context=context)
    string = data.get("SecretString")
    if isinstance(string, str):
        return string
    binary = data.get("SecretBinary")
    if isinstance(binary, str):
        import base64
        import binascii

        try:
            return base64.b64decode(binary, validate=True)
        except (binascii.Error, ValueError):
            raise ParamSecretsError("SecretBinary is not valid base64", status=200,
                                    context=context) from None
    raise ParamSecretsError("the answer has neither SecretString nor SecretBinary", status=200,
                            context=context)


_SECRET_ERRORS: dict[str, type[ParamSecretsError]] = {
    "ResourceNotFoundException": NotFoundError,
    "AccessDeniedException": AccessDeniedError,
    "DecryptionFailure": AccessDeniedError,
    "ThrottlingException": ThrottledError,
    "InvalidParameterException": BadRequestError,
    "InvalidRequestException": BadRequestError,
    "ValidationException": BadRequestError,
    "InternalServiceError": UnavailableError,
}


def _match_secrets(chunk: list[str], data: Any) -> dict[str, str | bytes]:
    """Map a secrets get-many answer back to the ids asked for; missing ids are left out,
    other per-secret errors raised as their typed error."""
    context = f"{len(chunk)} secrets"
    if not isinstance(data, dict) or not isinstance(data.get("SecretValues"), list):
        raise ParamSecretsError("the answer has no SecretValues list", status=200, context=context)
    failed: set[str] = set()
    for entry in data.get("Errors") or ():
        if not isinstance(entry, dict):
            continue
        code = entry.get("ErrorCode")
        secret_id = entry.get("SecretId")
        cls = _SECRET_ERRORS.get(code, ParamSecretsError) if isinstance(code, str) else (
            ParamSecretsError)
        if cls is NotFoundError:
            if isinstance(secret_id, str):
                failed.add(secret_id)
            continue
        raise cls(_clean_message(str(entry.get("Message") or ""), None), code=code,
                  context=f"secret {secret_id!r}")
    values = [v for v in data["SecretValues"] if isinstance(v, dict)]
    found = [secret_id for secret_id in chunk if secret_id not in failed]
    if len(found) == len(values):
        return {secret_id: _secret_value(v, f"secret {secret_id!r}")
                for secret_id, v in zip(found, values, strict=True)}
    by_key: dict[str, dict[str, Any]] = {}
    for v in values:
        for key in (v.get("Name"), v.get("ARN")):
            if isinstance(key, str):
                by_key.setdefault(key, v)
    return {secret_id: _secret_value(by_key[secret_id], f"secret {secret_id!r}")
            for secret_id in found if secret_id in by_key}


# --------------------------------------------------------------------------------------------
# Module-level functions on a lazily created default client
# --------------------------------------------------------------------------------------------

_default: Client | None = None
_default_lock = _thread.allocate_lock()


def default_client() -> Client:
    """The shared Client the module functions use, created on first use from the environment."""
    global _default
    client = _default
    if client is None:
        with _default_lock:
            if _default is None:
                _default = Client()
            client = _default
    return client


def set_default_client(client: Client | None) -> None:
    """Replace the shared Client (None: make a fresh one from the environment on next use)."""
    global _default
    with _default_lock:
        old, _default = _default, client
    if old is not None and old is not client:
        old.close()


def get_parameter(name: str, decrypt: bool = False, version: int | str | None = None,
                  label: str | None = None, refresh: bool = False) -> str:
    """See `Client.get_parameter`."""
    return default_client().get_parameter(name, decrypt=decrypt, version=version, label=label,
                                          refresh=refresh)


def get_parameters(names: Iterable[str], decrypt: bool = False, refresh: bool = False) -> dict[str, str]:
    """See `Client.get_parameters`."""
    return default_client().get_parameters(names, decrypt=decrypt, refresh=refresh)


def get_parameters_by_path(path: str, recursive: bool = True, decrypt: bool = False,
                           refresh: bool = False) -> dict[str, str]:
    """See `Client.get_parameters_by_path`."""
    return default_client().get_parameters_by_path(path, recursive=recursive, decrypt=decrypt,
                                                   refresh=refresh)


def get_secret(secret_id: str, version_id: str | None = None, version_stage: str | None = None,
               refresh: bool = False) -> str | bytes:
    """See `Client.get_secret`."""
    return default_client().get_secret(secret_id, version_id=version_id,
                                       version_stage=version_stage, refresh=refresh)


def get_secret_json(secret_id: str, version_id: str | None = None, version_stage: str | None = None,
                    refresh: bool = False) -> Any:
    """See `Client.get_secret_json`."""
    return default_client().get_secret_json(secret_id, version_id=version_id,
                                            version_stage=version_stage, refresh=refresh)


def get_secrets(secret_ids: Iterable[str], refresh: bool = False) -> dict[str, str | bytes]:
    """See `Client.get_secrets`."""
    return default_client().get_secrets(secret_ids, refresh=refresh)
