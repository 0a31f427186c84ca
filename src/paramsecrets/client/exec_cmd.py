"""`paramsecrets exec [--env NAME=REF]... [--file PATH=REF]... [--path PATH]... -- COMMAND [ARG...]`.

Reads every value through the running server (the client's port and token discovery), sets the
variables, writes the files, then replaces itself with COMMAND (`execvp`: same pid, no shell).
Nothing runs unless every value was read: otherwise one line per failed REF on stderr, naming it
and the error code the server gave (`X-Paramsecrets-Error`, also the detailed body's `__type`),
and a non-zero exit. No value is ever printed, logged or put in a message.

It is also the layer's Lambda exec wrapper (`/opt/paramsecrets/exec-wrapper`, set as
`AWS_LAMBDA_EXEC_WRAPPER`): the runtime's command line arrives as COMMAND, the mapping comes from
`PARAMSECRETS_*` variables, and a failure is also reported to the Runtime API as an init error,
so the console shows which REF stopped INIT.

Standard library only, and only what the client already imports (plus `_signal`): it runs on the
layer's bundled interpreter before the function's runtime, so each import adds to INIT.
"""

from __future__ import annotations

import os
import sys
from _collections_abc import Callable, Iterable, Mapping  # collections.abc imports collections: INIT path

from paramsecrets.client import (
    Client,
    ParamSecretsError,
    UnauthorizedError,
    UnavailableError,
)
from paramsecrets.client.exec_refs import (
    SSM,
    FileTarget,
    Plan,
    Ref,
    RefError,
    mapping_variables,
    plan_from,
    variable_for,
)
from paramsecrets.client.exit_codes import EXIT_ERROR, EXIT_NOT_FOUND, EXIT_USAGE
from paramsecrets.client.exit_codes import exit_code as client_exit_code
from paramsecrets.client.wire import RawConnection, loads

PROG = "paramsecrets exec"

EXIT_CANNOT_RUN = 126
EXIT_NOT_FOUND_COMMAND = 127

PARAMETER_NOT_FOUND = "ParameterNotFound"
SECRET_NOT_FOUND = "ResourceNotFoundException"

LAUNCHER_MARK = "_PARAMSECRETS_LAUNCHER"
"""Set by the layer's launcher, which changes two variables for the bundled interpreter and keeps
their original values in the `_PARAMSECRETS_SAVED_*` variables: exec puts them back for COMMAND."""
LAUNCHER_SAVED = {"LD_PRELOAD": "_PARAMSECRETS_SAVED_LD_PRELOAD", "LC_ALL": "_PARAMSECRETS_SAVED_LC_ALL"}

RUNTIME_API_ENV = "AWS_LAMBDA_RUNTIME_API"
INIT_ERROR_TYPE = "Paramsecrets.ExecError"
MAX_INIT_ERROR_CHARS = 4000

USAGE = f"""usage: {PROG} [--env NAME=REF]... [--file PATH=REF]... [--path PATH]... [--] COMMAND [ARG...]

Read values through the local paramsecrets server, put them in the environment and in files,
then run COMMAND in place of this process (no shell).

  REF                 ssm:NAME (decrypted; NAME may end in :VERSION or :LABEL, or be an ARN)
                      or secretsmanager:ID (name, ARN or partial ARN); #KEY takes one field
                      of a JSON value
  --env NAME=REF      set variable NAME to the value
  --file PATH=REF     write the value to PATH (atomically, mode 0600; its folder must exist)
  --path PATH         every parameter under PATH (recursive, decrypted) as a variable named
                      after the rest of its name: /app/prod/db-host -> DB_HOST

From the environment too (flags win): PARAMSECRETS_ENV_<NAME>=REF, PARAMSECRETS_FILES=PATH=REF,...,
PARAMSECRETS_PATH=/path/. These mapping variables are removed from COMMAND's environment.
Exit codes when COMMAND does not run: 2 usage, 3 not found, 4 access denied or bad token,
5 server unreachable, 1 anything else, 126/127 COMMAND cannot be run / not found."""


class _Usage(Exception):
    pass


class Failure:
    """One REF (or path, or file) that could not be filled: what, for whom, and the code."""

    def __init__(self, what: str, code: str, detail: str = "", error: ParamSecretsError | None = None) -> None:
        self.what = what
        self.code = code
        self.detail = detail
        self.error = error

    def line(self) -> str:
        return f"{PROG}: cannot read {self.what}: {self.code}" + (f" ({self.detail})" if self.detail else "")


