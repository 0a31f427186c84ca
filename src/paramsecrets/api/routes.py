"""The route table, the guard (X-Forwarded-For, method, token) and query parsing.

Each GET route is one row of `ROUTE_TABLE`: its path (or path prefix), its parser, the kind of
read it makes and the SigV4 service it is signed for. A parser turns the query into one of the
small read descriptions below, or a RequestError. Every read names its kind (`ReadKind`, a
class-level tag mypy narrows on), and the service answers by kind, ending in `assert_never`; a
batch read also names its loader and its renderer. Each single read knows its cache key
(paramsecrets.cache.keys): every selector that changes the answer. Queries are read as the
AWS extension (a Go program) reads them, or strictly for the detailed profile (profiles.py).
Parsing a target costs a few microseconds, so results are memoised by the raw target bytes
(one memo per way of reading): a hot key's repeat requests skip straight to the cache.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Any, ClassVar, Final, Literal

from paramsecrets.api.tokens import Token
from paramsecrets.aws.errors import UpstreamError
from paramsecrets.cache import shapes
from paramsecrets.cache.keys import Key, ParameterKey, PathKey, SecretKey, split_selector
from paramsecrets.cache.roles import check_role_arn
from paramsecrets.errors import AnswerError
from paramsecrets.http.parser import FORWARDING_NAMES, Request

if TYPE_CHECKING:
    from paramsecrets.cache.batching import Outcome
    from paramsecrets.cache.reader import Reader

MAX_MANY_PARAMETERS = 100
MAX_MANY_SECRETS = 100
MEMO_LIMIT = 4096
UNAUTHORIZED_MESSAGE = "Bad session token or header key"


class RequestError(AnswerError):
    """A GET request we refuse before any upstream call: status, code, message (paramsecrets.errors)."""

    def __init__(self, status: int, code: str, message: str, close: bool = False, reason: str | None = None) -> None:
        super().__init__(status, code, message, reason=reason, close=close)


def bad_request(message: str) -> RequestError:
    return RequestError(400, "BadRequest", message)


class ReadKind(Enum):
    """How a route is answered (paramsecrets.api.service answers each kind once)."""

    SINGLE = "single"  # one key: the cache front's read decision; the answer is the entry's body
    BATCH = "batch"  # many keys in one load; the read's `render` assembles the answer's body
    PING = "ping"  # /ping: no token, no cache
    METRICS = "metrics"  # /metrics: no token, the counters


# The kinds as module constants (the hit path compares against SINGLE: a global is cheaper than an
# Enum attribute); Final, so mypy narrows a read's type on them too.
SINGLE: Final = ReadKind.SINGLE
BATCH: Final = ReadKind.BATCH

Failed = list[tuple[str, UpstreamError]]  # the names a batch could not read, each with its error


@dataclass(frozen=True, slots=True)
class ParameterRead:
    """GET /systemsmanager/parameters/get: `name` is what GetParameter receives (selector included).

    `key` and `alternate` (the same read with the other decryption flag: the same answer for a
    String) are computed once: reads are memoised by target, and the hit path uses both.
    """

    kind: ClassVar[Literal[ReadKind.SINGLE]] = ReadKind.SINGLE
    name: str
    selector: str | None
    decrypt: bool
    refresh: bool = False
    role: str | None = None  # roleArn: read as this role (paramsecrets.cache.roles)
    key: ParameterKey = field(init=False, compare=False, repr=False)
    alternate: ParameterKey = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        key = ParameterKey(self.name, self.decrypt, self.role)
        object.__setattr__(self, "key", key)
        object.__setattr__(self, "alternate", key.alternate)


@dataclass(frozen=True, slots=True)
class SecretRead:
    """GET /secretsmanager/get, /v1/<id> and /secretsmanager/<id>."""

    kind: ClassVar[Literal[ReadKind.SINGLE]] = ReadKind.SINGLE
    secret_id: str
    version_id: str | None
    version_stage: str | None
    refresh: bool = False
    role: str | None = None
    key: SecretKey = field(init=False, compare=False, repr=False)
    alternate: None = field(default=None, init=False, compare=False, repr=False)  # a secret has one form

    def __post_init__(self) -> None:
        object.__setattr__(self, "key", SecretKey(self.secret_id, self.version_id, self.version_stage, self.role))


@dataclass(frozen=True, slots=True)
class ParametersRead:
    """GET /systemsmanager/parameters/get-many: GetParameters x10, each name cached as a single get."""

    kind: ClassVar[Literal[ReadKind.BATCH]] = ReadKind.BATCH
    names: tuple[str, ...]
    decrypt: bool
    refresh: bool = False
    role: str | None = None

    def load(self, reader: Reader) -> Coroutine[Any, Any, dict[str, Outcome]]:
        return reader.parameters(self.names, self.decrypt, self.refresh, self.role)

    def key_of(self, name: str) -> tuple[Key, Key | None]:
        return ParameterKey(name, self.decrypt, self.role), ParameterKey(name, not self.decrypt, self.role)

    @staticmethod
    def render(bodies: list[bytes], failed: Failed) -> bytes:
        """The extension's GetParameters body from the single answers' bodies."""
        items = [shapes.parameter_item_bytes(body) for body in bodies]
        return shapes.parameters_body_from_items(items, [name for name, _ in failed])


@dataclass(frozen=True, slots=True)
class PathRead:
    """GET /systemsmanager/parameters/get-by-path."""

    kind: ClassVar[Literal[ReadKind.SINGLE]] = ReadKind.SINGLE
    path: str
    recursive: bool
    decrypt: bool
    refresh: bool = False
    role: str | None = None
    key: PathKey = field(init=False, compare=False, repr=False)
    alternate: PathKey = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        key = PathKey(self.path, self.recursive, self.decrypt, self.role)
        object.__setattr__(self, "key", key)
        object.__setattr__(self, "alternate", key.alternate)


@dataclass(frozen=True, slots=True)
class SecretsRead:
    """GET /secretsmanager/get-many: BatchGetSecretValue x20, each id cached as a single get."""

    kind: ClassVar[Literal[ReadKind.BATCH]] = ReadKind.BATCH
    secret_ids: tuple[str, ...]
    refresh: bool = False
    role: str | None = None

    def load(self, reader: Reader) -> Coroutine[Any, Any, dict[str, Outcome]]:
        return reader.secrets(self.secret_ids, self.refresh, self.role)

    def key_of(self, name: str) -> tuple[Key, Key | None]:
        return SecretKey(name, role=self.role), None

    @staticmethod
    def render(bodies: list[bytes], failed: Failed) -> bytes:
        """The extension's BatchGetSecretValue body from the single answers' bodies."""
        items = [shapes.secret_item_bytes(body) for body in bodies]
        errors = [{"SecretId": name, "ErrorCode": error.code, "Message": error.message} for name, error in failed]
        return shapes.secrets_body_from_items(items, errors)


class Ping:
    kind: ClassVar[Literal[ReadKind.PING]] = ReadKind.PING


class Metrics:
    kind: ClassVar[Literal[ReadKind.METRICS]] = ReadKind.METRICS


SingleRead = ParameterRead | SecretRead | PathRead  # one key, one entry
BatchRead = ParametersRead | SecretsRead  # many keys, one load, one renderer
Read = SingleRead | BatchRead
Route = Read | Ping | Metrics
PING = Ping()
METRICS = Metrics()

_PERCENT = re.compile(rb"%(?![0-9A-Fa-f]{2})")


def percent_decode(raw: bytes, what: str, plus_is_space: bool = True) -> str:
    """Strict URL decoding: a stray `%` or bytes that are not UTF-8 are a 400, not a guess."""
    if _PERCENT.search(raw):
        raise bad_request(f"malformed percent-encoding in {what}")
    if plus_is_space:
        raw = raw.replace(b"+", b" ")
    if b"%" in raw:
        # Every `%` is followed by two hex digits (checked above), so this is unquote_to_bytes
        # without importing urllib.parse (and the ipaddress module it imports: 0.3 MiB of RSS).
        first, *rest = raw.split(b"%")
        raw = first + b"".join(bytes((int(part[:2], 16),)) + part[2:] for part in rest)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise bad_request(f"{what} is not valid UTF-8") from None


def parse_query(query: bytes, allowed: frozenset[str], strict: bool) -> dict[str, list[str]]:
    """Decode a query string into values by name (names are case-sensitive).

    Strict (the detailed profile): an unknown name or a malformed pair is a 400 naming it.
    Otherwise Go's `url.ParseQuery`, as the AWS extension reads queries: names it does not use
    are ignored, and a pair with a `;` or a broken percent-escape is dropped.
    """
    values: dict[str, list[str]] = {}
    for pair in query.split(b"&") if query else ():
        if not pair:
            continue
        raw_name, _, raw_value = pair.partition(b"=")
        if strict:
            name = percent_decode(raw_name, "a query parameter name")
            if name not in allowed:
                raise bad_request(f"unknown query parameter {name!r}; accepted: {', '.join(sorted(allowed))}")
        else:
            if b";" in pair or _PERCENT.search(pair):
                continue
            try:
                name = percent_decode(raw_name, "a query parameter name")
            except RequestError:
                continue
            if name not in allowed:
                continue
        values.setdefault(name, []).append(percent_decode(raw_value, f"query parameter {name!r}"))
    return values


def single(values: dict[str, list[str]], name: str, strict: bool) -> str | None:
    """A query parameter's value: strict refuses a repeat (ambiguous); Go takes the first."""
    found = values.get(name)
    if found is None:
        return None
    if strict and len(found) > 1:
        raise bad_request(f"query parameter {name!r} is given more than once")
    return found[0]


