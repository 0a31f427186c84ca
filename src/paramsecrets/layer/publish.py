"""`paramsecrets layer publish ZIP --name NAME --region R[,R...]`: publish the layer zip to Lambda.

For each region in turn: (the zip to S3 first when `--s3-bucket` is given or the zip is over
Lambda's direct-upload limit), `PublishLayerVersion` with the compatible architecture and no
runtime list (the layer serves every runtime), then with `--public` `AddLayerVersionPermission`
granting `lambda:GetLayerVersion` to `*`. Calls are signed with awscrt like every other AWS call
of paramsecrets (no botocore); Lambda speaks REST-JSON. Progress goes to stderr, one line per
step; the ARNs go to stdout, one per line; the exit code is 1 when a region failed (named), 2 for
a usage error.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import io
import json
import os
import re
import sys
import urllib.parse
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

API_VERSION = "2018-10-31"
DIRECT_UPLOAD_LIMIT = 50 * 1048576
"""Lambda's limit for a zip sent in the request itself (ZipFile); larger ones go through S3."""
NAME_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
MAX_DESCRIPTION = 256
TIMEOUT_S = 300.0
STATEMENT_ID = "paramsecrets-public"
ARCHES = ("x86_64", "arm64")

Progress = Callable[[str], object]


class PublishError(Exception):
    """One region's failure; the message says which call failed and why (never a credential)."""


@dataclass(frozen=True)
class Request:
    """What to publish."""

    zip_path: Path
    name: str
    arch: str
    public: bool
    description: str
    s3_bucket: str | None


def _default_arch(zip_path: Path) -> str:
    """The arch the zip was built for (its paramsecrets/layer.json), else x86_64."""
    try:
        with zipfile.ZipFile(zip_path) as archive:
            arch = json.loads(archive.read("paramsecrets/layer.json")).get("arch")
    except (KeyError, OSError, ValueError, zipfile.BadZipFile):
        return "x86_64"
    return arch if arch in ARCHES else "x86_64"


class _Exchange:
    def __init__(self) -> None:
        self.status = 0
        self.headers: list[tuple[str, str]] = []
        self.body = bytearray()

    def on_response(self, http_stream: Any, status_code: int, headers: list[tuple[str, str]], **_: Any) -> None:
        self.status = status_code
        self.headers = headers

    def on_body(self, http_stream: Any, chunk: bytes, **_: Any) -> None:
        self.body += chunk

    def header(self, name: str) -> str:
        return next((v for k, v in self.headers if k.lower() == name), "")


class SignedClient:
    """One signed HTTP request at a time, over awscrt (SigV4, default credentials chain, TLS)."""

    def __init__(self) -> None:
        from paramsecrets.aws.transport import CrtRuntime

        self.runtime = CrtRuntime(os.environ.get("AWS_CA_BUNDLE") or None)

    async def send(self, service: str, region: str, method: str, url: str, body: bytes,
                   headers: list[tuple[str, str]]) -> _Exchange:
        from awscrt.auth import AwsSignedBodyHeaderType, AwsSigningConfig, aws_sign_request
        from awscrt.exceptions import AwsCrtError
        from awscrt.http import HttpClientConnection, HttpHeaders, HttpRequest

        from paramsecrets import __version__
        from paramsecrets.aws.endpoints import parse_endpoint_url
        from paramsecrets.aws.transport import crt_result

        endpoint = parse_endpoint_url("url", url)
        split = urllib.parse.urlsplit(url)
        target = split.path + (f"?{split.query}" if split.query else "")
        request = HttpRequest(method, target, HttpHeaders([
            ("Host", endpoint.host_header), ("Content-Length", str(len(body))),
            ("User-Agent", f"paramsecrets/{__version__}"), *headers,
        ]), io.BytesIO(body))
        config = AwsSigningConfig(
            credentials_provider=self.runtime.credentials, region=region, service=service,
            signed_body_header_type=AwsSignedBodyHeaderType.X_AMZ_CONTENT_SHA_256 if service == "s3"
            else AwsSignedBodyHeaderType.NONE,
        )
        try:
            await crt_result(aws_sign_request(request, config))
        except AwsCrtError as error:
            raise PublishError(f"no usable AWS credentials to sign with ({error.name})") from None
        request.body_stream = io.BytesIO(body)
        tls = None
        if endpoint.tls:
            tls = self.runtime.tls.new_connection_options()
            tls.set_server_name(endpoint.host)
        exchange = _Exchange()
        try:
            connection = await crt_result(HttpClientConnection.new(
                host_name=endpoint.host, port=endpoint.port, bootstrap=self.runtime.bootstrap,
                socket_options=self.runtime.socket_options, tls_connection_options=tls))
            try:
                stream = connection.request(request, exchange.on_response, exchange.on_body)
                stream.activate()
                await asyncio.wait_for(crt_result(stream.completion_future), TIMEOUT_S)
            finally:
                connection.close()
        except AwsCrtError as error:
            raise PublishError(f"{error.name} talking to {endpoint.host}:{endpoint.port}") from None
        except TimeoutError:
            raise PublishError(f"{endpoint.host} did not answer within {TIMEOUT_S:g}s") from None
        return exchange


