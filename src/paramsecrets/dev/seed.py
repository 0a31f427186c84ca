"""The seed file: TOML in, plain dataclasses out, every mistake reported before anything starts.

A newcomer's first seed file will have typos. Each error names the file, the entry (kind, position
and name) and the key, says what was expected, and suggests the fix where one is obvious, so
`paramsecrets dev` can stop with a useful message instead of a botocore traceback halfway through
seeding. Standard library only: it runs before moto is imported (and without it).

Format (docs/dev.md and the packaged example.toml say the same, with examples):

    [[parameter]]                      # one table per SSM parameter
    name = "/app/db/host"              # required
    type = "String"                    # String (default) | StringList | SecureString
    value = "db.internal"              # or versions = ["v1", "v2", ...], written in order
    labels = { prod = 2 }              # optional: label -> version number
    description = "..."                # optional
    kms_key_id = "alias/app"           # optional, SecureString only

    [[secret]]                         # one table per Secrets Manager secret
    name = "app/db"                    # required
    value = "text" | { table }         # a string, or a table stored as JSON; or
    binary = "base64 text"             # a binary secret; or
    versions = [{ value = "...", stages = ["AWSPENDING"], id = "..." }, ...]
    description = "...", kms_key_id = "..."   # optional
"""

from __future__ import annotations

import base64
import binascii
import datetime
import difflib
import json
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PARAMETER_TYPES = ("String", "StringList", "SecureString")
PARAMETER_KEYS = ("name", "type", "value", "versions", "labels", "description", "kms_key_id")
SECRET_KEYS = ("name", "value", "binary", "versions", "description", "kms_key_id")
SECRET_VERSION_KEYS = ("value", "binary", "stages", "id")
TOP_LEVEL_KEYS = ("parameter", "secret")

# Limits Parameter Store and Secrets Manager enforce; checked here so the error names the entry.
MAX_PARAMETER_NAME = 1011
MAX_HIERARCHY_LEVELS = 15
STANDARD_TIER_BYTES = 4096
MAX_PARAMETER_BYTES = 8192  # the Advanced tier; the backend picks the tier from the size
MAX_LABELS_PER_VERSION = 10
MAX_LABEL = 100
MAX_SECRET_NAME = 512
MAX_SECRET_BYTES = 65536
MAX_STAGES_PER_VERSION = 20
MAX_STAGE = 256
MAX_DESCRIPTION = 1024

PARAMETER_NAME_CHARS = re.compile(r"[A-Za-z0-9_.\-/]+")
LABEL_CHARS = re.compile(r"[A-Za-z0-9_.\-]+")
SECRET_NAME_CHARS = re.compile(r"[A-Za-z0-9/_+=.@\-]+")
VERSION_ID = re.compile(r"[A-Za-z0-9\-]{32,64}")
RESERVED_PREFIXES = ("aws", "ssm")
CURRENT, PREVIOUS = "AWSCURRENT", "AWSPREVIOUS"


class SeedError(Exception):
    """A seed file we refuse; the message is complete and meant for the user as is.

    `problems` lists every problem found in one pass (one per line of the message), so a user
    fixes the file in one go rather than one run per mistake.
    """

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        self.problems = problems or [message]
        super().__init__("\n".join(self.problems))


@dataclass(frozen=True)
class Parameter:
    """One SSM parameter: `versions` are the values as SSM stores them (a StringList joined with
    commas), oldest first, so version N is `versions[N - 1]`."""

    name: str
    type: str
    versions: tuple[str, ...] = field(repr=False)  # a repr must never show a SecureString's value
    labels: tuple[tuple[str, int], ...] = ()
    description: str | None = None
    kms_key_id: str | None = None

    def label_version(self, label: str) -> int | None:
        return dict(self.labels).get(label)


@dataclass(frozen=True)
class SecretVersion:
    """One version of a secret. `stages` None means PutSecretValue's default: make it AWSCURRENT."""

    string: str | None = field(repr=False)
    binary: bytes | None = field(repr=False)
    kind: str  # "string", "json" or "binary": for the banner, which never shows the value
    stages: tuple[str, ...] | None = None
    version_id: str | None = None


