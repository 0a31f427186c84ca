"""The local client key: an access key id and secret that sign requests to us, and nothing else.

Cloud Extensions calls it the profile's extension key. Callers (a sidecar's pods, a function)
sign SDK requests and GET requests with it (SigV4) instead of holding AWS credentials; we check
the signature and call AWS with our own. So it must never be an AWS credential: a key equal to
one we hold would let whoever has it sign real AWS calls. Values may be `file:///path`, read with
the token file's checks (tokens.read_token_file): a regular file, owned by root or us, writable by
nobody else.
"""

from __future__ import annotations

import os
from _collections_abc import Mapping

from paramsecrets import log
from paramsecrets.api import tokens
from paramsecrets.config import ConfigError, Settings

KEY_ID_ENV = "PARAMETERS_SECRETS_EXTENSION_CLIENT_ACCESS_KEY_ID"
SECRET_ENV = "PARAMETERS_SECRETS_EXTENSION_CLIENT_SECRET_ACCESS_KEY"
KEY_ID_LENGTH = (16, 128)  # AWS's own bounds for an access key id
# Variables that hold AWS credentials the server itself may be using.
AWS_CREDENTIAL_VARIABLES = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")


class ClientKey:
    """The client key's id and secret (the secret is registered with the log's scrubber)."""

    __slots__ = ("access_key", "secret_key")

    def __init__(self, access_key: str, secret_key: str) -> None:
        self.access_key = access_key
        self.secret_key = secret_key

    def __repr__(self) -> str:
        return f"ClientKey({self.access_key!r}, <secret>)"


def _value(raw: str, variable: str) -> bytes:
    """The setting's value, or the checked content of the file it names."""
    if raw.startswith(tokens.FILE_PREFIX):
        return tokens.read_token_file(raw[len(tokens.FILE_PREFIX):], variable)
    return raw.encode()


def resolve(settings: Settings, environ: Mapping[str, str] | None = None) -> ClientKey | None:
    """The client key from the settings, None when unset, or ConfigError saying what is wrong."""
    environ = os.environ if environ is None else environ
    key_id_raw, secret_raw = settings.client_access_key_id, settings.client_secret_access_key
    if not key_id_raw and not secret_raw:
        return None
    if not key_id_raw or not secret_raw:
        missing = KEY_ID_ENV if not key_id_raw else SECRET_ENV
        raise ConfigError(missing, f"{missing} is not set: the client key needs both {KEY_ID_ENV} and {SECRET_ENV}")
    try:
        key_id = _value(key_id_raw, KEY_ID_ENV).strip().decode("ascii", "replace")
        secret = tokens.check_token(_value(secret_raw, SECRET_ENV).strip(), SECRET_ENV).decode()
    except tokens.TokenError as error:
        raise ConfigError(error.variable, str(error)) from None
    low, high = KEY_ID_LENGTH
    if not (low <= len(key_id) <= high and key_id.isascii() and key_id.isalnum()):
        raise ConfigError(KEY_ID_ENV, f"{KEY_ID_ENV} must be {low} to {high} letters and digits (an access key "
                                      f"id), got {len(key_id)} characters")
    log.redact(secret)
    held = {name: environ.get(name, "") for name in AWS_CREDENTIAL_VARIABLES}
    for name, value in held.items():
        if value and value in (key_id, secret):
            variable = KEY_ID_ENV if value == key_id else SECRET_ENV
            raise ConfigError(variable, f"{variable}: the client key must not be an AWS credential, but it equals "
                              f"{name}: give "
                              "callers a key of their own (it has no AWS power), for example "
                              "openssl rand -hex 10 | tr a-f A-F for the id and openssl rand -hex 20 for the secret")
    return ClientKey(key_id, secret)


def is_aws_credential(key: ClientKey, access_key: str, secret_key: str) -> bool:
    """True when the client key is (half of) the AWS credentials we hold (checked again at run time,
    when credentials come from a container endpoint or a profile rather than the environment)."""
    return key.access_key == access_key or key.secret_key == secret_key