# ---------------------------------------------------------------- arguments


def parse_arguments(argv: list[str]) -> tuple[list[str], list[str], list[str], list[str]]:
    """(env flags, file flags, path flags, command). Options stop at `--` or at the first word
    that is not an option, so COMMAND's own options are never read as ours."""
    flags: dict[str, list[str]] = {"--env": [], "--file": [], "--path": []}
    index = 0
    while index < len(argv):
        word = argv[index]
        if word == "--":
            index += 1
            break
        if word in ("-h", "--help"):
            raise SystemExit(0)
        name, equals, value = word.partition("=")
        if name in flags:
            if not equals:
                index += 1
                if index >= len(argv):
                    raise _Usage(f"{name} needs a value")
                value = argv[index]
            flags[name].append(value)
            index += 1
            continue
        if word.startswith("-"):
            raise _Usage(f"unknown option {word!r}")
        break
    command = argv[index:]
    if not command:
        raise _Usage("no COMMAND to run (put it after --)")
    return flags["--env"], flags["--file"], flags["--path"], command


# ---------------------------------------------------------------- reading


class Values:
    """What was read: each REF's raw value (str or bytes) and each path's parameters."""

    def __init__(self, refs: dict[Ref, str | bytes], paths: dict[str, dict[str, str]]) -> None:
        self.refs = refs
        self.paths = paths


def read_values(client: Client, plan: Plan) -> tuple[Values, list[Failure]]:
    """Every value of the plan in as few requests as the batch routes allow (get-many for the
    parameters, the secrets batch route for the secrets, get-by-path per path)."""
    failures: list[Failure] = []
    refs = plan.refs()
    values: dict[Ref, str | bytes] = {}
    parameters = _unique(ref.name for ref in refs if ref.source == SSM)
    secrets = _unique(ref.name for ref in refs if ref.source != SSM)
    found_parameters, parameter_errors = _batch(
        parameters, lambda names: client.get_parameters(names, decrypt=True), PARAMETER_NOT_FOUND)
    found_secrets, secret_errors = _batch(secrets, client.get_secrets, SECRET_NOT_FOUND)
    for ref in refs:
        found: Mapping[str, str | bytes] = found_parameters if ref.source == SSM else found_secrets
        errors = parameter_errors if ref.source == SSM else secret_errors
        if ref.name in found:
            values[ref] = found[ref.name]
        else:
            code, detail, error = errors[ref.name]
            failures.append(Failure(str(ref), code, detail, error))
    paths: dict[str, dict[str, str]] = {}
    for path in plan.paths:
        try:
            paths[path] = client.get_parameters_by_path(path, recursive=True, decrypt=True)
        except ParamSecretsError as error:
            failures.append(Failure(f"--path {path}", *_reason(error), error))
    return Values(values, paths), failures


Found = dict[str, str | bytes]
Errors = dict[str, tuple[str, str, ParamSecretsError | None]]
GetMany = Callable[[list[str]], Mapping[str, str | bytes]]


def _batch(names: list[str], get_many: GetMany, not_found: str) -> tuple[Found, Errors]:
    """Read `names` with one batch call; when the batch fails as a whole, read each name alone
    so every failure is pinned on its own name (a bad name makes AWS refuse the whole batch)."""
    found: Found = {}
    errors: Errors = {}
    if not names:
        return found, errors
    try:
        found.update(get_many(names))
    except ParamSecretsError as error:
        if len(names) == 1 or isinstance(error, UnavailableError | UnauthorizedError):
            # Nothing listening, or no valid token: the same answer for every name.
            errors.update({name: (*_reason(error), error) for name in names})
            return found, errors
        for name in names:
            one, one_errors = _batch([name], get_many, not_found)
            found.update(one)
            errors.update(one_errors)
        return found, errors
    for name in names:
        if name not in found:
            errors[name] = (not_found, "", None)
    return found, errors


def _reason(error: ParamSecretsError) -> tuple[str, str]:
    """(code, detail) for a failure line: the server's error code, else the status."""
    code = error.code or (f"HTTP {error.status}" if error.status else type(error).__name__)
    return code, error.message if error.message != error.default_message else ""


def _unique(names: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(names))


# ---------------------------------------------------------------- shaping