def required(values: dict[str, list[str]], name: str, strict: bool) -> str:
    value = single(values, name, strict)
    if not value:
        raise bad_request(f"query parameter {name!r} is required")
    return value


def optional(values: dict[str, list[str]], name: str, strict: bool) -> str | None:
    """A selector such as `label`: strict refuses it empty; Go code reads an empty one as absent."""
    value = single(values, name, strict)
    if value == "":
        if strict:
            raise bad_request(f"query parameter {name!r} must not be empty")
        return None
    return value


GO_TRUE = frozenset({"1", "t", "T", "TRUE", "true", "True"})  # strconv.ParseBool
GO_FALSE = frozenset({"0", "f", "F", "FALSE", "false", "False"})


def flag(values: dict[str, list[str]], name: str, strict: bool, default: bool = False) -> bool:
    """A boolean as Go's `strconv.ParseBool` reads it; strict also takes true/false in any case."""
    value = single(values, name, strict)
    if value is None:
        return default
    if value in GO_TRUE:
        return True
    if value in GO_FALSE:
        return False
    if strict and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise bad_request(f"query parameter {name!r} must be true or false, not {value[:50]!r}")


MAX_VERSION_DIGITS = 19  # a parameter version is a positive 64-bit integer


def version_number(version: str) -> int:
    """A positive version number; the length is checked before `int` (which refuses 4,301+ digits)."""
    if (not version or len(version) > MAX_VERSION_DIGITS or not version.isascii() or not version.isdigit()
            or int(version) < 1):
        raise bad_request(f"query parameter 'version' must be a positive integer, not {version[:50]!r}")
    return int(version)


