"""The embedded AWS backend: moto in a thread of this process, the environment that points the
server at it, and writing a seed into it with botocore (which comes with moto).

moto is an optional extra, so it is imported here only, inside `start`, and its absence becomes a
message that says which command installs it.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from paramsecrets.dev.seed import Parameter, Secret, Seed

REGION = "us-east-1"
ACCOUNT = "123456789012"  # moto's default account, in every ARN it returns
# moto checks no signatures: any credentials do. Fixed, recognisable, and obviously not real.
ACCESS_KEY_ID = "AKIAPARAMSECRETSDEV0"
SECRET_ACCESS_KEY = "paramsecrets-dev-not-a-real-secret-key"
INSTALL_COMMAND = "pip install 'moto[server,ssm,secretsmanager]>=5.1,<6'"  # paramsecrets itself is not on PyPI
STANDARD_TIER_BYTES = 4096

# AWS settings that would send the server (or the seeding client) anywhere but moto, or make
# botocore fail before its first call (AWS_PROFILE naming a profile this machine lacks).
REMOVED_VARIABLES = (
    "AWS_LAMBDA_RUNTIME_API", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_DEFAULT_PROFILE",
    "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "AWS_USE_FIPS_ENDPOINT", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN",
)
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


class BackendError(Exception):
    """moto is missing or would not start; the message is meant for the user as is."""


class SeedingError(Exception):
    """The backend refused part of a seed that passed our checks; names the entry."""


class _Refused(Exception):
    """A refusal the backend reports in a 200 answer (LabelParameterVersion's InvalidLabels)."""


@dataclass
class Backend:
    """A running moto server on a loopback port."""

    server: Any
    url: str
    moto_version: str

    def stop(self) -> None:
        """Stop serving and join moto's thread (up to its 0.5 s poll); safe to call twice.

        A second Ctrl-C while it waits is not an error: the process is exiting, and moto's
        thread (a daemon) and its socket go with it.
        """
        server, self.server = self.server, None
        if server is not None:
            with contextlib.suppress(KeyboardInterrupt):
                server.stop()


MISSING = f"the embedded AWS backend needs moto, which is not installed.\nInstall it with: {INSTALL_COMMAND}"


def missing_problem() -> str | None:
    """Whether moto and botocore are installed, found without importing them (milliseconds), so
    their absence is reported before the progress line promises a start."""
    import importlib.util

    for module in ("moto", "botocore"):
        try:
            if importlib.util.find_spec(module) is None:
                return MISSING
        except (ImportError, ValueError):  # ValueError: blocked (sys.modules[module] is None)
            return MISSING
    return None


class OneLineErrors(logging.Filter):
    """werkzeug's "Error on request:" + traceback (a request moto itself failed on, answered 500)
    becomes one line naming the exception, and what the client saw."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if message.startswith("Error on request:"):
            lines = [line for line in message.splitlines() if line.strip()]
            record.msg = ("the embedded backend (moto) failed on a request and answered 500 (%s); the server "
                          "answers 502 for it (a moto limitation, see docs/dev.md, Limits)")
            record.args = (lines[-1].strip()[:200] if len(lines) > 1 else "no detail",)
        return True


def start() -> Backend:
    """Import moto (the slow part: ~1 s) and start it on a free loopback port."""
    try:
        import botocore  # noqa: F401 - seeding needs it; it comes with moto
        from moto import __version__ as moto_version
        from moto.server import ThreadedMotoServer
    except ImportError as error:  # installed but incomplete, e.g. moto without its server extra
        raise BackendError(f"moto is installed but cannot be imported ({error}).\n"
                           f"Reinstall it with: {INSTALL_COMMAND}") from None
    # werkzeug logs every request moto serves to stderr; only its warnings and errors matter here,
    # and a moto bug is one line, not a traceback in the middle of the server's log.
    werkzeug = logging.getLogger("werkzeug")
    werkzeug.setLevel(logging.WARNING)
    if not any(isinstance(existing, OneLineErrors) for existing in werkzeug.filters):
        werkzeug.addFilter(OneLineErrors())
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    try:
        server.start()
        host, port = server.get_host_and_port()
    except Exception as error:  # moto's own failure, whatever its type: report it, do not trace
        raise BackendError(f"the embedded AWS backend (moto) did not start: {error}") from None
    return Backend(server, f"http://{host}:{port}", moto_version)


def environment(environ: Mapping[str, str], url: str, token_variable: str, token: str) -> dict[str, str | None]:
    """The changes (None: remove) that point AWS clients in this process at the backend.

    Only AWS settings are touched: the user's PARAMETERS_SECRETS_EXTENSION_* settings stay as
    they are. Real credentials, profiles and Lambda's runtime API are removed so that nothing in
    dev mode can reach AWS or behave as a Lambda extension.
    """
    changes: dict[str, str | None] = dict.fromkeys(REMOVED_VARIABLES)
    changes.update({
        "AWS_ENDPOINT_URL": url,
        "AWS_ENDPOINT_URL_SSM": url,
        "AWS_ENDPOINT_URL_SECRETS_MANAGER": url,
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": ACCESS_KEY_ID,
        "AWS_SECRET_ACCESS_KEY": SECRET_ACCESS_KEY,
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
    })
    for name in ("NO_PROXY", "no_proxy"):  # an HTTP proxy must not sit between botocore and moto
        present = [host.strip() for host in environ.get(name, "").split(",") if host.strip()]
        changes[name] = ",".join(present + [host for host in LOOPBACK_HOSTS if host not in present])
    changes[token_variable] = token
    return changes


def apply_environment(changes: Mapping[str, str | None]) -> None:
    for name, value in changes.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@functools.cache
def _session() -> Any:
    """One botocore session: it caches the service models, which take ~0.2 s each to load."""
    import botocore.session

    return botocore.session.Session()


def _client(service: str, url: str) -> Any:
    import botocore.config

    return _session().create_client(
        service, endpoint_url=url, region_name=REGION, aws_access_key_id=ACCESS_KEY_ID,
        aws_secret_access_key=SECRET_ACCESS_KEY,
        config=botocore.config.Config(retries={"total_max_attempts": 1}, proxies={}))


def apply_seed(url: str, seed: Seed) -> None:
    """Write every parameter version, label, secret version and stage into the backend, in file
    order; SeedingError names the entry the backend refused (botocore's message, never a value)."""
    from botocore.exceptions import BotoCoreError, ClientError

    ssm, secrets = _client("ssm", url), _client("secretsmanager", url)
    writes: list[tuple[str, str, Callable[[], None]]] = [
        *(("parameter", p.name, functools.partial(_put_parameter, ssm, p)) for p in seed.parameters),
        *(("secret", s.name, functools.partial(_put_secret, secrets, s)) for s in seed.secrets),
    ]
    for kind, name, write in writes:
        try:
            write()
        except (BotoCoreError, ClientError, _Refused) as error:
            raise SeedingError(f'{seed.source}: {kind} "{name}": the backend refused it: {error}') from None


def _put_parameter(ssm: Any, parameter: Parameter) -> None:
    for number, value in enumerate(parameter.versions, 1):
        request: dict[str, Any] = {"Name": parameter.name, "Value": value, "Type": parameter.type,
                                   "Overwrite": number > 1}
        if len(value.encode()) > STANDARD_TIER_BYTES:
            request["Tier"] = "Advanced"
        if parameter.description is not None:
            request["Description"] = parameter.description
        if parameter.kms_key_id is not None:
            request["KeyId"] = parameter.kms_key_id
        ssm.put_parameter(**request)
    by_version: dict[int, list[str]] = defaultdict(list)
    for label, version in parameter.labels:
        by_version[version].append(label)
    for version, labels in by_version.items():
        answer = ssm.label_parameter_version(Name=parameter.name, ParameterVersion=version, Labels=labels)
        if answer.get("InvalidLabels"):
            raise _Refused(f"labels {', '.join(answer['InvalidLabels'])} on version {version}")


def _put_secret(secrets: Any, secret: Secret) -> None:
    """CreateSecret with no value, then one PutSecretValue per version: Secrets Manager itself
    then moves AWSCURRENT/AWSPREVIOUS exactly as it does for a real rotation."""
    request: dict[str, Any] = {"Name": secret.name}
    if secret.description is not None:
        request["Description"] = secret.description
    if secret.kms_key_id is not None:
        request["KmsKeyId"] = secret.kms_key_id
    secrets.create_secret(**request)
    for version in secret.versions:
        put: dict[str, Any] = {"SecretId": secret.name}
        if version.binary is not None:
            put["SecretBinary"] = version.binary
        else:
            put["SecretString"] = version.string
        if version.stages is not None:
            put["VersionStages"] = list(version.stages)
        if version.version_id is not None:
            put["ClientRequestToken"] = version.version_id
        secrets.put_secret_value(**put)
