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

USAGE = "usage: paramsecrets serve [--config FILE] [--port N] [--log-level LEVEL]"
DEFAULT_PORT = 2773
PORT_ENV = "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT"
CONFIG_ENV = "PARAMETERS_SECRETS_EXTENSION_CONFIG_FILE"
OPTIONS = ("--config", "--port", "--log-level", "--extension-name")
LOW_PRIORITY = 10  # nice value of the start-up import thread under Lambda


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
            raise UsageError(USAGE)
        name, equals, value = item.partition("=")
        if name not in OPTIONS:
            raise UsageError(f"unknown option {item!r}\n{USAGE}")
        if not equals:
            if not items:
                raise UsageError(f"{name} needs a value\n{USAGE}")
            value = items.pop(0)
        args[name[2:]] = value
    return args


def early_port(args: dict[str, str], environ: os._Environ[str] | dict[str, str]) -> int | None:
    """The port to bind before full validation; None if it is not a valid number (reported later)."""
    raw = args.get("port") or environ.get(PORT_ENV)
    if raw is None:
        path = args.get("config") or environ.get(CONFIG_ENV)
        if path:
            try:
                import tomllib

                with open(path, "rb") as handle:
                    raw = str(tomllib.load(handle).get("http_port", DEFAULT_PORT))
            except (OSError, ValueError):
                return None
        else:
            return DEFAULT_PORT
    raw = raw.strip()
    if raw.isdigit() and 0 < int(raw) < 65536:
        return int(raw)
    return None


def bind(port: int) -> tuple[list[_socket.socket], str | None]:
    """Listening sockets on 127.0.0.1 and (where the host has IPv6) ::1."""
    sockets = []
    try:
        sock = _socket.socket(_socket.AF_INET, _socket.SOCK_STREAM)
        sock.setsockopt(_socket.SOL_SOCKET, _socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", port))
        sock.listen(1024)
        sockets.append(sock)
    except OSError as error:
        return [], f"cannot listen on 127.0.0.1:{port}: {error.strerror}"
    try:
        sock6 = _socket.socket(_socket.AF_INET6, _socket.SOCK_STREAM)
        sock6.setsockopt(_socket.SOL_SOCKET, _socket.SO_REUSEADDR, 1)
        sock6.setsockopt(_socket.IPPROTO_IPV6, _socket.IPV6_V6ONLY, 1)
        sock6.bind(("::1", port))
        sock6.listen(1024)
        sockets.append(sock6)
    except OSError:
        pass  # no IPv6 loopback here: 127.0.0.1 alone
    return sockets, None


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        args = parse_args(argv)
    except UsageError as error:
        print(error, file=sys.stderr)
        return 0 if str(error) == USAGE else 2
    environ = os.environ
    port = early_port(args, environ)
    sockets, bind_error = bind(port) if port else ([], None)
    extension = None
    register_cpu_ms = 0.0
    if environ.get("AWS_LAMBDA_RUNTIME_API"):
        from paramsecrets.lambda_ext import ExtensionsApi, ExtensionsApiError, extension_name

        extension = ExtensionsApi(environ["AWS_LAMBDA_RUNTIME_API"], args.get("extension-name") or extension_name())
        try:
            extension.register()
        except ExtensionsApiError as error:
            print(f"[paramsecrets] {time.strftime('%Y/%m/%d %H:%M:%S')} ERROR {error}", flush=True)
            return 1
        register_cpu_ms = time.process_time() * 1000
    return _configure_and_serve(args, environ, sockets, bind_error, port, extension, register_cpu_ms)


def _configure_and_serve(args: dict[str, str], environ: os._Environ[str], sockets: list[_socket.socket],
                         bind_error: str | None, port: int | None, extension: object | None,
                         register_cpu_ms: float) -> int:
    from paramsecrets import config, log, tokens
    from paramsecrets.aws.settings import resolve_aws

    try:
        settings = config.load(environ, {"http_port": args.get("port"), "log_level": args.get("log-level")},
                               args.get("config"))
        log.configure(settings.log_level)
        if bind_error:
            raise config.ConfigError(PORT_ENV, bind_error)
        if settings.http_port != port:
            raise config.ConfigError(PORT_ENV, f"port {settings.http_port} could not be bound early")
        token = tokens.resolve(settings.token_env, environ)
        aws = resolve_aws(environ, settings.http_port)
    except (config.ConfigError, tokens.TokenError) as error:
        message = f"configuration error: {error}"
        log.error("%s", message)
        if extension is not None:
            from paramsecrets.lambda_ext import ExtensionsApiError

            try:
                extension.report_error("init", "Extension.ConfigError", message)  # type: ignore[attr-defined]
            except ExtensionsApiError as report_error:
                log.error("could not report the error to Lambda: %s", report_error)
            return 1
        print(f"paramsecrets: {message}", file=sys.stderr)
        return 2
    lifecycle = None
    if extension is not None:
        from paramsecrets.lambda_ext import Lifecycle, start_event_thread

        log.debug("registered as %s; register sent after %.1f ms CPU", extension.name,  # type: ignore[attr-defined]
                  register_cpu_ms)
        lifecycle = Lifecycle()
        start_event_thread(extension, lifecycle, lambda message: log.error("%s", message))  # type: ignore[arg-type]
    if "ssl" not in sys.modules:
        # asyncio imports Python's ssl (libssl + libcrypto, ~4.5 MiB of RSS) for TLS servers we never
        # run; AWS calls use awscrt's own TLS. Dev mode has imported ssl already (moto) and keeps it.
        sys.modules["ssl"] = None  # type: ignore[assignment]
    if lifecycle is not None:
        import_at_low_priority()
    from paramsecrets.app import run

    return run(settings, token, aws, sockets, lifecycle)


def _import_server() -> None:
    """Linux nice values are per thread: only this thread's work yields to the function's INIT."""
    import contextlib
    import threading

    with contextlib.suppress(OSError, AttributeError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), LOW_PRIORITY)
    import asyncio  # noqa: F401

    import paramsecrets.app
    import paramsecrets.aws.clients  # noqa: F401


def import_at_low_priority() -> None:
    """Import asyncio and awscrt (~90 ms of CPU) in a low-priority thread, then serve at normal priority.

    Under Lambda the runtime starts its own INIT as soon as we register, on the same small CPU
    share: at normal priority our imports would slow it down. Loading still starts at once, so
    a request during INIT or the first miss does not wait for a lazy import.
    """
    import threading

    loader = threading.Thread(target=_import_server, name="paramsecrets-import")
    loader.start()
    loader.join()


if __name__ == "__main__":
    raise SystemExit(main())