def _error(call: str, exchange: _Exchange) -> PublishError:
    """AWS's error code and message for a failed call (REST-JSON or S3's XML)."""
    code = exchange.header("x-amzn-errortype").split(":")[0]
    message = ""
    try:
        data = json.loads(bytes(exchange.body) or b"{}")
        code = code or str(data.get("Type") or data.get("__type") or "")
        message = str(data.get("message") or data.get("Message") or "")
    except ValueError:
        text = bytes(exchange.body).decode("utf-8", "replace")
        found = re.search(r"<Code>([^<]{1,100})</Code>", text)
        code = code or (found.group(1) if found else "")
        found = re.search(r"<Message>([^<]{1,300})</Message>", text)
        message = found.group(1) if found else ""
    return PublishError(f"{call} failed: HTTP {exchange.status} {code or 'error'}"
                        + (f": {message[:300]}" if message else ""))


def _lambda_url(region: str) -> str:
    from paramsecrets.aws.endpoints import resolve

    return resolve("lambda", "LAMBDA", region, os.environ).url.rstrip("/")


def _s3_url(region: str, bucket: str, key: str) -> str:
    from paramsecrets.aws.endpoints import resolve

    endpoint = resolve("s3", "S3", region, os.environ)
    path = f"/{urllib.parse.quote(bucket)}/{urllib.parse.quote(key)}"
    overridden = any(os.environ.get(v) for v in ("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"))
    if overridden or "." in bucket:
        return endpoint.url.rstrip("/") + path  # path style (a local S3, or a dotted bucket name)
    return f"https://{bucket}.{endpoint.host}/{urllib.parse.quote(key)}"


async def publish_region(client: SignedClient, request: Request, data: bytes, region: str,
                         progress: Progress) -> str:
    """Publish in one region; returns the LayerVersionArn."""
    content: dict[str, str]
    if request.s3_bucket or len(data) > DIRECT_UPLOAD_LIMIT:
        if not request.s3_bucket:
            raise PublishError(f"the zip is over Lambda's direct-upload limit of {DIRECT_UPLOAD_LIMIT >> 20} MiB: "
                               "give an S3 bucket in that region with --s3-bucket")
        bucket = request.s3_bucket.replace("{region}", region)
        key = f"{request.name}/{hashlib.sha256(data).hexdigest()}.zip"
        progress(f"  {region}: uploading to s3://{bucket}/{key} ...")
        exchange = await client.send("s3", region, "PUT", _s3_url(region, bucket, key), data,
                                     [("Content-Type", "application/zip")])
        if not 200 <= exchange.status < 300:
            raise _error(f"S3 PutObject to s3://{bucket}", exchange)
        content = {"S3Bucket": bucket, "S3Key": key}
    else:
        content = {"ZipFile": base64.b64encode(data).decode()}
    body: dict[str, Any] = {"Content": content, "CompatibleArchitectures": [request.arch]}
    if request.description:
        body["Description"] = request.description
    base = f"{_lambda_url(region)}/{API_VERSION}/layers/{urllib.parse.quote(request.name)}/versions"
    progress(f"  {region}: PublishLayerVersion {request.name} ({request.arch}) ...")
    exchange = await client.send("lambda", region, "POST", base, json.dumps(body).encode(),
                                 [("Content-Type", "application/json")])
    if exchange.status != 201 and not 200 <= exchange.status < 300:
        raise _error("PublishLayerVersion", exchange)
    try:
        answer = json.loads(bytes(exchange.body))
        arn, version = str(answer["LayerVersionArn"]), int(answer["Version"])
    except (ValueError, KeyError, TypeError):
        raise PublishError("PublishLayerVersion answered without a LayerVersionArn") from None
    if request.public:
        permission = {"StatementId": STATEMENT_ID, "Action": "lambda:GetLayerVersion", "Principal": "*"}
        exchange = await client.send("lambda", region, "POST", f"{base}/{version}/policy",
                                     json.dumps(permission).encode(), [("Content-Type", "application/json")])
        if not 200 <= exchange.status < 300:
            raise _error(f"AddLayerVersionPermission (version {version} is published, not public)", exchange)
    progress(f"  {region}: published {arn}{' (public)' if request.public else ''}")
    return arn


