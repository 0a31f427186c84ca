"""`paramsecrets serve`: bind, register with Lambda (if there), validate, then import and serve.

The order is the cold-start design. Binding first means a function's INIT-phase request waits in
the listen backlog instead of being refused. Registering before importing anything heavy means
Lambda can start the runtime at once (everything an extension does before `register` adds to
every cold start). Configuration errors found afterwards are reported through init/error so the
function fails with a readable reason.
"""

from __future__ import annotations

import _socket
import os
import sys
import time

STARTED = time.monotonic()
"""When boot was first imported, a few ms after the process started: under Lambda, INIT's start."""

TYPE_CHECKING = False  # typing costs an import of `re` before `register`; mypy reads this name as true
if TYPE_CHECKING:
    from typing import Any

USAGE = "usage: paramsecrets serve [--config FILE] [--port N] [--listen ADDRESS] [--log-level LEVEL]"
HELP = USAGE + """

Run the cache server: answers on http://127.0.0.1:2773 (and ::1) from an in-memory cache, fetching
from SSM Parameter Store and Secrets Manager on a miss. Under Lambda (AWS_LAMBDA_RUNTIME_API set) it
registers as an extension. SIGTERM or SIGINT stops it cleanly (exit 0).

options:
  --config FILE          TOML configuration file (or PARAMETERS_SECRETS_EXTENSION_CONFIG_FILE)
  --port N               HTTP port, default 2773 (or PARAMETERS_SECRETS_EXTENSION_HTTP_PORT)
  --listen ADDRESS       listen on this IP address (0.0.0.0, ::, 10.0.0.5) instead of loopback, for a
                         container sidecar (or PARAMETERS_SECRETS_EXTENSION_LISTEN_ADDRESS); needs an
                         explicit token of 16+ characters whose value is no AWS credential
  --log-level LEVEL      debug, info, warn, error or none; default info
                         (or PARAMETERS_SECRETS_EXTENSION_LOG_LEVEL)
  --extension-name NAME  the name to register with Lambda (default: this program's file name)
  -h, --help             show this help

The token clients must send comes from AWS_TOKEN, AWS_SESSION_TOKEN or
AWS_CONTAINER_AUTHORIZATION_TOKEN (a value file:///path reads a file). More ports (Cloud
Extensions' 5333): PARAMETERS_SECRETS_EXTENSION_EXTRA_PORTS. Every setting and its variable:
`paramsecrets config check`."""
DEFAULT_PORT = 2773
PORT_ENV = "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT"
LISTEN_ENV = "PARAMETERS_SECRETS_EXTENSION_LISTEN_ADDRESS"
CONFIG_ENV = "PARAMETERS_SECRETS_EXTENSION_CONFIG_FILE"
EXTRA_PORTS_ENV = "PARAMETERS_SECRETS_EXTENSION_EXTRA_PORTS"
OPTIONS = ("--config", "--port", "--listen", "--log-level", "--extension-name")
LOW_PRIORITY = 10  # nice value of the start-up import thread where SCHED_IDLE is refused
NEXT_SENT_WAIT_S = 1.0  # at most this long for the first event/next to be sent before the imports
IMPORT_SWITCH_INTERVAL_S = 0.0002  # GIL hand-over while importing (Python's default: 5 ms)


class UsageError(Exception):
    pass


def parse_args(argv: list[str]) -> dict[str, str]:
    """`serve` options, by hand: argparse costs ~15 ms of CPU before registration."""
    args: dict[str, str] = {}
    items = list(argv)
    if items and items[0] == "serve":
        items.pop(0)
    while items:
        item = items.pop(0)
        if item in ("-h", "--help"):
            raise UsageError(HELP)
        name, equals, value = item.partition("=")
        if name not in OPTIONS:
            raise UsageError(f"unknown option {item!r}\n{USAGE}")
        if not equals:
            if not items:
                raise UsageError(f"{name} needs a value\n{USAGE}")
            value = items.pop(0)
        args[name[2:]] = value
    return args


def _early_value(args: dict[str, str], environ: os._Environ[str] | dict[str, str], flag: str, env: str,
                 key: str, default: str) -> str | None:
    """A setting needed before full validation (flag > environment > file > default); None if the
    file cannot be read (full validation reports why)."""
    raw = args.get(flag) or environ.get(env)
    if raw is not None:
        return raw
    path = args.get("config") or environ.get(CONFIG_ENV)
    if not path:
        return default
    try:
        import tomllib

        with open(path, "rb") as handle:
            return str(tomllib.load(handle).get(key, default))
    except (OSError, ValueError):
        return None


def early_port(args: dict[str, str], environ: os._Environ[str] | dict[str, str]) -> int | None:
    """The port to bind before full validation; None if it is not a valid number (reported later)."""
    raw = _early_value(args, environ, "port", PORT_ENV, "http_port", str(DEFAULT_PORT))
    raw = (raw or "").strip()
    if raw.isdigit() and 0 < int(raw) < 65536:
        return int(raw)
    return None


