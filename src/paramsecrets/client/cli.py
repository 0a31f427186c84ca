"""`paramsecrets get-parameter` / `paramsecrets get-secret`: print one value for shell scripts.

Imports only the standard library and `paramsecrets.client`, so it starts fast in a custom
runtime's bootstrap. Output is the raw value: text gets a trailing newline only when stdout is
a terminal (so `$(...)` and pipes see the exact bytes); a binary secret is written as raw bytes
with nothing added.

Exit codes: 0 success, 2 usage error (bad arguments or an invalid client setting in the
environment), 3 not found, 4 access denied or bad/missing token, 5 server unreachable,
1 anything else. Messages go to stderr and never hold a value or a token.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, BinaryIO

from paramsecrets.client import (
    Client,
    ParamSecretsError,
)
from paramsecrets.client.exit_codes import (
    EXIT_ERROR,
    EXIT_OK,
    EXIT_USAGE,
    exit_code,
)


class _UsageError(Exception):
    """Raised by the parser instead of exiting, so the main functions return a code."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # argparse would sys.exit(2); we return 2
        raise _UsageError(message)


class _FieldError(Exception):
    """--json-field could not be applied; the message names the field, never the value."""


def _parameter_parser() -> _Parser:
    parser = _Parser(prog="paramsecrets get-parameter",
                     description="Print the value of an SSM parameter from the local server.")
    parser.add_argument("name", metavar="NAME", type=_non_empty, help="parameter name, path or ARN")
    parser.add_argument("--decrypt", action="store_true",
                        help="decrypt a SecureString (withDecryption=true)")
    selector = parser.add_mutually_exclusive_group()
    selector.add_argument("--version", metavar="N", type=_positive_int, help="parameter version")
    selector.add_argument("--label", metavar="L", type=_non_empty, help="parameter label")
    _common_arguments(parser)
    return parser


def _secret_parser() -> _Parser:
    parser = _Parser(prog="paramsecrets get-secret",
                     description="Print the value of a Secrets Manager secret from the local server "
                                 "(binary secrets as raw bytes).")
    parser.add_argument("secret_id", metavar="ID", type=_non_empty, help="secret name, ARN or partial ARN")
    selector = parser.add_mutually_exclusive_group()
    selector.add_argument("--version-id", metavar="V", type=_non_empty, help="secret version id")
    selector.add_argument("--version-stage", metavar="S", type=_non_empty,
                          help="secret version stage, e.g. AWSPREVIOUS")
    _common_arguments(parser)
    return parser


def _common_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json-field", metavar="KEY",
                        help="parse the value as a JSON object and print this top-level field "
                             "(strings as is, anything else as JSON)")
    parser.add_argument("--refresh", action="store_true",
                        help="skip the server's cache and fetch now (refreshNow=true)")


def _non_empty(text: str) -> str:
    if not text:
        raise argparse.ArgumentTypeError("must not be empty")
    return text


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"not a version number: {text!r}")
    return value


def get_parameter_main(argv: list[str]) -> int:
    """`paramsecrets get-parameter NAME [--decrypt] [--version N | --label L] [--json-field KEY]`."""
    parser = _parameter_parser()

    def fetch(args: argparse.Namespace, client: Client) -> str | bytes:
        return client.get_parameter(args.name, decrypt=args.decrypt, version=args.version,
                                    label=args.label, refresh=args.refresh)

    return _run(parser, argv, fetch)


def get_secret_main(argv: list[str]) -> int:
    """`paramsecrets get-secret ID [--version-id V | --version-stage S] [--json-field KEY]`."""
    parser = _secret_parser()

    def fetch(args: argparse.Namespace, client: Client) -> str | bytes:
        return client.get_secret(args.secret_id, version_id=args.version_id,
                                 version_stage=args.version_stage, refresh=args.refresh)

    return _run(parser, argv, fetch)


def _run(parser: _Parser, argv: list[str], fetch: Any) -> int:
    try:
        args = parser.parse_args(argv)
    except _UsageError as error:
        parser.print_usage(sys.stderr)
        _say(f"{parser.prog}: error: {error}")
        return EXIT_USAGE
    except SystemExit as done:  # --help
        return done.code if isinstance(done.code, int) else EXIT_OK
    try:
        client = Client()
    except ValueError as error:  # an invalid port or retry window in the environment
        _say(f"{parser.prog}: error: {error}")
        return EXIT_USAGE
    try:
        value = fetch(args, client)
        if args.json_field is not None:
            value = _json_field(value, args.json_field)
    except ParamSecretsError as error:
        _say(f"{parser.prog}: error: {error}")
        return exit_code(error)
    except _FieldError as error:
        _say(f"{parser.prog}: error: {error}")
        return EXIT_ERROR
    finally:
        client.close()
    return _write(value)


def _json_field(value: str | bytes, key: str) -> str:
    """One top-level field of a JSON object value: a string as is, anything else as JSON."""
    try:
        data = json.loads(value)
    except (ValueError, UnicodeDecodeError):
        raise _FieldError(f"--json-field {key!r}: the value is not JSON") from None
    if not isinstance(data, dict):
        raise _FieldError(f"--json-field {key!r}: the value is JSON but not an object")
    if key not in data:
        raise _FieldError(f"--json-field {key!r}: no such field in the value")
    field = data[key]
    return field if isinstance(field, str) else json.dumps(field, ensure_ascii=False)


def _write(value: str | bytes) -> int:
    out: BinaryIO = sys.stdout.buffer
    if isinstance(value, str):
        data = value.encode("utf-8", "surrogateescape")
        if _isatty(out) and not data.endswith(b"\n"):
            data += b"\n"
    else:
        data = value
    try:
        out.write(data)
        out.flush()
    except BrokenPipeError:  # `| head -c 10`: not our failure
        _silence_stdout()
    return EXIT_OK


def _isatty(stream: BinaryIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _silence_stdout() -> None:
    """After a broken pipe, keep the interpreter's final flush from printing a traceback."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def _say(message: str) -> None:
    print(message, file=sys.stderr)


COMMANDS = {"get-parameter": get_parameter_main, "get-secret": get_secret_main}


def main(argv: list[str] | None = None) -> int:
    """`python -m paramsecrets.client.cli get-parameter|get-secret ...`."""
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] not in COMMANDS:
        _say("usage: python -m paramsecrets.client.cli {get-parameter,get-secret} ...")
        return EXIT_USAGE
    return COMMANDS[argv[0]](argv[1:])


if __name__ == "__main__":
    sys.exit(main())
