"""Both services' clients on one awscrt runtime. Importing this module imports awscrt (~70 ms)."""

from __future__ import annotations

from paramsecrets.aws.secrets import SecretsManager
from paramsecrets.aws.settings import AwsSettings
from paramsecrets.aws.ssm import PathLimits, Ssm
from paramsecrets.aws.transport import (
    DEFAULT_TIMEOUT_S,
    SECRETS_MANAGER,
    SSM,
    AwsJsonTransport,
    CrtRuntime,
    OutcomeRecorder,
    lambda_network_hint,
)
from paramsecrets.aws.upstream import Credentials
from paramsecrets.config import Settings
from paramsecrets.init_window import InitWindow

TYPE_CHECKING = False  # typing is not imported for this alone
if TYPE_CHECKING:
    from paramsecrets.aws.sts import SecurityTokenService


def _timeout_s(millis: int) -> float:
    return millis / 1000 if millis else DEFAULT_TIMEOUT_S


class Upstream:
    """What the reader calls: `ssm` and `secrets`, and `sts` for roles; `with_credentials` gives the
    same clients signing as a role (sharing the runtime: one event-loop thread, one TLS context)."""

    def __init__(self, aws: AwsSettings, settings: Settings, record: OutcomeRecorder, *,
                 init_window: InitWindow | None = None, in_lambda: bool = False,
                 runtime: CrtRuntime | None = None, credentials: Credentials | None = None) -> None:
        self.aws = aws
        self.settings = settings
        self.record = record
        self.init_window = init_window
        self.in_lambda = in_lambda
        if runtime is None:
            runtime = CrtRuntime(aws.ca_bundle)
            if aws.ssm.tls or aws.secrets.tls:
                # Built now rather than at the first connection (the warm-up's, a moment later): a
                # host with no trust store fails here, as the client is built, with its reason.
                _ = runtime.tls
        self.runtime = runtime
        provider = None
        if credentials is not None:
            from paramsecrets.aws.sts import static_provider

            provider = static_provider(credentials)
        self.ssm = Ssm(AwsJsonTransport(
            SSM, aws.ssm, aws.region, runtime, settings.max_connections, _timeout_s(settings.ssm_timeout_millis),
            record, proxy=aws.ssm_proxy, init_window=init_window,
            network_hint=lambda_network_hint(SSM, aws.region) if in_lambda else None, credentials=provider),
            PathLimits(settings.max_path_pages, settings.max_path_parameters, settings.path_timeout_millis / 1000))
        self.secrets = SecretsManager(AwsJsonTransport(
            SECRETS_MANAGER, aws.secrets, aws.region, runtime, settings.max_connections,
            _timeout_s(settings.secrets_timeout_millis), record, proxy=aws.secrets_proxy, init_window=init_window,
            network_hint=lambda_network_hint(SECRETS_MANAGER, aws.region) if in_lambda else None,
            credentials=provider))
        self._sts: SecurityTokenService | None = None

    @property
    def sts(self) -> SecurityTokenService:
        """STS, made at the first roleArn read: a server that never assumes a role never imports
        the query protocol (urllib.parse) nor opens its pool, and a role's own clients never do."""
        if self._sts is None:
            from paramsecrets.aws.sts import STS, AwsQueryTransport, SecurityTokenService

            aws, settings = self.aws, self.settings
            self._sts = SecurityTokenService(AwsQueryTransport(
                STS, aws.sts, aws.region, self.runtime, settings.max_connections,
                _timeout_s(settings.secrets_timeout_millis), self.record, proxy=aws.sts_proxy,
                init_window=self.init_window,
                network_hint=lambda_network_hint(STS, aws.region) if self.in_lambda else None))
        return self._sts

    def with_credentials(self, credentials: Credentials) -> Upstream:
        """The same clients signing as a role (sharing the runtime and the INIT bound)."""
        return Upstream(self.aws, self.settings, self.record, init_window=self.init_window,
                        in_lambda=self.in_lambda, runtime=self.runtime, credentials=credentials)

    async def warm(self) -> dict[str, str | None]:
        """One connection per service, opened together; {service title: why it failed, or None}."""
        import asyncio

        transports = (self.ssm.transport, self.secrets.transport)
        results = await asyncio.gather(*(transport.warm() for transport in transports))
        return {transport.spec.title: failure for transport, failure in zip(transports, results, strict=True)}

    def close(self) -> None:
        self.ssm.transport.close()
        self.secrets.transport.close()
        if self._sts is not None:
            self._sts.transport.close()
