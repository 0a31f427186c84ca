"""What answers a request on the port: an AWS SDK's `POST` (docs/sdk.md, docs/cloud-extensions.md)
goes to the SDK protocol, everything else to the GET routes' Service. The two never call each
other; both read through one CacheFront (paramsecrets.cache.front).

With the SDK protocol off the HTTP server is handed Service itself (no dispatcher, no extra call).
"""

from __future__ import annotations

from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any

from paramsecrets.api.routes import SDK_PATHS
from paramsecrets.api.service import Service
from paramsecrets.http.parser import Request

if TYPE_CHECKING:
    from paramsecrets.api.sdk.protocol import SdkProtocol

__all__ = ["Dispatcher"]


class Dispatcher:
    """POST to the SDK paths -> the SDK protocol; anything else -> the GET routes."""

    def __init__(self, service: Service, sdk: SdkProtocol) -> None:
        self.service = service
        self.sdk = sdk
        self._routes = service.respond
        self.replay_for = service.replay_for  # a repeated GET hit (paramsecrets.api.replay)
        service.unrouted = sdk.foreign  # no route: another AWS service's call sent here?

    def respond(self, request: Request) -> bytes | Coroutine[Any, Any, bytes]:
        if request.method == b"POST" and request.target in SDK_PATHS:
            return self.sdk.respond(request)
        return self._routes(request)