async def publish(request: Request, regions: list[str], progress: Progress) -> tuple[list[str], dict[str, str]]:
    """Every region in turn; (ARNs, {failed region: why})."""
    data = request.zip_path.read_bytes()
    client = SignedClient()
    arns: list[str] = []
    failed: dict[str, str] = {}
    for region in regions:
        try:
            arns.append(await publish_region(client, request, data, region, progress))
        except PublishError as error:
            failed[region] = str(error)
            progress(f"  {region}: FAILED: {error}")
    return arns, failed


def _regions(text: str) -> list[str]:
    from paramsecrets.aws.endpoints import valid_region

    regions = [r.strip() for r in text.split(",") if r.strip()]
    bad = [r for r in regions if not valid_region(r)]
    if not regions or bad:
        raise ValueError(f"not a region name: {', '.join(bad) or repr(text)} (e.g. us-east-1,eu-west-1)")
    return list(dict.fromkeys(regions))


def main(argv: list[str]) -> int:
    """`paramsecrets layer publish` command line."""
    parser = argparse.ArgumentParser(
        prog="paramsecrets layer publish",
        description="Publish a layer zip as a new Lambda layer version in each region (signed with the "
                    "default AWS credentials chain). Prints the version ARNs, one per line.",
    )
    parser.add_argument("zip", type=Path, metavar="ZIP", help="the zip from `paramsecrets layer build`")
    parser.add_argument("--name", required=True, help="the layer name (letters, digits, - and _; up to 64)")
    parser.add_argument("--region", required=True, metavar="R[,R...]", help="one or more regions, comma-separated")
    parser.add_argument("--arch", choices=ARCHES, default=None,
                        help="compatible architecture (default: the one the zip was built for)")
    parser.add_argument("--public", action="store_true", help="let every AWS account use the layer version")
    parser.add_argument("--description", default="", help=f"the version's description (up to {MAX_DESCRIPTION})")
    parser.add_argument("--s3-bucket", metavar="BUCKET",
                        help="upload through this bucket ({region} is replaced by each region); "
                             f"needed for zips over {DIRECT_UPLOAD_LIMIT >> 20} MiB")
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 2
    problems = []
    if not NAME_RE.match(args.name):
        problems.append(f"--name {args.name!r}: letters, digits, - and _ only, 1 to 64 of them")
    try:
        regions = _regions(args.region)
    except ValueError as error:
        problems.append(f"--region: {error}")
    if len(args.description) > MAX_DESCRIPTION:
        problems.append(f"--description: at most {MAX_DESCRIPTION} characters")
    if not args.zip.is_file() or not zipfile.is_zipfile(args.zip):
        problems.append(f"{args.zip}: not a zip file")
    if problems:
        for problem in problems:
            print(f"paramsecrets layer publish: error: {problem}", file=sys.stderr)
        return 2
    request = Request(args.zip, args.name, args.arch or _default_arch(args.zip), args.public,
                      args.description, args.s3_bucket)

    def progress(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    size = args.zip.stat().st_size
    progress(f"publishing {args.zip} ({size / 1048576:.1f} MiB, {request.arch}) as layer {args.name} "
             f"in {len(regions)} region(s)")
    try:
        arns, failed = asyncio.run(publish(request, regions, progress))
    except PublishError as error:  # before any region: no credentials provider, no TLS
        print(f"paramsecrets layer publish: error: {error}", file=sys.stderr)
        return 1
    for arn in arns:
        print(arn, flush=True)
    if failed:
        print(f"paramsecrets layer publish: failed in {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0