def _first_selector(query: bytes) -> str | None:
    """Which of `version` / `label` comes first in the raw query (AWS: the first one wins)."""
    for pair in query.split(b"&"):
        name = pair.partition(b"=")[0]
        if name in (b"version", b"label"):
            return name.decode()
    return None


def role_arn(values: dict[str, list[str]], strict: bool) -> str | None:
    """`roleArn`, checked (a malformed one is a 400 naming the problem; AWS is never asked)."""
    arn = optional(values, "roleArn", strict)
    if arn is None:
        return None
    return check_role_arn(arn)  # a RoleArnError is a 400 BadRequest naming the problem


PARAMETER_QUERY = frozenset({"name", "version", "label", "withDecryption", "refreshNow", "roleArn"})
SECRET_QUERY = frozenset({"secretId", "versionId", "versionStage", "refreshNow", "roleArn"})
V1_QUERY = frozenset({"versionId", "versionStage", "refreshNow", "roleArn"})
SECRET_PATH_QUERY = SECRET_QUERY - {"secretId"}  # /secretsmanager/<id>: /secretsmanager/get's, the id in the path
MANY_QUERY = frozenset({"name", "withDecryption", "refreshNow", "roleArn"})
PATH_QUERY = frozenset({"path", "recursive", "withDecryption", "refreshNow", "roleArn"})
SECRETS_MANY_QUERY = frozenset({"secretId", "refreshNow", "roleArn"})