@dataclass(frozen=True)
class Secret:
    """One secret; its versions are written in order with PutSecretValue."""

    name: str
    versions: tuple[SecretVersion, ...]
    description: str | None = None
    kms_key_id: str | None = None

    def final_stages(self) -> dict[str, int]:
        """Stage -> index of the version holding it once every version is written.

        Mirrors Secrets Manager: the first version of a secret is always AWSCURRENT; when
        AWSCURRENT moves, the version it left becomes AWSPREVIOUS; a label moves to the newest
        version that names it.
        """
        holders: dict[str, int] = {}
        for index, version in enumerate(self.versions):
            stages = set(version.stages) if version.stages is not None else {CURRENT}
            if index == 0:
                stages.add(CURRENT)
            if CURRENT in stages and CURRENT in holders:
                holders[PREVIOUS] = holders[CURRENT]
            for stage in stages:
                holders[stage] = index
        return holders

    @property
    def current(self) -> SecretVersion:
        return self.versions[self.final_stages()[CURRENT]]


@dataclass(frozen=True)
class Seed:
    """A checked seed: what `backend.apply_seed` writes and what the banner describes."""

    source: str
    parameters: tuple[Parameter, ...] = ()
    secrets: tuple[Secret, ...] = ()


def load(path: str | Path) -> Seed:
    """Read and check a seed file; SeedError (naming the file) on any problem."""
    try:
        data = Path(path).read_bytes()
    except OSError as error:
        raise SeedError(f"{path}: cannot read the seed file: {error.strerror}") from None
    return parse(data, str(path))


def parse(data: bytes | str, source: str) -> Seed:
    """Check a seed document; `source` names it in messages (normally its path)."""
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
    except UnicodeDecodeError as error:
        line = data[:error.start].count(b"\n") + 1 if isinstance(data, bytes) else 0
        raise SeedError(f"{source}: not UTF-8 text (line {line}); TOML files are UTF-8") from None
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise SeedError(f"{source}: not valid TOML: {error}") from None
    problems: list[str] = []
    for key in document:
        if key not in TOP_LEVEL_KEYS:
            problems.append(f"{source}: unknown top-level key {key!r}{_suggest(key, TOP_LEVEL_KEYS)}; "
                            "the file holds [[parameter]] and [[secret]] tables")
    parameters = _checked_entries(document, "parameter", source, _parameter, problems)
    secrets = _checked_entries(document, "secret", source, _secret, problems)
    problems += _duplicates(parameters, "parameter", source) + _duplicates(secrets, "secret", source)
    if problems:
        raise SeedError(problems[0], problems)
    return Seed(source, tuple(entry for _, entry in parameters), tuple(entry for _, entry in secrets))


def _checked_entries(document: dict[str, Any], kind: str, source: str, build: Callable[[_Entry], Any],
                     problems: list[str]) -> list[tuple[int, Any]]:
    """(index, entry) for every table of `kind` that checks out; the first problem of each other
    table goes to `problems` (its later problems may follow from the first)."""
    try:
        tables = _tables(document, kind, source)
    except SeedError as error:
        problems.append(str(error))
        return []
    entries = []
    for index, table in enumerate(tables, 1):
        try:
            entries.append((index, build(_Entry(source, kind, index, table))))
        except SeedError as error:
            problems.append(str(error))
    return entries


# --- helpers -------------------------------------------------------------------------------------

class _Entry:
    """One [[parameter]] or [[secret]] table, and how to name it in an error."""

    def __init__(self, source: str, kind: str, index: int, table: Any) -> None:
        self.source, self.kind, self.index = source, kind, index
        self.table: dict[str, Any] = table
        name = table.get("name")
        self.name = name if isinstance(name, str) else None

    def error(self, key: str | None, message: str) -> SeedError:
        where = f"{self.kind} #{self.index}" + (f' ("{self.name}")' if self.name else "")
        return SeedError(f"{self.source}: {where}: " + (f"{key!r} {message}" if key else message))

    def check_keys(self, allowed: tuple[str, ...], table: Mapping[str, Any] | None = None,
                   prefix: str = "") -> None:
        for key in (self.table if table is None else table):
            if key not in allowed:
                raise self.error(prefix + key, f"is not a known key{_suggest(key, allowed)}; "
                                               f"allowed: {', '.join(allowed)}")

    def string(self, key: str, value: Any, *, required: bool = False) -> str | None:
        if value is None:
            if required:
                raise self.error(key, "is missing")
            return None
        if not isinstance(value, str):
            raise self.error(key, f"must be a string, not {_toml_type(value)}" + _quote_hint(key, value))
        return value


def _tables(document: dict[str, Any], key: str, source: str) -> list[dict[str, Any]]:
    items = document.get(key, [])
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise SeedError(f"{source}: {key!r} must be an array of tables: write each one as [[{key}]]")
    return items


