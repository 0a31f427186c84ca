"""Requests for other AWS services, answered in their own protocol with the fix in the message.

A global `AWS_ENDPOINT_URL=http://localhost:2773` sends every service an SDK calls here, not only
SSM and Secrets Manager. STS, KMS or S3 then got an AWS JSON 1.1 error their SDK could not parse
(`ResponseParserError`, `XML parse error`) or `UnknownOperationException`. Such a request is known
by its signature's credential scope (`.../<service>/aws4_request`) and answered as that service's
protocol answers errors, so the SDK raises an ordinary error whose message says what to set:

- `X-Amz-Target` (AWS JSON 1.0 and 1.1: KMS, DynamoDB, ...): `{"__type", "message"}`;
- a form-encoded `POST` (the query protocol: STS, SQS, SNS, IAM, ...): `<ErrorResponse>` XML (EC2's
  own `<Response><Errors>` for EC2);
- anything else (REST): `<Error>` XML for S3, CloudFront and Route 53, JSON for the others (Lambda,
  API Gateway, ...).
"""

from __future__ import annotations

import json

from paramsecrets.api.sdk.wire import TARGET_PREFIXES, header, request_id
from paramsecrets.http import responses
from paramsecrets.http.parser import Request

OURS = frozenset(TARGET_PREFIXES.values())  # the signing names of the services answered here
CODE = "WrongEndpoint"
STATUS = 400
MAX_SERVICE = 64
REST_XML = frozenset({"s3", "cloudfront", "route53"})  # the REST services that answer XML (the rest JSON)


def service_of(request: Request) -> str | None:
    """The signing name in a SigV4 Authorization header's credential scope, or None."""
    raw = header(request, b"authorization")
    if raw is None or not raw.startswith(b"AWS4-HMAC-SHA256 "):
        return None
    credential = raw.partition(b"Credential=")[2].partition(b",")[0]
    parts = credential.split(b"/")
    if len(parts) != 5 or not parts[3] or len(parts[3]) > MAX_SERVICE:
        return None
    service = parts[3].decode("ascii", "replace")
    return service if service.replace("-", "").isalnum() else None


def foreign_service(request: Request) -> str | None:
    """The service a request signed for another service than SSM and Secrets Manager is meant for."""
    service = service_of(request)
    return service if service is not None and service not in OURS else None


def message(service: str) -> str:
    return (f"paramsecrets answers only SSM and Secrets Manager, but this {service} request was sent to it: "
            "AWS_ENDPOINT_URL points every AWS service at paramsecrets. Set AWS_ENDPOINT_URL_SSM and "
            "AWS_ENDPOINT_URL_SECRETS_MANAGER to its URL instead, and unset AWS_ENDPOINT_URL.")


def escape(text: str) -> str:
    """Text for an XML element (xml.sax.saxutils would load the xml package for three replacements)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def answer(request: Request, service: str) -> bytes:
    """A 400 in `service`'s own error shape (the request's body, read exactly, is never looked at)."""
    text = message(service)
    rid = request_id()
    content_type = (header(request, b"content-type") or b"").lower()
    if header(request, b"x-amz-target") is not None:
        json_type = content_type if content_type.startswith(b"application/x-amz-json-") else b"application/json"
        body = json.dumps({"__type": CODE, "message": text}, separators=(",", ":")).encode()
        return _error(json_type, body, request, b"x-amzn-RequestId: %s\r\nx-amzn-ErrorType: %s\r\n"
                      % (rid, CODE.encode()))
    if request.method == b"POST" and content_type.startswith(b"application/x-www-form-urlencoded"):
        error = f"<Error><Type>Sender</Type><Code>{CODE}</Code><Message>{escape(text)}</Message></Error>"
        if service == "ec2":
            xml = f"<Response><Errors>{error}</Errors><RequestID>{rid.decode()}</RequestID></Response>"
        else:
            xml = f"<ErrorResponse>{error}<RequestId>{rid.decode()}</RequestId></ErrorResponse>"
        return _error(b"text/xml", xml.encode(), request, b"x-amzn-RequestId: %s\r\n" % rid)
    if service not in REST_XML:
        body = json.dumps({"message": text, "code": CODE}, separators=(",", ":")).encode()
        return _error(b"application/json", body, request, b"x-amzn-RequestId: %s\r\nx-amzn-ErrorType: %s\r\n"
                      % (rid, CODE.encode()))
    body = (f"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{CODE}</Code><Message>{escape(text)}"
            f"</Message><RequestId>{rid.decode()}</RequestId></Error>").encode()
    return _error(b"application/xml", body, request, b"x-amz-request-id: %s\r\n" % rid)


def _error(content_type: bytes, body: bytes, request: Request, extra: bytes) -> bytes:
    return responses.simple(STATUS, content_type, body, request.keep_alive, extra)