def parameter_read(query: bytes, strict: bool) -> ParameterRead:
    values = parse_query(query, PARAMETER_QUERY, strict)
    name = required(values, "name", strict)
    label = optional(values, "label", strict)
    version = single(values, "version", strict)
    if version == "" and not strict:
        version = None
    decrypt = flag(values, "withDecryption", strict)
    refresh = flag(values, "refreshNow", strict)
    role = role_arn(values, strict)
    base, selector = split_selector(name)
    if version is not None and label is not None:
        if _first_selector(query) == "label":
            version = None
        else:
            label = None
    if version is not None:
        asked = f":{version_number(version)}"
    elif label is not None:
        asked = f":{label}"
    else:
        return ParameterRead(name, selector, decrypt, refresh, role)
    if selector is not None:
        raise bad_request("the name already carries a selector; do not also pass 'version' or 'label'")
    return ParameterRead(base + asked, asked, decrypt, refresh, role)


def secret_read(values: dict[str, list[str]], secret_id: str, strict: bool) -> SecretRead:
    return SecretRead(secret_id, optional(values, "versionId", strict), optional(values, "versionStage", strict),
                      flag(values, "refreshNow", strict), role_arn(values, strict))


def many_read(query: bytes, strict: bool) -> ParametersRead:
    values = parse_query(query, MANY_QUERY, strict)
    names = tuple(dict.fromkeys(values.get("name", [])))
    if not names or not all(names):
        raise bad_request("query parameter 'name' is required (repeat it for each parameter)")
    if len(names) > MAX_MANY_PARAMETERS:
        raise bad_request(f"at most {MAX_MANY_PARAMETERS} names per request, got {len(names)}")
    return ParametersRead(names, flag(values, "withDecryption", strict), flag(values, "refreshNow", strict),
                          role_arn(values, strict))


def path_read(query: bytes, strict: bool) -> PathRead:
    values = parse_query(query, PATH_QUERY, strict)
    path = required(values, "path", strict)
    if not path.startswith("/"):
        raise bad_request("query parameter 'path' must start with '/'")
    return PathRead(path, flag(values, "recursive", strict, default=True), flag(values, "withDecryption", strict),
                    flag(values, "refreshNow", strict), role_arn(values, strict))


def secrets_many_read(query: bytes, strict: bool) -> SecretsRead:
    values = parse_query(query, SECRETS_MANY_QUERY, strict)
    ids = tuple(dict.fromkeys(values.get("secretId", [])))
    if not ids or not all(ids):
        raise bad_request("query parameter 'secretId' is required (repeat it for each secret)")
    if len(ids) > MAX_MANY_SECRETS:
        raise bad_request(f"at most {MAX_MANY_SECRETS} secret ids per request, got {len(ids)}")
    return SecretsRead(ids, flag(values, "refreshNow", strict), role_arn(values, strict))


def _secret_get(query: bytes, strict: bool) -> SecretRead:
    values = parse_query(query, SECRET_QUERY, strict)
    return secret_read(values, required(values, "secretId", strict), strict)