def _field(ref: Ref, value: str | bytes) -> str | bytes:
    """The value of a REF: the whole value, or one top-level field of a JSON object (a string
    as is, anything else as JSON). ValueError names the problem, never the value."""
    if ref.key is None:
        return value
    try:
        data = loads(value)
    except (ValueError, UnicodeDecodeError):
        raise ValueError("NotJson (the value is not JSON)") from None
    if not isinstance(data, dict):
        raise ValueError("NotJsonObject (the value is JSON but not an object)")
    if ref.key not in data:
        raise ValueError(f"KeyNotFound (no field {ref.key!r} in the JSON value)")
    item = data[ref.key]
    if isinstance(item, str):
        return item
    import json

    return json.dumps(item, ensure_ascii=False)


def _text(value: str | bytes) -> str:
    """A value as an environment variable: text without NUL (a binary secret must be UTF-8)."""
    if isinstance(value, bytes):
        try:
            value = value.decode("utf-8")
        except UnicodeDecodeError:
            raise ValueError("BinaryValue (a binary secret that is not UTF-8 text cannot be a variable; "
                             "use --file)") from None
    if "\0" in value:
        raise ValueError("NulInValue (a variable cannot hold a NUL character; use --file)")
    return value


def child_environment(environ: Mapping[str, str], plan: Plan, values: Values) -> tuple[dict[str, str], list[Failure]]:
    """COMMAND's environment: ours without the mapping variables (and with what the layer's
    launcher changed put back), then the path parameters, then the explicit variables."""
    env = {name: value for name, value in environ.items() if name not in set(mapping_variables(environ))}
    if env.pop(LAUNCHER_MARK, None) is not None:
        for variable, saved in LAUNCHER_SAVED.items():
            env.pop(variable, None)
            if saved in env:
                env[variable] = env[saved]
    for saved in LAUNCHER_SAVED.values():
        env.pop(saved, None)
    failures: list[Failure] = []
    for path in plan.paths:
        for name, value in sorted(values.paths.get(path, {}).items()):
            variable = variable_for(path, name)
            if not variable or "\0" in value:
                failures.append(Failure(f"ssm:{name} (from --path {path})", "NotAVariable",
                                        "its name gives no variable name or its value holds NUL"))
                continue
            if variable not in plan.env:
                env[variable] = value
    for variable, ref in plan.env.items():
        try:
            env[variable] = _text(_field(ref, values.refs[ref]))
        except ValueError as error:
            code, _, detail = str(error).partition(" ")
            failures.append(Failure(f"{ref} (for {variable})", code, detail.strip("()")))
    return env, failures


# ---------------------------------------------------------------- files


def write_files(targets: list[FileTarget], values: Values) -> list[Failure]:
    """Write every file or none: each goes to a 0600 temporary file beside its target first, and
    only when all are written are they renamed over their targets (atomic per file)."""
    staged: list[tuple[str, str]] = []
    failures: list[Failure] = []
    for target in targets:
        try:
            data = _field(target.ref, values.refs[target.ref])
        except ValueError as error:
            code, _, detail = str(error).partition(" ")
            failures.append(Failure(f"{target.ref} (for {target.path})", code, detail.strip("()")))
            continue
        raw = data.encode("utf-8", "surrogateescape") if isinstance(data, str) else data
        try:
            staged.append((_stage(target.path, raw), target.path))
        except OSError as error:
            failures.append(Failure(f"{target.ref} (for {target.path})", "CannotWriteFile",
                                    f"{error.strerror or type(error).__name__}: {target.path}"))
    if failures:
        _discard(staged)
        return failures
    for done, (temporary, path) in enumerate(staged):
        try:
            os.replace(temporary, path)
        except OSError as error:
            _discard(staged[done:])
            return [Failure(path, "CannotWriteFile", f"{error.strerror or type(error).__name__}: {path}")]
    return []