def early_address(args: dict[str, str], environ: os._Environ[str] | dict[str, str]) -> str | None:
    """The address to bind before full validation ("" is loopback); None if invalid (reported later)."""
    raw = _early_value(args, environ, "listen", LISTEN_ENV, "listen_address", "")
    if raw == "":
        return ""  # the usual case: no import before `register`
    from paramsecrets.config import ip_address

    try:
        return ip_address(raw)
    except ValueError:
        return None


def early_extra_ports(args: dict[str, str], environ: os._Environ[str] | dict[str, str]) -> tuple[int, ...] | None:
    """The extra ports to bind before full validation (Cloud Extensions' 5333, ...); None if the
    setting is not a valid list (config.py reports why)."""
    raw = _early_value(args, environ, "extra-ports", EXTRA_PORTS_ENV, "extra_ports", "")
    if raw is None:
        return None
    items = [item.strip() for item in raw.strip().strip("[]").split(",") if item.strip()]
    if not all(item.isdigit() and 0 < int(item) < 65536 for item in items):
        return None
    return tuple(int(item) for item in items)


def bind_all(port: int, address: str, extra_ports: tuple[int, ...],
             in_lambda: bool = False) -> tuple[list[_socket.socket], str | None]:
    """Listening sockets for the main port and every extra port, or ([], the first failure, naming
    the port): all are bound before `register`, so each answers from the first moment."""
    from paramsecrets.process.listen import bind

    sockets, error = bind(port, address, in_lambda)
    for extra in extra_ports:
        if error:
            break
        if extra == port:
            error = f"{EXTRA_PORTS_ENV}: port {extra} is already the main port"
            break
        more, error = bind(extra, address, in_lambda)
        if error:
            error = f"{EXTRA_PORTS_ENV}: {error}"
        sockets += more
    if error:
        for sock in sockets:
            sock.close()
        return [], error
    return sockets, None


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        args = parse_args(argv)
    except UsageError as error:
        if str(error) == HELP:
            print(error)
            return 0
        print(error, file=sys.stderr)
        return 2
    environ = os.environ
    port = early_port(args, environ)
    address = early_address(args, environ)
    extra_ports = early_extra_ports(args, environ)
    if port and address is not None and extra_ports is not None:
        in_lambda = bool(environ.get("AWS_LAMBDA_RUNTIME_API"))
        sockets, bind_error = bind_all(port, address, extra_ports, in_lambda)
    else:
        sockets, bind_error = [], None
    extension = None
    register_cpu_ms = 0.0
    if environ.get("AWS_LAMBDA_RUNTIME_API"):
        from paramsecrets.process.lambda_ext import ExtensionsApi, ExtensionsApiError, extension_name

        extension = ExtensionsApi(environ["AWS_LAMBDA_RUNTIME_API"], args.get("extension-name") or extension_name())
        try:
            extension.register()
        except ExtensionsApiError as error:
            print(f"[paramsecrets] {time.strftime('%Y/%m/%d %H:%M:%S')} ERROR {error}", flush=True)
            return 1
        register_cpu_ms = time.process_time() * 1000
    return _configure_and_serve(args, environ, sockets, bind_error, (port, address, extra_ports), extension,
                                register_cpu_ms)


def _configure_and_serve(args: dict[str, str], environ: os._Environ[str], sockets: list[_socket.socket],
                         bind_error: str | None, bound: tuple[int | None, str | None, tuple[int, ...] | None],
                         extension: object | None, register_cpu_ms: float) -> int:
    from paramsecrets import config, log
    from paramsecrets.api import tokens

    try:
        settings, token, aws, client_key = _configuration(args, environ, bind_error, bound)
    except (config.ConfigError, tokens.TokenError) as error:
        message = f"configuration error: {error}"
        if extension is not None:  # Lambda: the log is what CloudWatch keeps; stderr is a terminal's
            log.error("%s", message)
            from paramsecrets.process.lambda_ext import ExtensionsApiError

            try:
                extension.report_error("init", "Extension.ConfigError", message)  # type: ignore[attr-defined]
            except ExtensionsApiError as report_error:
                log.error("could not report the error to Lambda: %s", report_error)
            return 1
        print(f"paramsecrets: {message}", file=sys.stderr)
        return 2
    lifecycle = None
    if extension is not None:
        from paramsecrets.process.lambda_ext import Lifecycle, start_event_thread

        log.debug("registered as %s; register sent after %.1f ms CPU", extension.name,  # type: ignore[attr-defined]
                  register_cpu_ms)
        lifecycle = Lifecycle(STARTED)
        wait_first_next = start_event_thread(extension, lifecycle,  # type: ignore[arg-type]
                                             lambda message: log.error("%s", message))
    if "ssl" not in sys.modules:
        # asyncio imports Python's ssl (libssl + libcrypto, ~4.5 MiB of RSS) for TLS servers we never
        # run; AWS calls use awscrt's own TLS. Dev mode has imported ssl already (moto) and keeps it.
        sys.modules["ssl"] = None  # type: ignore[assignment]
    if lifecycle is not None:
        wait_first_next(NEXT_SENT_WAIT_S)  # INIT ends at our first `next`: send it before importing
    from paramsecrets.process.deferred import SERVE_DEFERRED, defer

    defer(SERVE_DEFERRED)  # inspect, subprocess: named by asyncio, loaded only if ever used
    if lifecycle is not None and not exec_waits_for_us(environ):
        import_at_low_priority()
    # else (exec): the exec wrapper holds the runtime back until we answer, so nothing competes with
    # the imports and a low priority would only let other tenants' work delay INIT.
    from paramsecrets.process.app import run

    return run(settings, token, aws, sockets, lifecycle, client_key)


