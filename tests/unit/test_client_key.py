"""The client key's rules: both halves, a valid id, a secret fit to be one, never an AWS credential."""

from __future__ import annotations

import pytest

from paramsecrets import config
from paramsecrets.api import clientkey

KEY = {"PARAMETERS_SECRETS_EXTENSION_CLIENT_ACCESS_KEY_ID": "PSCLIENTKEYTEST0001",
       "PARAMETERS_SECRETS_EXTENSION_CLIENT_SECRET_ACCESS_KEY": "client-secret-0123456789"}


def resolve(environ: dict[str, str]) -> clientkey.ClientKey | None:
    return clientkey.resolve(config.load(environ), environ)


def test_unset_and_set() -> None:
    assert resolve({}) is None
    key = resolve(KEY)
    assert key is not None and key.access_key == "PSCLIENTKEYTEST0001"
    assert "client-secret" not in repr(key)


@pytest.mark.parametrize(("change", "variable"), [
    ({"PARAMETERS_SECRETS_EXTENSION_CLIENT_SECRET_ACCESS_KEY": ""}, clientkey.SECRET_ENV),
    ({"PARAMETERS_SECRETS_EXTENSION_CLIENT_ACCESS_KEY_ID": "short"}, clientkey.KEY_ID_ENV),
    ({"PARAMETERS_SECRETS_EXTENSION_CLIENT_ACCESS_KEY_ID": "PSCLIENT-KEY-0001"}, clientkey.KEY_ID_ENV),
    ({"PARAMETERS_SECRETS_EXTENSION_CLIENT_SECRET_ACCESS_KEY": "too-short"}, clientkey.SECRET_ENV),
    ({"AWS_SECRET_ACCESS_KEY": "client-secret-0123456789"}, clientkey.SECRET_ENV),
    ({"AWS_ACCESS_KEY_ID": "PSCLIENTKEYTEST0001"}, clientkey.KEY_ID_ENV),
    ({"AWS_SESSION_TOKEN": "client-secret-0123456789"}, clientkey.SECRET_ENV),
])
def test_refusals_name_the_variable(change: dict[str, str], variable: str) -> None:
    with pytest.raises(config.ConfigError) as caught:
        resolve({**KEY, **change})
    assert caught.value.variable == variable
    assert "client-secret-0123456789" not in str(caught.value)
