"""`paramsecrets dev [--seed FILE] [--port N] [--token T] [--log-level L]`.

What `make dev` runs for a newcomer, so the order is chosen for them: everything that can be wrong
(seed file, settings, port, token) is checked in milliseconds before the slow moto import, and the
banner ends with commands that work when pasted. Then the ordinary server (`boot.main`) runs in
this process against the backend, until Ctrl-C.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shlex
import shutil
import socket
import sys
from collections.abc import Mapping
from importlib import resources
from urllib.parse import quote

from paramsecrets.api.tokens import MIN_TOKEN_LENGTH
from paramsecrets.dev.seed import PREVIOUS, Seed, SeedError

PROG = "paramsecrets dev"
TOKEN_HEADER = "X-Aws-Parameters-Secrets-Token"
LIST_LIMIT = 20  # entries listed per kind in the banner; a big seed should not bury the curl lines


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Run the paramsecrets server against an embedded AWS backend (moto) seeded from a TOML "
                    "file: no AWS account needed. Ctrl-C stops it.")
    parser.add_argument("--seed", metavar="FILE", help="seed file (TOML); default: the packaged example")
    parser.add_argument("--port", metavar="N", help="HTTP port (default: 2773, or "
                                                    "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT)")
    parser.add_argument("--token", metavar="T", help="the token clients must send (default: a new random one)")
    parser.add_argument("--log-level", metavar="L", help="debug, info, warn, error or none (default: info)")
    return parser


def say(message: str) -> None:
    print(f"{PROG}: {message}", flush=True)


def fail(message: str, code: int = 2) -> int:
    print(f"{PROG}: {message}", file=sys.stderr, flush=True)
    return code


def load_seed(path: str | None) -> Seed:
    """The given seed file, or the example packaged beside this module."""
    from paramsecrets.dev import seed

    if path is not None:
        return seed.load(path)
    example = resources.files("paramsecrets.dev").joinpath("example.toml")
    return seed.parse(example.read_bytes(), str(example))


def token_problem(token: str) -> str | None:
    """A token the server could not compare with a header value, or would treat as a file."""
    if not token:
        return "--token is empty"
    if not all(33 <= ord(char) <= 126 for char in token):
        return "--token must be printable ASCII without spaces (it travels in an HTTP header)"
    if token.startswith("file://"):
        return "--token takes the token itself, not a file:// reference"
    if len(token) < MIN_TOKEN_LENGTH:
        return f"--token must have at least {MIN_TOKEN_LENGTH} characters (a guessable token protects nothing)"
    return None


def port_problem(port: int) -> str | None:
    """Bind the port as the server will, so a busy port is reported before moto's slow start.

    The server checks again when it binds (and reports it); this only saves the newcomer the wait.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
            sock.listen(1)
        except OSError as error:
            return f"cannot listen on 127.0.0.1:{port}: {error.strerror}"
    return None


def main(argv: list[str]) -> int:
    """`paramsecrets dev` (argv: the arguments after `dev`). 0 after Ctrl-C; 2 for anything the
    user can fix (seed, settings, token, port, missing moto); the server's own code otherwise."""
    args = _parser().parse_args(argv)  # usage errors: argparse prints them and exits 2
    from paramsecrets import config

    try:
        seed = load_seed(args.seed)
    except SeedError as error:
        return fail(f"\n{PROG}: ".join(f"seed error: {problem}" for problem in error.problems))
    try:
        settings = config.load(os.environ, {"http_port": args.port, "log_level": args.log_level})
    except config.ConfigError as error:
        return fail(f"configuration error: {error}")
    token = args.token if args.token is not None else secrets.token_urlsafe(24)
    problem = token_problem(token)
    if problem:
        return fail(problem)
    port = settings.http_port
    problem = port_problem(port)
    if problem:
        source = {"env": " (from PARAMETERS_SECRETS_EXTENSION_HTTP_PORT)", "file": " (from the config file)"}
        return fail(f"{problem}{source.get(settings.sources.get('http_port', ''), '')}.\n"
                    f"Is another paramsecrets (or the AWS extension) running there? Pick a free port with --port N "
                    f"(with make: make dev PORT=N).")
    from paramsecrets.dev import backend

    problem = backend.missing_problem()
    if problem:
        return fail(problem)
    return _run(seed, args.seed is None, settings.token_env[0], token, port, args.log_level)