def _stage(path: str, data: bytes) -> str:
    folder, _, name = path.rpartition("/")
    folder = folder or ("/" if path.startswith("/") else ".")
    if not os.path.isdir(folder):
        raise FileNotFoundError(2, "its folder does not exist")
    temporary = os.path.join(folder, f".{name}.paramsecrets-{os.getpid()}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_TRUNC | getattr(os, "O_CLOEXEC", 0), 0o600)
    try:
        os.fchmod(fd, 0o600)  # whatever the umask
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        os.unlink(temporary)
        raise
    os.close(fd)
    return temporary


def _discard(staged: list[tuple[str, str]]) -> None:
    for temporary, _ in staged:
        try:  # noqa: SIM105 (contextlib would be one more import on the INIT path)
            os.unlink(temporary)
        except OSError:
            pass


# ---------------------------------------------------------------- the command


def exit_code(failures: list[Failure]) -> int:
    """The client's exit codes, from the first failure that names one (see paramsecrets.client.exit_codes)."""
    for failure in failures:
        if failure.code in (PARAMETER_NOT_FOUND, SECRET_NOT_FOUND):
            return EXIT_NOT_FOUND
        code = client_exit_code(failure.error) if failure.error is not None else EXIT_ERROR
        if code != EXIT_ERROR:
            return code
    return EXIT_ERROR


def main(argv: list[str], environ: Mapping[str, str] | None = None) -> int:
    """Returns only when COMMAND did not run (its exit code); on success the process is COMMAND."""
    env_in = os.environ if environ is None else environ
    try:
        env_flags, file_flags, path_flags, command = parse_arguments(argv)
        plan = plan_from(env_in, env_flags, file_flags, path_flags)
        client = Client(environ=env_in)
        client._connect = RawConnection  # no http.client (nor email) on the INIT path
        client._loads = loads  # nor json (nor re)
    except SystemExit:
        print(USAGE)
        return 0
    except (_Usage, RefError, ValueError) as error:
        lines = [f"{PROG}: error: {line}" for line in str(error).splitlines()]
        return _fail(lines, EXIT_USAGE, env_in, usage=isinstance(error, _Usage))
    try:
        values, failures = read_values(client, plan) if not plan.empty else (Values({}, {}), [])
    finally:
        client.close()
    child_env: dict[str, str] = {}
    if not failures:
        child_env, failures = child_environment(env_in, plan, values)
    if not failures:
        failures = write_files(plan.files, values)
    if failures:
        return _fail([failure.line() for failure in failures], exit_code(failures), env_in)
    return _run(command, child_env)


def _run(command: list[str], env: dict[str, str]) -> int:
    import _signal  # type: ignore[import-not-found]  # `signal` wraps it in enums: more imports at INIT

    # Python ignores SIGPIPE and SIGXFSZ; an ignored signal stays ignored across exec.
    for name in ("SIGPIPE", "SIGXFSZ"):
        if hasattr(_signal, name):
            _signal.signal(getattr(_signal, name), _signal.SIG_DFL)
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        os.execvpe(command[0], command, env)
    except OSError as error:
        missing = isinstance(error, FileNotFoundError)
        print(f"{PROG}: cannot run {command[0]!r}: {error.strerror or type(error).__name__}", file=sys.stderr)
        return EXIT_NOT_FOUND_COMMAND if missing else EXIT_CANNOT_RUN
    return EXIT_ERROR  # not reached: execvpe returns only by raising


def _fail(lines: list[str], code: int, environ: Mapping[str, str], usage: bool = False) -> int:
    """Print the lines (and where Lambda runs us during INIT, report them as an init error)."""
    if usage:
        lines.append(f"usage: {PROG} [--env NAME=REF]... [--file PATH=REF]... [--path PATH]... -- COMMAND [ARG...]")
    for line in lines:
        print(line, file=sys.stderr)
    sys.stderr.flush()
    api = environ.get(RUNTIME_API_ENV)
    if api:
        report_init_error(api, lines)
    return code


def report_init_error(api: str, lines: list[str]) -> bool:
    """POST /runtime/init/error, as a runtime does when its INIT fails, so Lambda records why
    (the lines name REFs and codes, never values). False when the Runtime API refused or is gone."""
    import http.client
    import json

    host, _, port = api.rpartition(":")
    message = "; ".join(lines)
    if len(message) > MAX_INIT_ERROR_CHARS:
        message = message[:MAX_INIT_ERROR_CHARS] + f"... ({len(lines)} lines in all; the log has every one)"
    body = json.dumps({"errorMessage": message, "errorType": INIT_ERROR_TYPE, "stackTrace": []})
    try:
        conn = http.client.HTTPConnection(host or api, int(port) if port.isdigit() else 80, timeout=5)
        try:
            conn.request("POST", "/2018-06-01/runtime/init/error", body=body.encode(),
                         headers={"Lambda-Runtime-Function-Error-Type": INIT_ERROR_TYPE,
                                  "Content-Type": "application/json"})
            return 200 <= conn.getresponse().status < 300
        finally:
            conn.close()
    except (OSError, http.client.HTTPException, ValueError):
        return False