def _toml_type(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a float"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, datetime.date | datetime.time):
        return "a date/time"
    return type(value).__name__


def _quote_hint(key: str | None, value: Any) -> str:
    """`value = 5432` is the classic slip: show the quoted form (`key` None: an array item)."""
    if isinstance(value, bool):
        text = str(value).lower()
    elif isinstance(value, int | float):
        text = str(value)
    else:
        return ""
    return f' (quote it: {key} = "{text}")' if key else f' (quote it: "{text}")'



def _suggest(key: str, allowed: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(key, allowed, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _duplicates(entries: list[tuple[int, Any]], kind: str, source: str) -> list[str]:
    first: dict[str, int] = {}
    problems = []
    for index, entry in entries:
        if entry.name in first:
            problems.append(f'{source}: {kind} #{index} ("{entry.name}"): \'name\' duplicates '
                            f"{kind} #{first[entry.name]}; each {kind} appears once (use 'versions' "
                            "for several values)")
        else:
            first[entry.name] = index
    return problems


def _description(entry: _Entry) -> str | None:
    description = entry.string("description", entry.table.get("description"))
    if description is not None and len(description) > MAX_DESCRIPTION:
        raise entry.error("description", f"is longer than {MAX_DESCRIPTION} characters")
    return description


def _kms_key_id(entry: _Entry) -> str | None:
    key_id = entry.string("kms_key_id", entry.table.get("kms_key_id"))
    if key_id is not None and not key_id.strip():
        raise entry.error("kms_key_id", "is empty; leave it out to use the default key")
    return key_id


def _value_or_versions(entry: _Entry) -> list[tuple[str, Any]]:
    """[(key for messages, raw value)]: one `value`, or each of `versions`, oldest first."""
    table = entry.table
    value_keys = [key for key in ("value", "binary") if key in table]  # check_keys kept parameters to 'value'
    if "versions" in table:
        if value_keys:
            raise entry.error(None, f"give either {value_keys[0]!r} or 'versions', not both")
        versions = table["versions"]
        if not isinstance(versions, list):
            raise entry.error("versions", f"must be an array, not {_toml_type(versions)}")
        if not versions:
            raise entry.error("versions", "is empty; give at least one version")
        return [(f"versions[{i}]", item) for i, item in enumerate(versions, 1)]
    if entry.kind == "secret" and len(value_keys) > 1:
        raise entry.error(None, "give either 'value' or 'binary', not both")
    if not value_keys:
        needs = "'value' or 'versions'" if entry.kind == "parameter" else "'value', 'binary' or 'versions'"
        raise entry.error(None, f"needs {needs}")
    return [(value_keys[0], table[value_keys[0]])]


# --- parameters ----------------------------------------------------------------------------------

def _name_problem(name: str, longest: int, chars: re.Pattern[str], allowed: str) -> str | None:
    """The checks both services make of a name: not empty, not too long, only `chars`."""
    if not name:
        return "it is empty"
    if len(name) > longest:
        return f"it is longer than {longest} characters"
    if not chars.fullmatch(name):
        bad = sorted({char for char in name if not chars.fullmatch(char)})
        return f"it contains {' '.join(repr(char) for char in bad)}; allowed: letters, digits and {allowed}"
    return None


def parameter_name_problem(name: str) -> str | None:
    """Why Parameter Store would refuse `name`, or None if it is a valid name."""
    problem = _name_problem(name, MAX_PARAMETER_NAME, PARAMETER_NAME_CHARS, "_ . - /")
    if problem:
        return problem
    if "/" in name:
        if not name.startswith("/"):
            return "a hierarchical name (one with '/') must start with '/'"
        if name.endswith("/"):
            return "it ends with '/'"
        if "//" in name:
            return "it has an empty level ('//')"
        if name.count("/") > MAX_HIERARCHY_LEVELS:
            return f"it has more than {MAX_HIERARCHY_LEVELS} levels"
    first = name.lstrip("/").split("/", 1)[0]
    if first.lower().startswith(RESERVED_PREFIXES):
        return "names starting with 'aws' or 'ssm' (any case) are reserved by AWS"
    return None


def _checked_name(entry: _Entry, keys: tuple[str, ...], problem_of: Callable[[str], str | None], kind: str) -> str:
    """The entry's keys are known ones and its `name` is one AWS would accept."""
    entry.check_keys(keys)
    name = entry.string("name", entry.table.get("name"), required=True)
    assert name is not None
    problem = problem_of(name)
    if problem:
        raise entry.error("name", f"{name!r} is not a valid {kind} name: {problem}")
    return name


def _parameter(entry: _Entry) -> Parameter:
    name = _checked_name(entry, PARAMETER_KEYS, parameter_name_problem, "parameter")
    kind = entry.string("type", entry.table.get("type")) or "String"
    if kind not in PARAMETER_TYPES:
        raise entry.error("type", f"{kind!r} is not a parameter type{_suggest(kind, PARAMETER_TYPES)}; "
                                  f"allowed: {', '.join(PARAMETER_TYPES)}")
    versions = tuple(_parameter_value(entry, key, raw, kind) for key, raw in _value_or_versions(entry))
    kms_key_id = _kms_key_id(entry)
    if kms_key_id is not None and kind != "SecureString":
        raise entry.error("kms_key_id", f"is only for type = \"SecureString\" (this one is {kind})")
    return Parameter(name, kind, versions, _labels(entry, len(versions)), _description(entry), kms_key_id)


def _parameter_value(entry: _Entry, key: str, raw: Any, kind: str) -> str:
    if kind == "StringList" and isinstance(raw, list):
        for i, item in enumerate(raw, 1):
            if not isinstance(item, str):
                raise entry.error(f"{key}[{i}]", f"must be a string, not {_toml_type(item)}{_quote_hint(None, item)}")
            if "," in item:
                raise entry.error(f"{key}[{i}]", "contains a comma, which a StringList uses as its separator")
            if not item:
                raise entry.error(f"{key}[{i}]", "is empty")
        if not raw:
            raise entry.error(key, "is an empty list")
        value = ",".join(raw)
    elif isinstance(raw, str):
        value = raw
    else:
        expected = "a string or an array of strings" if kind == "StringList" else "a string"
        hint = _quote_hint(None if "[" in key else key, raw)
        raise entry.error(key, f"must be {expected}, not {_toml_type(raw)}{hint}")
    if not value:
        raise entry.error(key, "is empty; Parameter Store needs at least one character")
    size = len(value.encode())
    if size > MAX_PARAMETER_BYTES:
        raise entry.error(key, f"is {size} bytes; a parameter holds at most {MAX_PARAMETER_BYTES}")
    return value


def _labels(entry: _Entry, count: int) -> tuple[tuple[str, int], ...]:
    raw = entry.table.get("labels")
    if raw is None:
        return ()
    if not isinstance(raw, dict):
        raise entry.error("labels", f"must be a table of label = version number (e.g. labels = {{ prod = {count} }}), "
                                    f"not {_toml_type(raw)}")
    per_version: dict[int, int] = {}
    for label, version in raw.items():
        key = f"labels.{label}"
        problem = label_problem(label)
        if problem:
            raise entry.error(key, f"is not a valid label: {problem}")
        if isinstance(version, bool) or not isinstance(version, int):
            raise entry.error(key, f"must be a version number (an integer), not {_toml_type(version)}")
        if not 1 <= version <= count:
            have = "version 1" if count == 1 else f"versions 1 to {count}"
            raise entry.error(key, f"names version {version}, but this parameter has {have}")
        per_version[version] = per_version.get(version, 0) + 1
        if per_version[version] > MAX_LABELS_PER_VERSION:
            raise entry.error(key, f"is one label too many: a version holds at most {MAX_LABELS_PER_VERSION}")
    return tuple(raw.items())


def label_problem(label: str) -> str | None:
    """Why LabelParameterVersion would refuse `label`, or None."""
    if not label:
        return "it is empty"
    if len(label) > MAX_LABEL:
        return f"it is longer than {MAX_LABEL} characters"
    if not LABEL_CHARS.fullmatch(label):
        return "only letters, digits and _ . - are allowed"
    if label[0].isdigit():
        return "it starts with a digit"
    if label.lower().startswith(RESERVED_PREFIXES):
        return "labels starting with 'aws' or 'ssm' (any case) are reserved by AWS"
    return None


# --- secrets -------------------------------------------------------------------------------------

def secret_name_problem(name: str) -> str | None:
    """Why Secrets Manager would refuse `name`, or None."""
    return _name_problem(name, MAX_SECRET_NAME, SECRET_NAME_CHARS, "/ _ + = . @ -")


def _secret(entry: _Entry) -> Secret:
    name = _checked_name(entry, SECRET_KEYS, secret_name_problem, "secret")
    if "versions" in entry.table:
        versions = tuple(_secret_version(entry, key, raw) for key, raw in _value_or_versions(entry))
    else:
        key, raw = _value_or_versions(entry)[0]
        versions = (_secret_value(entry, key, raw, binary=key == "binary"),)
    _check_stages(entry, versions)
    return Secret(name, versions, _description(entry), _kms_key_id(entry))


def _secret_version(entry: _Entry, key: str, raw: Any) -> SecretVersion:
    if not isinstance(raw, dict):
        raise entry.error(key, f'must be a table like {{ value = "..." }} or {{ binary = "..." }}, '
                               f"not {_toml_type(raw)}")
    entry.check_keys(SECRET_VERSION_KEYS, raw, prefix=f"{key}.")
    given = [name for name in ("value", "binary") if name in raw]
    if len(given) != 1:
        raise entry.error(key, "needs exactly one of 'value' or 'binary'")
    version = _secret_value(entry, f"{key}.{given[0]}", raw[given[0]], binary=given[0] == "binary")
    stages = None
    if "stages" in raw:
        stages = _stages(entry, f"{key}.stages", raw["stages"])
    version_id = None
    if "id" in raw:
        version_id = entry.string(f"{key}.id", raw["id"])
        if version_id is None or not VERSION_ID.fullmatch(version_id):
            raise entry.error(f"{key}.id", "must be 32 to 64 letters, digits or '-' (a UUID is fine)")
    return SecretVersion(version.string, version.binary, version.kind, stages, version_id)


def _secret_value(entry: _Entry, key: str, raw: Any, *, binary: bool) -> SecretVersion:
    if binary:
        if not isinstance(raw, str):
            raise entry.error(key, f"must be base64 text, not {_toml_type(raw)}")
        try:
            data = base64.b64decode("".join(raw.split()), validate=True)
        except (binascii.Error, ValueError):
            raise entry.error(key, "is not valid base64") from None
        if not data:
            raise entry.error(key, "is empty")
        if len(data) > MAX_SECRET_BYTES:
            raise entry.error(key, f"is {len(data)} bytes; a secret holds at most {MAX_SECRET_BYTES}")
        return SecretVersion(None, data, "binary")
    if isinstance(raw, dict):
        try:
            text = json.dumps(raw, allow_nan=False)
        except TypeError:
            raise entry.error(key, "holds a TOML date/time, which JSON cannot hold; quote it") from None
        except ValueError:
            raise entry.error(key, "holds inf or nan, which JSON cannot hold") from None
        kind = "json"
    elif isinstance(raw, str):
        text, kind = raw, "string"
    else:
        hint = _quote_hint(None if "[" in key else key, raw)
        raise entry.error(key, f"must be a string or a table (stored as JSON), not {_toml_type(raw)}{hint}")
    if not text:
        raise entry.error(key, "is empty")
    if len(text.encode()) > MAX_SECRET_BYTES:
        raise entry.error(key, f"is {len(text.encode())} bytes; a secret holds at most {MAX_SECRET_BYTES}")
    return SecretVersion(text, None, kind)


def _stages(entry: _Entry, key: str, raw: Any) -> tuple[str, ...]:
    if not isinstance(raw, list):
        raise entry.error(key, f'must be an array of strings (e.g. ["AWSPENDING"]), not {_toml_type(raw)}')
    for stage in raw:
        if not isinstance(stage, str):
            raise entry.error(key, f"holds {_toml_type(stage)}; stages are strings")
    if not raw:
        raise entry.error(key, "is empty; leave 'stages' out to make this version AWSCURRENT")
    if len(raw) > MAX_STAGES_PER_VERSION:
        raise entry.error(key, f"has more than {MAX_STAGES_PER_VERSION} stages")
    for stage in raw:
        if not stage or len(stage) > MAX_STAGE:
            raise entry.error(key, f"holds {stage!r}: a stage is 1 to {MAX_STAGE} characters")
        if stage == PREVIOUS:
            raise entry.error(key, "holds AWSPREVIOUS, which Secrets Manager sets itself on the version "
                                   "AWSCURRENT moved away from; list the versions in order instead")
        if raw.count(stage) > 1:
            raise entry.error(key, f"lists {stage!r} twice")
    return tuple(raw)


def _check_stages(entry: _Entry, versions: tuple[SecretVersion, ...]) -> None:
    """A stage labels one version: listing it on two would silently move it."""
    seen: dict[str, int] = {}
    ids: dict[str, int] = {}
    for number, version in enumerate(versions, 1):
        for stage in version.stages or ():
            if stage in seen:
                raise entry.error(f"versions[{number}].stages", f"lists {stage!r}, already on version "
                                                              f"{seen[stage]}; a stage labels one version")
            seen[stage] = number
        if version.version_id is not None:
            if version.version_id in ids:
                raise entry.error(f"versions[{number}].id", f"repeats the id of version {ids[version.version_id]}")
            ids[version.version_id] = number
