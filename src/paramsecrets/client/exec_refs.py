"""What `paramsecrets exec` should fill: the `REF` grammar and the mapping from flags and environment.

A REF names one value:

    ssm:NAME[#KEY]              a parameter, always decrypted; NAME is a name, `name:VERSION`,
                                `name:LABEL` or an ARN (which may carry `:VERSION` / `:LABEL` too)
    secretsmanager:ID[#KEY]     a secret by name, ARN or partial ARN (its AWSCURRENT version)

`#KEY` takes one top-level field of a JSON object value. Neither parameter names nor secret ids
can hold `#`, so the first `#` ends the name and the key is everything after it.

The mapping comes from flags (`--env NAME=REF`, `--file PATH=REF`, `--path PATH`) and, so a
Lambda exec wrapper needs no arguments, from the environment (`PARAMSECRETS_ENV_<NAME>=REF`,
`PARAMSECRETS_FILES=PATH=REF,...`, `PARAMSECRETS_PATH=/path/[,/path/]`). A flag wins over the
environment, and an explicit variable wins over one loaded from a path.

Standard library only, no `re`, no `argparse`: this runs on the layer's interpreter before a
function's runtime starts, where every import adds to INIT. Every error message names the REF
(or flag) and what is wrong with it, never a value.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing costs ~4 ms of CPU on the INIT path; mypy reads this name as true
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from typing import NamedTuple

SSM = "ssm"
SECRETS = "secretsmanager"
SOURCES = (SSM, SECRETS)

ENV_PREFIX = "PARAMSECRETS_ENV_"
FILES_ENV = "PARAMSECRETS_FILES"
PATH_ENV = "PARAMSECRETS_PATH"

MAX_REF_CHARS = 4096
"""A parameter ARN is at most 2048 characters, a secret id 2048, a JSON key: bounded here first."""
MAX_VARIABLE_CHARS = 256
MAX_PATH_CHARS = 4096
MAX_MAPPINGS = 1000
"""More than this many values for one command is a mistake, not a configuration."""

_NAME_START = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_")
_NAME_CHARS = _NAME_START | frozenset("0123456789")
_DIGITS = frozenset("0123456789")


class RefError(ValueError):
    """A malformed REF, flag or mapping variable; the message says which and why."""


def _ref_text(ref: Ref) -> str:
    return f"{ref.source}:{ref.name}" + ("" if ref.key is None else f"#{ref.key}")


# Named tuples, not dataclasses (`dataclasses` imports `inspect`), typing.NamedTuple (`typing`) nor
# collections.namedtuple (`collections`): all are costs on the INIT path. mypy reads the typed declarations.
if TYPE_CHECKING:
    class Ref(NamedTuple):
        """One value to read: `source` is "ssm" or "secretsmanager", `name` what is sent to the
        server (a parameter name with its selector, or a secret id), `key` the JSON field or None."""

        source: str
        name: str
        key: str | None = None

        def __str__(self) -> str:
            return _ref_text(self)

    class FileTarget(NamedTuple):
        """`--file PATH=REF`: write the value to `path`."""

        path: str
        ref: Ref
else:
    class Ref(tuple):
        """(source, name, key) with names, like typing.NamedTuple makes it (see above)."""

        __slots__ = ()

        def __new__(cls, source, name, key=None):
            return tuple.__new__(cls, (source, name, key))

        source = property(lambda self: self[0])
        name = property(lambda self: self[1])
        key = property(lambda self: self[2])

        def __repr__(self):
            return f"Ref(source={self[0]!r}, name={self[1]!r}, key={self[2]!r})"

        def __str__(self):
            return _ref_text(self)

    class FileTarget(tuple):
        __slots__ = ()

        def __new__(cls, path, ref):
            return tuple.__new__(cls, (path, ref))

        path = property(lambda self: self[0])
        ref = property(lambda self: self[1])

        def __repr__(self):
            return f"FileTarget(path={self[0]!r}, ref={self[1]!r})"


class Plan:
    """Everything one `exec` fills: variables (name -> REF), files, and paths to load."""

    def __init__(self) -> None:
        self.env: dict[str, Ref] = {}
        self.files: list[FileTarget] = []
        self.paths: list[str] = []

    def refs(self) -> list[Ref]:
        """Every distinct REF, in first-use order (variables, then files)."""
        seen: dict[Ref, None] = {}
        for ref in (*self.env.values(), *(target.ref for target in self.files)):
            seen.setdefault(ref, None)
        return list(seen)

    @property
    def empty(self) -> bool:
        return not (self.env or self.files or self.paths)


# ---------------------------------------------------------------- the REF grammar


def parse_ref(text: str) -> Ref:
    """Parse one REF; RefError names the REF and the problem."""
    if not text:
        raise RefError("empty REF (expected ssm:NAME or secretsmanager:ID, optionally #KEY)")
    if len(text) > MAX_REF_CHARS:
        raise RefError(f"REF {_shown(text)} is longer than {MAX_REF_CHARS} characters")
    if any(ch.isspace() or not ch.isprintable() for ch in text):
        raise RefError(f"REF {_shown(text)} contains whitespace or a control character")
    source, colon, rest = text.partition(":")
    if not colon:
        raise RefError(f"REF {_shown(text)} has no source: write ssm:NAME or secretsmanager:ID")
    if source not in SOURCES:
        raise RefError(f"REF {_shown(text)}: unknown source {source!r} (expected ssm or secretsmanager)")
    name, hash_sign, key = rest.partition("#")
    if hash_sign and not key:
        raise RefError(f"REF {_shown(text)}: the JSON key after '#' is empty")
    if source == SSM:
        _check_parameter(text, name)
    elif not name:
        raise RefError(f"REF {_shown(text)}: the secret id is empty")
    return Ref(source, name, key if hash_sign else None)


def _check_parameter(text: str, name: str) -> None:
    """NAME, NAME:VERSION, NAME:LABEL, or an ARN with the same optional selector."""
    if not name:
        raise RefError(f"REF {_shown(text)}: the parameter name is empty")
    if name.startswith("arn:"):
        parts = name.split(":")
        # arn:PARTITION:ssm:REGION:ACCOUNT:parameter/NAME[:SELECTOR]
        if len(parts) not in (6, 7) or parts[2] != "ssm" or not parts[5].startswith("parameter/") \
                or len(parts[5]) == len("parameter/"):
            raise RefError(f"REF {_shown(text)}: not a parameter ARN "
                           "(arn:PARTITION:ssm:REGION:ACCOUNT:parameter/NAME[:VERSION|:LABEL])")
        selector = parts[6] if len(parts) == 7 else None
    else:
        base, colon, after = name.partition(":")
        if not base:
            raise RefError(f"REF {_shown(text)}: the parameter name is empty")
        if ":" in after:
            raise RefError(f"REF {_shown(text)}: a parameter name takes one ':VERSION' or ':LABEL', not more")
        selector = after if colon else None
    if selector is None:
        return
    if not selector:
        raise RefError(f"REF {_shown(text)}: the version or label after ':' is empty")
    if selector[0] in _DIGITS and not (set(selector) <= _DIGITS and int(selector) >= 1):
        # A label may not begin with a digit, so a selector starting with one is a version.
        raise RefError(f"REF {_shown(text)}: version {selector!r} is not a positive whole number")


def _shown(text: str) -> str:
    """A REF quoted in a message, cut short: never more than 80 characters of it."""
    return repr(text if len(text) <= 80 else text[:77] + "...")


# ---------------------------------------------------------------- the mapping


def check_variable(name: str, origin: str) -> str:
    """An environment variable name (letters, digits, `_`, not starting with a digit)."""
    if not name:
        raise RefError(f"{origin}: the variable name is empty")
    if len(name) > MAX_VARIABLE_CHARS:
        raise RefError(f"{origin}: the variable name is longer than {MAX_VARIABLE_CHARS} characters")
    if name[0] not in _NAME_START or not set(name) <= _NAME_CHARS:
        raise RefError(f"{origin}: {name!r} is not a variable name (letters, digits and '_', "
                       "not starting with a digit)")
    return name


def parse_env_mapping(text: str, origin: str = "--env") -> tuple[str, Ref]:
    """`NAME=REF` (a variable name cannot hold `=`, so the first one splits)."""
    name, equals, ref = text.partition("=")
    if not equals:
        raise RefError(f"{origin} {_shown(text)}: expected NAME=REF")
    return check_variable(name, f"{origin} {name}"), _parse_in(ref, f"{origin} {name}")


def parse_file_mapping(text: str, origin: str = "--file") -> FileTarget:
    """`PATH=REF`. A path may hold `=` and a secret id may too, so the split is at the first `=`
    followed by a source (`ssm:` or `secretsmanager:`)."""
    split = -1
    for source in SOURCES:
        found = text.find(f"={source}:")
        if found >= 0 and (split < 0 or found < split):
            split = found
    if split < 0:
        raise RefError(f"{origin} {_shown(text)}: expected PATH=REF (REF starting with ssm: or secretsmanager:)")
    path, ref = text[:split], text[split + 1:]
    return FileTarget(check_file_path(path, origin), _parse_in(ref, f"{origin} {path}"))


def check_file_path(path: str, origin: str) -> str:
    if not path:
        raise RefError(f"{origin}: the file path is empty")
    if len(path) > MAX_PATH_CHARS or "\0" in path:
        raise RefError(f"{origin}: the file path is too long or holds a NUL character")
    if path.endswith("/"):
        raise RefError(f"{origin} {path!r}: the path names a directory, not a file")
    return path


def check_parameter_path(path: str, origin: str) -> str:
    """A parameter hierarchy to load: starts with `/` (GetParametersByPath's rule)."""
    if not path.startswith("/") or any(ch.isspace() for ch in path) or len(path) > 2048:
        raise RefError(f"{origin} {_shown(path)}: a parameter path starts with '/' (e.g. /app/prod/)")
    return path


def _parse_in(ref: str, origin: str) -> Ref:
    try:
        return parse_ref(ref)
    except RefError as error:
        raise RefError(f"{origin}: {error}") from None


def variable_for(path: str, name: str) -> str:
    """The variable a parameter loaded from `path` fills, as chamber names it: the part of the
    name after the path, upper-cased, with `/`, `-` and `.` turned into `_`."""
    prefix = path if path.endswith("/") else path + "/"
    rest = name[len(prefix):] if name.startswith(prefix) else name.rsplit("/", 1)[-1]
    return rest.upper().replace("/", "_").replace("-", "_").replace(".", "_")


def mapping_variables(environ: Mapping[str, str]) -> list[str]:
    """The `PARAMSECRETS_*` mapping variables set in `environ` (removed from the child's)."""
    return [name for name in environ
            if name.startswith(ENV_PREFIX) or name in (FILES_ENV, PATH_ENV)]


def plan_from(environ: Mapping[str, str], env_flags: list[str], file_flags: list[str],
              path_flags: list[str]) -> Plan:
    """The plan from the environment's mapping variables, overridden by the flags.

    Every problem is collected and raised together (one RefError, one line each), so a user fixes
    a broken configuration in one go.
    """
    plan = Plan()
    problems: list[str] = []

    def attempt(action: Callable[..., None], *args: str) -> None:
        try:
            action(*args)
        except RefError as error:
            problems.append(str(error))

    def from_env_variable(variable: str) -> None:
        name = check_variable(variable[len(ENV_PREFIX):], variable)
        plan.env[name] = _parse_in(environ[variable], variable)

    def from_files_variable(text: str) -> None:
        for item in text.split(","):
            if item.strip():
                target = parse_file_mapping(item.strip(), FILES_ENV)
                plan.files = [t for t in plan.files if t.path != target.path] + [target]

    def from_paths(text: str, origin: str) -> None:
        for item in text.split(","):
            if item.strip():
                path = check_parameter_path(item.strip(), origin)
                if path not in plan.paths:
                    plan.paths.append(path)

    def from_env_flag(text: str) -> None:
        name, ref = parse_env_mapping(text)
        plan.env[name] = ref

    def from_file_flag(text: str) -> None:
        target = parse_file_mapping(text)
        plan.files = [t for t in plan.files if t.path != target.path] + [target]

    for variable in sorted(environ):
        if variable.startswith(ENV_PREFIX):
            attempt(from_env_variable, variable)
    attempt(from_files_variable, environ.get(FILES_ENV, ""))
    attempt(from_paths, environ.get(PATH_ENV, ""), PATH_ENV)
    for text in env_flags:
        attempt(from_env_flag, text)
    for text in file_flags:
        attempt(from_file_flag, text)
    for text in path_flags:
        attempt(from_paths, text, "--path")
    if len(plan.env) + len(plan.files) > MAX_MAPPINGS:
        problems.append(f"more than {MAX_MAPPINGS} variables and files to fill")
    if problems:
        raise RefError("\n".join(problems))
    return plan
