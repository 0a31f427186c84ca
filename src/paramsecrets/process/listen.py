"""Where the server listens: loopback by default, or one configured address for sidecars.

Standard library only (`_socket`): this runs before Lambda's `register`. A non-loopback address
puts the server on a network, where the token is the only guard and travels in clear text on
every request, so `exposure_problem` insists on a token meant for that: one set explicitly, whose
value is no AWS credential (whatever variable holds it), and long enough not to be guessed. There
the token is required on the SDK protocol's route too (app.py).
"""

from __future__ import annotations

import _socket
import os
from _collections_abc import Mapping  # cheaper than collections.abc

try:  # hmac's constant-time compare without importing hmac
    from _operator import _compare_digest
except ImportError:  # pragma: no cover - other Pythons
    import hmac

    _compare_digest = hmac.compare_digest

BACKLOG = 1024
# Variables of the default token list that hold AWS credentials: fine as a loopback token (the
# AWS extension's own rule), never sent across a network in clear text.
AWS_CREDENTIAL_VARIABLES = ("AWS_SESSION_TOKEN", "AWS_CONTAINER_AUTHORIZATION_TOKEN")
# Variables whose values are AWS credentials, whatever variable the token is read from.
CREDENTIAL_ENV = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN",
                  "AWS_CONTAINER_AUTHORIZATION_TOKEN")


def is_loopback(address: str) -> bool:
    """"" (the default: 127.0.0.1 and ::1), 127.0.0.0/8 or ::1."""
    return address in ("", "::1") or address.startswith("127.")


def shown(address: str, port: int) -> str:
    """`127.0.0.1:2773`, `[::]:2773`."""
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"


def _listener(family: int, address: str, port: int, v6only: bool = True) -> _socket.socket:
    sock = _socket.socket(family, _socket.SOCK_STREAM)
    try:
        sock.setsockopt(_socket.SOL_SOCKET, _socket.SO_REUSEADDR, 1)
        if family == _socket.AF_INET6:
            sock.setsockopt(_socket.IPPROTO_IPV6, _socket.IPV6_V6ONLY, 1 if v6only else 0)
        sock.bind((address, port))
        sock.listen(BACKLOG)
    except OSError:
        sock.close()
        raise
    return sock


def bind(port: int, address: str = "", in_lambda: bool = False) -> tuple[list[_socket.socket], str | None]:
    """Listening sockets, or ([], why not). "" means 127.0.0.1 and (where the host has IPv6) ::1;
    `::` accepts IPv4 too (dual stack), as a container's "all interfaces" is expected to.
    `in_lambda` picks the likely cause named when the port is taken (see `busy_port_hint`)."""
    if address:
        family = _socket.AF_INET6 if ":" in address else _socket.AF_INET
        try:
            return [_listener(family, address, port, v6only=address != "::")], None
        except OSError as error:
            return [], _bind_failure(shown(address, port), error, in_lambda)
    try:
        sockets = [_listener(_socket.AF_INET, "127.0.0.1", port)]
    except OSError as error:
        return [], _bind_failure(f"127.0.0.1:{port}", error, in_lambda)
    try:  # noqa: SIM105 - contextlib is one more import before `register`
        sockets.append(_listener(_socket.AF_INET6, "::1", port))
    except OSError:
        pass  # no IPv6 loopback here: 127.0.0.1 alone
    return sockets, None


def _bind_failure(where: str, error: OSError, in_lambda: bool) -> str:
    import errno  # a built-in module, and only on this path

    message = f"cannot listen on {where}: {error.strerror}"
    if error.errno == errno.EADDRINUSE:
        message += f": {busy_port_hint(in_lambda)}"
    return message


def busy_port_hint(in_lambda: bool) -> str:
    """Who most likely holds the port, and what to do about it.

    In Lambda only the function's other extensions run beside us before INIT ends. The AWS
    Parameters and Secrets Lambda Extension reads the same PARAMETERS_SECRETS_EXTENSION_HTTP_PORT,
    so moving the port cannot separate the two: its layer has to go."""
    if in_lambda:
        return ("another extension of this function already listens on it: most likely the AWS Parameters "
                "and Secrets Lambda Extension layer is still attached (it reads the same "
                "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT, so remove that layer: paramsecrets answers the same "
                "requests), or another extension such as AWS Systems Manager Cloud Extensions uses the port "
                "(then move paramsecrets with PARAMETERS_SECRETS_EXTENSION_HTTP_PORT and read from that port "
                "in the function)")
    return ("another process already listens on it (another paramsecrets, `paramsecrets dev` or `make dev`, "
            "or the AWS extension): stop it, or choose another port with --port or "
            "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT")


def exposure_problem(address: str, token_variable: str, token_value: str,
                     environ: Mapping[str, str] | None = None) -> str | None:
    """Why this token may not guard a server on `address`, or None when it may.

    Values are compared, not variable names: `AWS_TOKEN=$AWS_SESSION_TOKEN`, an `AWS_TOKEN` holding the
    secret key, or `TOKEN_ENV=AWS_SECRET_ACCESS_KEY` all put an AWS credential on the network.
    """
    if is_loopback(address):
        return None
    where = f"listening on {address} puts the server on the network, where the token is the only guard " \
            "and travels in clear text"
    fix = "set a token made for this (AWS_TOKEN, or a variable named in PARAMETERS_SECRETS_EXTENSION_TOKEN_ENV)"
    if token_variable in AWS_CREDENTIAL_VARIABLES:
        return f"{where}: {fix} instead of using {token_variable}, which holds an AWS credential"
    found = credential_named(token_value, os.environ if environ is None else environ)
    if found:
        return f"{where}: the token from {token_variable} is the value of {found}, an AWS credential; {fix}"
    return None  # its length is every token's rule (tokens.MIN_TOKEN_LENGTH), checked when it is read


def credential_named(value: str, environ: Mapping[str, str]) -> str | None:
    """Where `value` is also an AWS credential (an environment variable, the shared credentials file's
    active profile, the container authorization token file), or None. Never the value itself."""
    value = value.strip()
    if not value:
        return None
    for variable in CREDENTIAL_ENV:
        if _same(environ.get(variable), value):
            return variable
    token_file = environ.get("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE")
    if token_file and _same(_read_small(token_file), value):
        return "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"
    for key, held in _shared_credentials(environ).items():
        if _same(held, value):
            return f"{key} in the AWS shared credentials file"
    return None


def _same(held: str | None, value: str) -> bool:
    return held is not None and _compare_digest(held.strip().encode(), value.encode())


def _read_small(path: str) -> str | None:
    try:
        with open(path, "rb") as handle:
            return handle.read(65536).decode("utf-8", "replace")
    except OSError:
        return None


def _shared_credentials(environ: Mapping[str, str]) -> dict[str, str]:
    """The active profile's keys in ~/.aws/credentials (AWS_SHARED_CREDENTIALS_FILE, AWS_PROFILE)."""
    path = environ.get("AWS_SHARED_CREDENTIALS_FILE") or os.path.join(environ.get("HOME", "~"), ".aws",
                                                                       "credentials")
    path = os.path.expanduser(path)
    if not os.path.isfile(path):
        return {}
    import configparser

    parser = configparser.RawConfigParser()
    try:
        parser.read(path)
    except configparser.Error:
        return {}
    profile = environ.get("AWS_PROFILE") or environ.get("AWS_DEFAULT_PROFILE") or "default"
    if not parser.has_section(profile):
        return {}
    return {key: parser.get(profile, key) for key in ("aws_access_key_id", "aws_secret_access_key",
                                                      "aws_session_token") if parser.has_option(profile, key)}