def _configuration(args: dict[str, str], environ: os._Environ[str], bind_error: str | None,
                   bound: tuple[int | None, str | None, tuple[int, ...] | None]) -> tuple[Any, Any, Any, Any]:
    """(settings, token, AWS settings, client key), or one ConfigError listing every problem found.

    A port that could not be bound is one problem among the others, not a reason to stop looking:
    with 2773 taken and no token, both are said in one run.
    """
    from paramsecrets import config, log
    from paramsecrets.api import clientkey, tokens
    from paramsecrets.aws.settings import resolve_aws

    problems: list[config.ConfigError] = []
    settings = token = aws = client_key = None
    try:
        settings = config.load(environ, {"http_port": args.get("port"), "listen_address": args.get("listen"),
                                         "log_level": args.get("log-level")}, args.get("config"))
        log.configure(settings.log_level)
    except config.ConfigError as error:
        problems += error.problems
    if bind_error:
        variable = EXTRA_PORTS_ENV if bind_error.startswith(EXTRA_PORTS_ENV) else PORT_ENV
        problems.append(config.ConfigError(variable, bind_error))
    elif settings is not None and (settings.http_port, settings.listen_address, settings.extra_ports) != bound:
        where = settings.listen_address or "loopback"
        problems.append(config.ConfigError(PORT_ENV, f"port {settings.http_port} on {where} could not be bound early"))
    if settings is not None:
        try:
            token = tokens.resolve(settings.token_env, environ)
            _check_exposure(settings.listen_address, token)
        except config.ConfigError as error:
            problems += error.problems
        except tokens.TokenError as error:
            problems.append(config.ConfigError(error.variable, str(error)))
        try:
            client_key = clientkey.resolve(settings, environ)
        except config.ConfigError as error:
            problems += error.problems
        try:
            aws = resolve_aws(environ, settings.http_port, settings.listen_address)
        except config.ConfigError as error:
            problems += error.problems
    config.raise_all(problems)
    return settings, token, aws, client_key


def _check_exposure(address: str, token: object) -> None:
    """A non-loopback listener needs a token fit for a network (see paramsecrets.process.listen)."""
    if not address:
        return
    from paramsecrets.config import ConfigError
    from paramsecrets.process.listen import exposure_problem, is_loopback

    problem = exposure_problem(address, token.variable, token.value())  # type: ignore[attr-defined]
    if problem:
        raise ConfigError(LISTEN_ENV, problem)
    if not is_loopback(address):
        from paramsecrets import log

        log.info("listening on %s, beyond loopback: every data route needs the token, the SDK protocol's "
                 "included; plain HTTP: keep the port on a private network, TLS in a proxy in front", address)


def _import_server() -> None:
    """Linux scheduling is per thread: only this thread's work yields to the function's INIT and first
    invoke. SCHED_IDLE runs it only on CPU time nobody else wants; a nice value is the fallback."""
    lower_this_threads_priority()
    import asyncio  # noqa: F401



def exec_waits_for_us(environ: os._Environ[str] | dict[str, str]) -> bool:
    """True when `paramsecrets exec` (the layer's exec wrapper, or a bootstrap's call) will read values
    before the function's runtime starts: its `PARAMSECRETS_*` mapping variables are set."""
    return any(name.startswith("PARAMSECRETS_ENV_") or name in ("PARAMSECRETS_FILES", "PARAMSECRETS_PATH")
               for name in environ)


def lower_this_threads_priority() -> str:
    """SCHED_IDLE for the calling thread, else nice LOW_PRIORITY; which one took ("" if neither)."""
    try:
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))  # 0: the calling thread, on Linux
        return "idle"
    except (OSError, AttributeError):
        pass
    import threading

    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), LOW_PRIORITY)
        return "nice"
    except (OSError, AttributeError):
        return ""


def import_at_low_priority() -> None:
    """Import asyncio and awscrt (~90 ms of CPU) in a low-priority thread, then serve at normal priority.

    Under Lambda the runtime starts its own INIT as soon as we register, on the same small CPU
    share: at normal priority our imports would slow it down. Loading still starts at once, so
    a request during INIT or the first miss does not wait for a lazy import. Meanwhile the event
    thread must answer the first INVOKE at once (Lambda's invoke waits for our next `next`): a
    short switch interval hands it the GIL in a fraction of a millisecond instead of 5 ms.
    """
    import threading

    previous = sys.getswitchinterval()
    sys.setswitchinterval(IMPORT_SWITCH_INTERVAL_S)
    try:
        loader = threading.Thread(target=_import_server, name="paramsecrets-import")
        loader.start()
        loader.join()
    finally:
        sys.setswitchinterval(previous)


if __name__ == "__main__":
    raise SystemExit(main())
