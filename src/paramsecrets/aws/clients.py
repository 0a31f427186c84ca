"""Both services' clients on one awscrt runtime. Importing this module imports awscrt (~70 ms)."""

from __future__ import annotations

from paramsecrets.aws.secrets import SecretsManager
from paramsecrets.aws.settings import AwsSettings
from paramsecrets.aws.ssm import Ssm
from paramsecrets.aws.transport import (
    DEFAULT_TIMEOUT_S,
    SECRETS_MANAGER,
    SSM,
    AwsJsonTransport,
    CrtRuntime,
    OutcomeRecorder,
)
from paramsecrets.config import Settings


def _timeout_s(millis: int) -> float:
    return millis / 1000 if millis else DEFAULT_TIMEOUT_S


class Upstream:
    """What the reader calls: `ssm` and `secrets`."""

    def __init__(self, aws: AwsSettings, settings: Settings, record: OutcomeRecorder) -> None:
        runtime = CrtRuntime()
        self.ssm = Ssm(AwsJsonTransport(SSM, aws.ssm, aws.region, runtime, settings.max_connections,
                                        _timeout_s(settings.ssm_timeout_millis), record))
        self.secrets = SecretsManager(AwsJsonTransport(
            SECRETS_MANAGER, aws.secrets, aws.region, runtime, settings.max_connections,
            _timeout_s(settings.secrets_timeout_millis), record))

    def close(self) -> None:
        self.ssm.transport.close()
        self.secrets.transport.close()