def _run(seed: Seed, packaged: bool, token_variable: str, token: str, port: int, log_level: str | None) -> int:
    source = "the packaged example seed" if packaged else _short(seed.source)
    say(f"starting the embedded AWS backend (moto) and seeding it from {source} ...")
    from paramsecrets.dev import backend

    try:
        running = backend.start()
    except backend.BackendError as error:
        return fail(str(error))
    except KeyboardInterrupt:  # Ctrl-C during the slow import
        return fail("interrupted", 130)
    try:
        backend.apply_environment(backend.environment(os.environ, running.url, token_variable, token))
        backend.apply_seed(running.url, seed)
        print(banner(seed, running.url, running.moto_version, port, token, token_variable, packaged,
                     client_command()), flush=True)
        from paramsecrets.process import boot

        serve_args = ["serve", "--port", str(port)] + (["--log-level", log_level] if log_level else [])
        code = boot.main(serve_args)  # blocks until SIGINT/SIGTERM; reports its own errors
    except backend.SeedingError as error:
        return fail(f"seed error: {error}")
    except KeyboardInterrupt:  # Ctrl-C before the server took over the signal
        return fail("interrupted", 130)
    finally:
        running.stop()
    if code != 0:
        return fail(f"the server exited with code {code} (its reason is above); the embedded backend is stopped too.",
                    code)
    say("stopped; the embedded backend and everything in it are gone.")
    return 0


def client_command(environ: Mapping[str, str] | None = None, executable: str | None = None) -> str:
    """How the user's shell runs this very installation of paramsecrets.

    `paramsecrets` when that name on PATH is this installation's script; else the script's path
    (`.venv/bin/paramsecrets` after `make dev`, which does not put the venv on PATH); else
    `python -m paramsecrets` with this interpreter.
    """
    environ = os.environ if environ is None else environ
    interpreter = executable or sys.executable
    script = os.path.join(os.path.dirname(interpreter), "paramsecrets")
    if not os.access(script, os.X_OK):
        return f"{shlex.quote(_short(interpreter))} -m paramsecrets"
    found = shutil.which("paramsecrets", path=environ.get("PATH", ""))
    if found and os.path.realpath(found) == os.path.realpath(script):
        return "paramsecrets"
    return shlex.quote(_short(script))


def _short(path: str) -> str:
    """The seed's path relative to the working directory when that is shorter."""
    try:
        relative = os.path.relpath(path)
    except ValueError:
        return path
    return relative if len(relative) < len(path) else path


# --- the banner ----------------------------------------------------------------------------------

def banner(seed: Seed, backend_url: str, moto_version: str, port: int, token: str, token_variable: str,
           packaged: bool = False, command: str = "paramsecrets") -> str:
    """What dev mode prints before serving: where things are, what was seeded (names, never values),
    and commands to paste (`command` is how to run paramsecrets from the user's shell)."""
    from paramsecrets.dev.backend import ACCESS_KEY_ID, ACCOUNT, REGION, SECRET_ACCESS_KEY

    lines = [
        "",
        "paramsecrets dev: the server answers from an embedded AWS backend (moto), seeded from a file.",
        "No AWS account is used and nothing leaves this machine.",
        "",
        f"  server   http://127.0.0.1:{port}",
        f"  token    {token}   (send it in the {TOKEN_HEADER} header)",
        f"  backend  {backend_url}   (moto {moto_version}, region {REGION}, account {ACCOUNT})",
        f"  seed     {seed.source}" + ("   (the packaged example: copy it to start your own)" if packaged else ""),
        "",
    ]
    lines += _inventory(seed)
    commands = curl_lines(seed, port, token)
    if commands:
        lines += ["", "Try it from another terminal:"]
        for title, curl_command in commands:
            lines += [f"  {title}", f"    {curl_command}"]
    lines += ["", "Or with the paramsecrets client (or your code), in that terminal:",
              f"    export {token_variable}={shlex.quote(token)}"]
    if port != 2773:
        lines.append(f"    export PARAMETERS_SECRETS_EXTENSION_HTTP_PORT={port}")
    strings = [p for p in seed.parameters if p.type == "String"]
    if strings:
        lines.append(f"    {command} get-parameter {shlex.quote(strings[0].name)}")
    if seed.secrets:
        lines.append(f"    {command} get-secret {shlex.quote(seed.secrets[0].name)}")
    url = f"http://127.0.0.1:{port}"
    lines += ["", "Or with an AWS SDK or the AWS CLI, unchanged (cached through paramsecrets): sign with dev mode's",
              "credentials, the ones paramsecrets holds (any others are refused; docs/sdk.md):",
              f"    export AWS_ENDPOINT_URL_SSM={url} AWS_ENDPOINT_URL_SECRETS_MANAGER={url}",
              f"    export AWS_ACCESS_KEY_ID={ACCESS_KEY_ID} AWS_SECRET_ACCESS_KEY={SECRET_ACCESS_KEY}",
              f"    export AWS_REGION={REGION} AWS_DEFAULT_REGION={REGION}; unset AWS_SESSION_TOKEN AWS_PROFILE"]
    if strings:
        lines.append(f"    aws ssm get-parameter --name {shlex.quote(strings[0].name)}")
    lines += ["", "Answers are cached (300 s by default); add &refreshNow=true to the URL to read the backend again.",
              "Ctrl-C stops the server and the backend; the backend keeps nothing.", ""]
    return "\n".join(lines)