def _v1_read(query: bytes, strict: bool, secret_id: str) -> SecretRead:
    return secret_read(parse_query(query, V1_QUERY, strict), secret_id, strict)


def _secret_path_read(query: bytes, strict: bool, secret_id: str) -> SecretRead:
    return secret_read(parse_query(query, SECRET_PATH_QUERY, strict), secret_id, strict)


def _exact(parse: Callable[[bytes, bool], Route]) -> Parser:
    """A parser of a route at one path (the path has nothing in it to read)."""
    return lambda query, strict, _: parse(query, strict)


def _always(route: Route) -> Parser:
    return lambda query, strict, _: route


Parser = Callable[[bytes, bool, str], Route]
"""(query, strict, the decoded rest of the path after a prefix row's path: '' for an exact row)."""


@dataclass(frozen=True, slots=True)
class RouteRow:
    """One GET route: where it is, how its query is read, and what kind of read it makes.

    `kind` says how the service answers it (and an open kind needs no token); the parser returns
    reads of that kind (tests/unit/test_route_table.py checks every row). A `prefix` row matches every
    path that starts with `path` and has something after it: that rest, percent-decoded, is the
    parser's third argument (a secret id). An exact row also answers its path with a trailing `/`
    unless `slash` is False.
    """

    path: bytes
    parse: Parser
    kind: ReadKind
    signing: str | None = None  # the SigV4 service a signed GET of it is checked for (None: open)
    prefix: bool = False
    slash: bool = True

    @property
    def open(self) -> bool:
        """Answered without the token (and without a signature)."""
        return self.kind is ReadKind.PING or self.kind is ReadKind.METRICS


SSM = "ssm"
SECRETS_MANAGER = "secretsmanager"
ROUTE_TABLE: tuple[RouteRow, ...] = (
    RouteRow(b"/systemsmanager/parameters/get", _exact(parameter_read), SINGLE, SSM),
    RouteRow(b"/systemsmanager/parameters/get-many", _exact(many_read), BATCH, SSM),
    RouteRow(b"/systemsmanager/parameters/get-by-path", _exact(path_read), SINGLE, SSM),
    RouteRow(b"/secretsmanager/get", _exact(_secret_get), SINGLE, SECRETS_MANAGER),
    RouteRow(b"/secretsmanager/get-many", _exact(secrets_many_read), BATCH, SECRETS_MANAGER),
    RouteRow(b"/v1/", _v1_read, SINGLE, SECRETS_MANAGER, prefix=True),
    # Cloud Extensions' path route: /secretsmanager/<id>, slashes kept, %2F decoded. The names of
    # the exact routes above (`get`, `get-many`) are theirs: such a secret is read with the query route.
    RouteRow(b"/secretsmanager/", _secret_path_read, SINGLE, SECRETS_MANAGER, prefix=True),
    RouteRow(b"/ping", _always(PING), ReadKind.PING, slash=False),
    RouteRow(b"/metrics", _always(METRICS), ReadKind.METRICS, slash=False),
)
"""Every GET route, one row each. Exact rows are matched first, then prefix rows in order."""

EXACT_ROWS: dict[bytes, RouteRow] = {}
for _row in ROUTE_TABLE:
    if not _row.prefix:
        EXACT_ROWS[_row.path] = _row
        if _row.slash:
            EXACT_ROWS[_row.path + b"/"] = _row
PREFIX_ROWS = tuple(row for row in ROUTE_TABLE if row.prefix)
V1_PREFIX = b"/v1/"
# POST targets of the AWS SDKs' protocol: `/` (docs/sdk.md) and Cloud Extensions' two paths (the
# JavaScript SDK v3 sends an endpoint's path with a trailing `/`).
SDK_PATHS = frozenset({b"/", b"/parameterstore", b"/secretsmanager", b"/parameterstore/", b"/secretsmanager/"})
MISSING_AUTHENTICATION = "MISSING_AUTHENTICATION"
INVALID_TOKEN = "INVALID_TOKEN"


