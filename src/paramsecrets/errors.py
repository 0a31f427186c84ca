"""The one error family: whatever a caller is answered with when a request cannot be served.

`AnswerError` carries what every answer needs (status, code, message) and what some need (the
reason of an authentication refusal, whether the connection closes after it, a log-only detail).
The GET routes' refusals (api.routes.RequestError), the SDK protocol's (api.sdk.wire.SdkError), a
bad `roleArn` (cache.roles.RoleArnError) and an unusable token (api.tokens.TokenError) are its
subclasses; an AWS failure (aws.errors.UpstreamError, which the aws layer classifies on its own)
is mapped into one by the one table in api/profiles.py, which also renders every AnswerError, once
per profile (aws, detailed, the SDKs' JSON). The HTTP layer's ParseError stays its own: http/
imports nothing of ours, and answers it itself.

A message is written for the caller and the log alike: it never holds a parameter or secret
value, nor a token. Imported at start-up (api.tokens), so it imports nothing.
"""

from __future__ import annotations

__all__ = ["AnswerError"]


class AnswerError(Exception):
    """A request answered with an error: `status` (the detailed profile's and the SDKs'), `code`
    (AWS's error code, or ours), `message` (never a value or a token).

    `reason`: an authentication refusal's cloudextensions-error-reason; `close`: close the
    connection after the answer; `detail`: what the log says instead of `message`, when the
    caller's message (AWS's wording) would mislead the reader of the log.
    """

    def __init__(self, status: int, code: str, message: str, *, reason: str | None = None,
                 close: bool = False, detail: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.reason = reason
        self.close = close
        self.detail = detail or message