def _inventory(seed: Seed) -> list[str]:
    """Names with their kind, versions and labels: enough to know what to ask for."""
    rows: list[tuple[str, str]] = []
    lines: list[str] = []
    rows_by_kind: list[tuple[str, list[tuple[str, str]]]] = []
    for parameter in seed.parameters:
        detail = parameter.type
        if len(parameter.versions) > 1:
            detail += f", {len(parameter.versions)} versions"
        if parameter.labels:
            detail += ", labels " + " ".join(f"{label}={version}" for label, version in parameter.labels)
        rows.append((parameter.name, detail))
    rows_by_kind.append((_count(len(seed.parameters), "parameter"), rows))
    rows = []
    for secret in seed.secrets:
        kind = secret.current.kind
        detail = {"json": "JSON", "string": "string", "binary": "binary"}[kind]
        if len(secret.versions) > 1:
            stages = sorted(secret.final_stages().items(), key=lambda item: (item[1], item[0]))
            detail += f", {len(secret.versions)} versions: " + " ".join(f"{stage}={index + 1}"
                                                                        for stage, index in stages)
        rows.append((secret.name, detail))
    rows_by_kind.append((_count(len(seed.secrets), "secret"), rows))
    width = min(48, max((len(name) for _, kind_rows in rows_by_kind for name, _ in kind_rows), default=0))
    for title, kind_rows in rows_by_kind:
        lines.append(f"  {title}")
        for name, detail in kind_rows[:LIST_LIMIT]:
            lines.append(f"    {name:<{width}}  {detail}")
        if len(kind_rows) > LIST_LIMIT:
            lines.append(f"    ... and {len(kind_rows) - LIST_LIMIT} more")
    return lines


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" + ("" if number == 1 else "s")


def curl_lines(seed: Seed, port: int, token: str) -> list[tuple[str, str]]:
    """(title, command) pairs reading seeded entries, one of each kind the seed has."""
    base = f"http://127.0.0.1:{port}"
    header = shlex.quote(f"{TOKEN_HEADER}: {token}")

    def curl(route: str, **query: str | list[str]) -> str:
        pairs = [(key, item) for key, value in query.items() for item in ([value] if isinstance(value, str) else value)]
        target = route + "?" + "&".join(f"{key}={quote(value, safe='')}" for key, value in pairs)
        return f"curl -sS -H {header} {shlex.quote(base + target)}"

    get = "/systemsmanager/parameters/get"
    out: list[tuple[str, str]] = []
    plain = [p for p in seed.parameters if p.type != "SecureString"]
    if plain:
        out.append((f"a {plain[0].type} parameter", curl(get, name=plain[0].name)))
    secure = next((p for p in seed.parameters if p.type == "SecureString"), None)
    if secure:
        out.append(("a SecureString, decrypted", curl(get, name=secure.name, withDecryption="true")))
    versioned = next((p for p in seed.parameters if len(p.versions) > 1), None)
    if versioned:
        decrypt = {"withDecryption": "true"} if versioned.type == "SecureString" else {}
        out.append(("an older version of a parameter",
                    curl(get, name=versioned.name, version=str(len(versioned.versions) - 1), **decrypt)))
    labelled = next((p for p in seed.parameters if p.labels), None)
    if labelled:
        decrypt = {"withDecryption": "true"} if labelled.type == "SecureString" else {}
        out.append((f"a parameter by label ({labelled.labels[0][0]})",
                    curl(get, name=labelled.name, label=labelled.labels[0][0], **decrypt)))
    if len(plain) >= 2:
        out.append(("several parameters at once",
                    curl("/systemsmanager/parameters/get-many", name=[p.name for p in plain[:3]])))
    hierarchical = next((p for p in seed.parameters if p.name.startswith("/")), None)
    if hierarchical:
        top = "/" + hierarchical.name.split("/")[1]
        decrypt = {"withDecryption": "true"} if any(p.type == "SecureString" and p.name.startswith(top + "/")
                                                    for p in seed.parameters) else {}
        out.append((f"every parameter under {top}",
                    curl("/systemsmanager/parameters/get-by-path", path=top, **decrypt)))
    if seed.secrets:
        secret = next((s for s in seed.secrets if s.current.kind == "json"), seed.secrets[0])
        out.append(("a secret", curl("/secretsmanager/get", secretId=secret.name)))
    rotated = next((s for s in seed.secrets if PREVIOUS in s.final_stages()), None)
    if rotated:
        out.append(("the previous version of a secret",
                    curl("/secretsmanager/get", secretId=rotated.name, versionStage=PREVIOUS)))
    return out