def find_row(path: bytes) -> tuple[RouteRow, bytes] | None:
    """The row for `path` and, for a prefix row, the raw rest of the path after it ('' otherwise)."""
    row = EXACT_ROWS.get(path)
    if row is not None:
        return row, b""
    for row in PREFIX_ROWS:
        if path.startswith(row.path) and len(path) > len(row.path):
            return row, path[len(row.path):]
    return None


def signing_service(path: bytes) -> str | None:
    """The SigV4 service a signed GET of `path` is checked for: its row's; a path no row takes is
    judged by its family (a bad signature is refused before the 404, as for a known route)."""
    found = find_row(path)
    if found is not None:
        return found[0].signing
    if path.startswith(b"/systemsmanager/"):
        return SSM
    if path.startswith((b"/secretsmanager/", V1_PREFIX)):
        return SECRETS_MANAGER
    return None


def parse_target(target: bytes, strict: bool = True) -> Route:
    """Route and validate a request target (path and query); raises RequestError.

    `strict` is the detailed profile's query validation; otherwise queries are read as Go does.
    """
    path, _, query = target.partition(b"?")
    found = find_row(path)
    if found is None:
        raise no_such_route(path)
    row, raw_rest = found
    rest = percent_decode(raw_rest, "the secret id in the path", plus_is_space=False) if raw_rest else ""
    return row.parse(query, strict, rest)


def no_such_route(path: bytes) -> RequestError:
    return RequestError(404, "NotFound", "no such route: " + path.decode("ascii", "replace")[:200])


class Router:
    """Guard, then route: X-Forwarded-For, method, path, token, query (in that order).

    Each check raises a RequestError carrying the detailed status and code; the profile decides
    how it is answered (the AWS profile answers 400 for all of them but the token's 401).
    """

    def __init__(self, token: Token) -> None:
        self.token = token
        self._memos: tuple[dict[bytes, Route], dict[bytes, Route]] = ({}, {})  # Go-style, strict

    def route(self, request: Request, strict: bool, authenticated: bool = False) -> Route:
        """The route for `request`; `strict` is the detailed profile's query validation.

        `authenticated`: the request's SigV4 signature was verified (service.py), in place of the token.
        """
        if request.forwarded:
            raise RequestError(400, "Forwarded", f"requests carrying {FORWARDING_NAMES} are refused "
                                                 "(local callers only)")
        # The one method check: every route here is GET (`POST /`, the SDK protocol, is dispatched
        # before the router is asked).
        if request.method != b"GET":
            raise RequestError(405, "MethodNotAllowed",
                               f"method {request.method.decode()} is not allowed; use GET")
        route = self._memos[strict].get(request.target)
        if route is None:
            route = self._first_sight(request, strict, authenticated)
        elif (route is not PING and route is not METRICS and not authenticated
              and not self.token.matches(request.token)):
            raise self.unauthorized(request.token)
        if request.has_body:
            raise RequestError(400, "BadRequest", "a request body is not allowed on GET", close=True)
        return route

    def _first_sight(self, request: Request, strict: bool, authenticated: bool) -> Route:
        """Path, then token, then query; a valid target is remembered."""
        target = request.target
        path = target.partition(b"?")[0]
        found = find_row(path)
        if found is None:
            raise no_such_route(path)
        if found[0].open:
            return found[0].parse(b"", strict, "")
        if not authenticated and not self.token.matches(request.token):
            raise self.unauthorized(request.token)
        route = parse_target(target, strict)
        memo = self._memos[strict]
        if len(memo) >= MEMO_LIMIT:
            memo.clear()
        memo[target] = route
        return route

    @staticmethod
    def unauthorized(token: bytes | None = None) -> RequestError:
        """401, with Cloud Extensions' reason: no token (and no signature), or a wrong one."""
        return RequestError(401, "Unauthorized", UNAUTHORIZED_MESSAGE,
                            reason=MISSING_AUTHENTICATION if token is None else INVALID_TOKEN)
