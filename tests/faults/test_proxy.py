"""The fault proxy against a real moto server and a real botocore client.

Every fault is proven by what a real AWS client observes (error code, status, exception type, timing)
and, where it matters, by what moto actually received (its request recording): a fault that is
answered by the proxy must never reach moto.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import signal
import socket
import subprocess
import sys
import threading
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import botocore.config
import botocore.exceptions
import botocore.session
import pytest

from paramsecrets.testing import fault_proxy
from paramsecrets.testing.fault_proxy import NO_TARGET, FaultProxy
from paramsecrets.testing.moto import MotoServer, start_moto, wait_until
from paramsecrets.testing.net import free_port

PROXY_SCRIPT = Path(fault_proxy.__file__)
SESSION = botocore.session.get_session()

pytestmark = pytest.mark.timeout(60)


def client(
    service: str,
    url: str,
    read_timeout: float = 5.0,
    access_key: str = "AKIATESTTESTTESTTEST",
    secret_key: str = "test-secret-key-not-real",
) -> Any:
    """A botocore client with exactly one attempt per call, so counts map 1:1 to calls.

    ``total_max_attempts`` is used because botocore's ``max_attempts`` counts retries, not attempts.
    """
    return SESSION.create_client(
        service,
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id=access_key,
        aws_secret_access_key=secret_key,
        config=botocore.config.Config(retries={"total_max_attempts": 1}, read_timeout=read_timeout, connect_timeout=2),
    )


def error_of(call: Any, *args: Any, **kwargs: Any) -> tuple[str, int]:
    """Run a call that must fail with an AWS error; return (code, HTTP status)."""
    with pytest.raises(botocore.exceptions.ClientError) as info:
        call(*args, **kwargs)
    response = info.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


def name() -> str:
    return f"/faults/{uuid.uuid4().hex[:12]}"


@pytest.fixture
def proxy(moto: MotoServer) -> Iterator[FaultProxy]:
    """A fresh proxy in front of the session's (freshly reset) moto server."""
    with FaultProxy(moto.url) as p:
        yield p


# --------------------------------------------------------------------------- pass-through


def test_pass_through_forwards_ssm_and_secrets_on_kept_alive_connections(proxy: FaultProxy, moto: MotoServer) -> None:
    ssm = client("ssm", proxy.url)
    sm = client("secretsmanager", proxy.url)
    param = name()
    ssm.put_parameter(Name=param, Value="v1", Type="String")
    for _ in range(5):
        assert ssm.get_parameter(Name=param)["Parameter"]["Value"] == "v1"
    sm.create_secret(Name="db-password", SecretString="s3cret")
    assert sm.get_secret_value(SecretId="db-password")["SecretString"] == "s3cret"

    assert proxy.counts() == {
        "AmazonSSM.PutParameter": {"forwarded": 1},
        "AmazonSSM.GetParameter": {"forwarded": 5},
        "secretsmanager.CreateSecret": {"forwarded": 1},
        "secretsmanager.GetSecretValue": {"forwarded": 1},
    }
    assert moto.count() == 8
    # Each client kept its one connection alive across calls although moto closes every one.
    assert proxy.connections == 2


def test_signatures_survive_the_proxy(tmp_path: Path) -> None:
    """With moto checking SigV4, a correctly signed request through the proxy is accepted and a
    wrongly signed one rejected: the proxy changes nothing that is signed (Host included)."""
    moto = start_moto(tmp_path)
    try:
        iam = moto.client("iam")
        auth = urllib.request.Request(
            moto.url + "/moto-api/reset-auth",
            data=b"3",
            method="POST",
            headers={"Content-Type": "text/plain"},
        )
        urllib.request.urlopen(auth, timeout=10).close()
        iam.create_user(UserName="tester")  # the 3 calls that are free before auth is enforced
        key = iam.create_access_key(UserName="tester")["AccessKey"]
        iam.put_user_policy(
            UserName="tester",
            PolicyName="ssm",
            PolicyDocument=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [{"Effect": "Allow", "Action": "ssm:*", "Resource": "*"}],
                }
            ),
        )
        with FaultProxy(moto.url) as proxy:
            good = client("ssm", proxy.url, access_key=key["AccessKeyId"], secret_key=key["SecretAccessKey"])
            good.put_parameter(Name="/signed", Value="ok", Type="String")
            assert good.get_parameter(Name="/signed")["Parameter"]["Value"] == "ok"
            bad = client("ssm", proxy.url, access_key=key["AccessKeyId"], secret_key="wrong")
            bodies: list[bytes] = []  # moto's 403 body is XML, which botocore's JSON parser drops
            bad.meta.events.register("after-call.ssm", lambda http_response, **_: bodies.append(http_response.content))
            assert error_of(bad.get_parameter, Name="/signed")[1] == 403
            assert b"<Code>SignatureDoesNotMatch</Code>" in bodies[0]
    finally:
        moto.stop()


class _CaptureUpstream:
    """Records the exact bytes of every request it gets and answers without Content-Length or with
    chunked encoding, then closes (as moto does). Used only to prove byte-for-byte forwarding and
    the proxy's response re-framing, which moto cannot show."""

    def __init__(self) -> None:
        self.requests: list[bytes] = []
        self._sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._sock.getsockname()[1]}"
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            with conn:
                data = b""
                while b"\r\n\r\n" not in data:
                    data += conn.recv(65536)
                head = data.split(b"\r\n\r\n", 1)[0].lower()
                if b"transfer-encoding: chunked" in head:
                    while not data.endswith(b"0\r\n\r\n"):
                        data += conn.recv(65536)
                else:
                    length = int(head.split(b"content-length:", 1)[1].split(b"\r\n", 1)[0])
                    while len(data) < len(head) + 4 + length:
                        data += conn.recv(65536)
                self.requests.append(data)
                if len(self.requests) % 2:
                    conn.sendall(b"HTTP/1.1 200 OK\r\nX-Upstream: 1\r\nConnection: close\r\n\r\nhello")
                else:
                    conn.sendall(
                        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                        b"3\r\nhel\r\n2\r\nlo\r\n0\r\n\r\n"
                    )

    def close(self) -> None:
        self._sock.close()


def test_requests_are_forwarded_byte_for_byte_and_responses_reframed() -> None:
    upstream = _CaptureUpstream()
    try:
        with FaultProxy(upstream.url) as proxy:
            sent = [
                b"POST /a?b=c HTTP/1.1\r\nhost: 127.0.0.1:1\r\nX-Amz-Target: AmazonSSM.GetParameter\r\n"
                b"x-AMZ-date: 20240101T000000Z\r\nX-Dup: 1\r\nX-Dup: 2\r\nContent-Length: 11\r\n\r\n"
                b'{"Name":1}\n',
                b"POST / HTTP/1.1\r\nHost: h\r\nX-Amz-Target: secretsmanager.GetSecretValue\r\n"
                b'Transfer-Encoding: chunked\r\n\r\n4;ext=1\r\n{"a"\r\n3\r\n:1}\r\n0\r\n\r\n',
            ]
            with socket.create_connection(("127.0.0.1", proxy.port), timeout=5) as sock:
                for raw in sent:  # both on one client connection: the proxy keeps it alive
                    sock.sendall(raw)
                    response = http.client.HTTPResponse(sock)
                    response.begin()
                    assert response.status == 200
                    assert response.read() == b"hello"
                    assert response.getheader("Content-Length") == "5"
                    assert response.getheader("Connection") is None
            assert upstream.requests == sent
            assert proxy.connections == 1
    finally:
        upstream.close()


def test_expect_100_continue_is_answered_by_the_proxy() -> None:
    """A client that waits for "100 Continue" before its body gets it from the proxy, which needs the
    body before it can decide and forward; the upstream still receives the request unchanged."""
    upstream = _CaptureUpstream()
    try:
        with FaultProxy(upstream.url) as proxy:
            head = b"POST / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n"
            with socket.create_connection(("127.0.0.1", proxy.port), timeout=5) as sock:
                sock.sendall(head)
                assert sock.recv(1024) == b"HTTP/1.1 100 Continue\r\n\r\n"
                sock.sendall(b"{}")
                response = http.client.HTTPResponse(sock)
                response.begin()
                assert (response.status, response.read()) == (200, b"hello")
            assert upstream.requests == [head + b"{}"]
    finally:
        upstream.close()


def test_many_concurrent_clients_all_get_through(proxy: FaultProxy, moto: MotoServer) -> None:
    param = name()
    client("ssm", moto.url).put_parameter(Name=param, Value="x", Type="String")
    errors: list[BaseException] = []

    def worker() -> None:
        ssm = client("ssm", proxy.url)
        try:
            for _ in range(20):
                assert ssm.get_parameter(Name=param)["Parameter"]["Value"] == "x"
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    assert proxy.counts() == {"AmazonSSM.GetParameter": {"forwarded": 160}}
    assert moto.count("AmazonSSM.GetParameter") == 160


# --------------------------------------------------------------------------- throttle


def test_throttle_allows_the_burst_and_answers_throttling_exception_beyond(proxy: FaultProxy,
                                                                           moto: MotoServer) -> None:
    param = name()
    client("ssm", moto.url).put_parameter(Name=param, Value="x", Type="String")
    moto.clear_calls()
    proxy.throttle(0, burst=5, service="AmazonSSM")  # no refill: exactly the burst gets through
    ssm = client("ssm", proxy.url)
    ok, throttled = 0, 0
    for _ in range(20):
        try:
            ssm.get_parameter(Name=param)
            ok += 1
        except botocore.exceptions.ClientError as exc:
            assert exc.response["Error"]["Code"] == "ThrottlingException"
            assert exc.response["Error"]["Message"] == "Rate exceeded"
            assert exc.response["ResponseMetadata"]["HTTPStatusCode"] == 400
            assert exc.response["ResponseMetadata"]["HTTPHeaders"]["x-amzn-errortype"] == "ThrottlingException"
            throttled += 1
    assert (ok, throttled) == (5, 15)
    assert proxy.counts() == {"AmazonSSM.GetParameter": {"forwarded": ok, "throttled": throttled}}
    assert moto.count("AmazonSSM.GetParameter") == ok  # throttled calls never reached moto

    proxy.throttle(20, burst=1, service="AmazonSSM")  # the bucket refills: a call gets through again

    def passes() -> bool:
        try:
            value: str = ssm.get_parameter(Name=param)["Parameter"]["Value"]
            return value == "x"
        except botocore.exceptions.ClientError as exc:
            assert exc.response["Error"]["Code"] == "ThrottlingException"
            return False

    assert passes()  # the new bucket starts full
    assert wait_until(passes, timeout=30)
    # Another service is not affected by the SSM bucket.
    sm = client("secretsmanager", proxy.url)
    for i in range(10):
        sm.create_secret(Name=f"s{i}", SecretString="v")
    assert proxy.total("secretsmanager", outcome="forwarded") == 10


def test_throttle_bucket_is_shared_by_every_client(proxy: FaultProxy, moto: MotoServer) -> None:
    """A fleet shares one account quota: four clients together get the burst, not four times it."""
    param = name()
    client("ssm", moto.url).put_parameter(Name=param, Value="x", Type="String")
    proxy.throttle(0, burst=10, operation="AmazonSSM.GetParameter")  # no refill: exactly 10 pass
    ok = [0] * 4

    def worker(i: int) -> None:
        ssm = client("ssm", proxy.url)
        for _ in range(10):
            try:
                ssm.get_parameter(Name=param)
                ok[i] += 1
            except botocore.exceptions.ClientError as exc:
                assert exc.response["Error"]["Code"] == "ThrottlingException"

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sum(ok) == 10
    assert proxy.total("AmazonSSM.GetParameter", outcome="forwarded") == 10
    assert proxy.total("AmazonSSM.GetParameter", outcome="throttled") == 30
    assert proxy.connections == 4


# --------------------------------------------------------------------------- fail


def test_fail_times_then_passes_and_never_reaches_moto(proxy: FaultProxy, moto: MotoServer) -> None:
    ssm = client("ssm", proxy.url)
    param = name()
    proxy.fail(500, service="AmazonSSM", times=2)
    assert error_of(ssm.put_parameter, Name=param, Value="v", Type="String") == ("InternalServerError", 500)
    assert error_of(ssm.get_parameter, Name=param) == ("InternalServerError", 500)
    # The failed PutParameter was answered by the proxy: moto never stored the value.
    assert error_of(ssm.get_parameter, Name=param) == ("ParameterNotFound", 400)
    assert moto.count() == 1

    sm = client("secretsmanager", proxy.url)
    proxy.fail(503, operation="secretsmanager.CreateSecret", times=1)
    assert error_of(sm.create_secret, Name="x", SecretString="v") == ("ServiceUnavailable", 503)
    sm.create_secret(Name="x", SecretString="v")
    assert proxy.counts() == {
        "AmazonSSM.PutParameter": {"failed": 1},
        "AmazonSSM.GetParameter": {"failed": 1, "forwarded": 1},
        "secretsmanager.CreateSecret": {"failed": 1, "forwarded": 1},
    }
    assert proxy.rules() == {"operations": {}, "services": {}, "default": None}  # times used up


def test_fail_with_any_status_and_explicit_code(proxy: FaultProxy) -> None:
    ssm = client("ssm", proxy.url)
    proxy.fail(400, code="AccessDeniedException", message="no", operation="AmazonSSM.GetParameter")
    assert error_of(ssm.get_parameter, Name="/x") == ("AccessDeniedException", 400)
    proxy.fail(599, code="Odd", operation="AmazonSSM.GetParameter")  # no standard reason phrase
    assert error_of(ssm.get_parameter, Name="/x") == ("Odd", 599)


# --------------------------------------------------------------------------- delay


def test_delay_exceeds_a_short_read_timeout_but_still_reaches_aws(proxy: FaultProxy, moto: MotoServer) -> None:
    param = name()
    impatient = client("ssm", proxy.url, read_timeout=0.25)
    proxy.delay(3, operation="AmazonSSM.PutParameter")  # far beyond the client's patience
    with pytest.raises(botocore.exceptions.ReadTimeoutError):
        impatient.put_parameter(Name=param, Value="late", Type="String")
    assert proxy.counts() == {"AmazonSSM.PutParameter": {"delayed": 1}}
    # Like a slow AWS, the request was processed after all: the client just stopped waiting.
    assert wait_until(lambda: moto.count("AmazonSSM.PutParameter") == 1, timeout=30)
    assert client("ssm", moto.url).get_parameter(Name=param)["Parameter"]["Value"] == "late"

    # A delay under the timeout only holds the call back; other operations are not delayed.
    proxy.delay(0.2, operation="AmazonSSM.GetParameter")
    patient = client("ssm", proxy.url)
    assert patient.get_parameter(Name=param)["Parameter"]["Value"] == "late"
    patient.describe_parameters()
    assert proxy.counts()["AmazonSSM.GetParameter"] == {"delayed": 1}
    assert proxy.counts()["AmazonSSM.DescribeParameters"] == {"forwarded": 1}


# --------------------------------------------------------------------------- reset / blackhole


def test_reset_closes_with_rst_and_botocore_sees_a_connection_error(proxy: FaultProxy, moto: MotoServer) -> None:
    ssm = client("ssm", proxy.url)
    proxy.reset_connections(service="AmazonSSM", times=1)
    with pytest.raises(botocore.exceptions.ConnectionClosedError):
        ssm.describe_parameters()
    ssm.describe_parameters()  # times=1 used up; botocore reconnects

    proxy.reset_connections()
    request = b"POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: AmazonSSM.GetParameter\r\nContent-Length: 2\r\n\r\n{}"
    with socket.create_connection(("127.0.0.1", proxy.port), timeout=5) as sock:
        sock.sendall(request)
        with pytest.raises(ConnectionResetError):  # RST, not an orderly FIN (which reads b"")
            sock.recv(1024)
    assert proxy.counts() == {
        "AmazonSSM.DescribeParameters": {"reset": 1, "forwarded": 1},
        "AmazonSSM.GetParameter": {"reset": 1},
    }
    assert moto.count() == 1


def test_blackhole_times_out_and_stop_is_prompt(moto: MotoServer) -> None:
    proxy = FaultProxy(moto.url)
    proxy.start()
    hanging = socket.socket()
    try:
        proxy.blackhole(service="secretsmanager")
        sm = client("secretsmanager", proxy.url, read_timeout=0.3)
        with pytest.raises(botocore.exceptions.ReadTimeoutError):
            sm.list_secrets()
        client("ssm", proxy.url).describe_parameters()  # another service is untouched
        assert proxy.counts() == {
            "secretsmanager.ListSecrets": {"blackholed": 1},
            "AmazonSSM.DescribeParameters": {"forwarded": 1},
        }
        assert moto.count("secretsmanager.ListSecrets") == 0
        hanging.settimeout(5)
        hanging.connect(("127.0.0.1", proxy.port))
        hanging.sendall(
            b"POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: secretsmanager.ListSecrets\r\nContent-Length: 0\r\n\r\n"
        )
        assert wait_until(lambda: proxy.total("secretsmanager.ListSecrets", "blackholed") == 2, timeout=30)
    finally:
        proxy.stop()  # returns although a blackholed request is still open (the test's timeout guards it)
    with hanging, contextlib.suppress(ConnectionResetError):  # closed by stop(), never answered
        assert hanging.recv(1024) == b""
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", proxy.port), timeout=1).close()


# --------------------------------------------------------------------------- targeting and counting


def test_most_specific_rule_wins_and_times_falls_back(proxy: FaultProxy) -> None:
    ssm = client("ssm", proxy.url)
    param = name()
    proxy.fail(503, service="AmazonSSM")
    proxy.set_mode("pass", operation="AmazonSSM.PutParameter")
    proxy.fail(500, operation="AmazonSSM.GetParameter", times=1)
    ssm.put_parameter(Name=param, Value="v", Type="String")
    assert error_of(ssm.get_parameter, Name=param) == ("InternalServerError", 500)
    assert error_of(ssm.get_parameter, Name=param) == ("ServiceUnavailable", 503)  # back to service rule
    assert error_of(ssm.get_parameters, Names=[param]) == ("ServiceUnavailable", 503)
    proxy.fail(500)  # catch-all: below the service rule for SSM, applies to Secrets Manager
    assert error_of(ssm.get_parameters, Names=[param]) == ("ServiceUnavailable", 503)
    assert error_of(client("secretsmanager", proxy.url).list_secrets) == ("InternalServerError", 500)
    proxy.pass_through()
    assert ssm.get_parameters(Names=[param])["Parameters"][0]["Value"] == "v"


def test_counts_total_and_clear(proxy: FaultProxy, moto: MotoServer) -> None:
    ssm = client("ssm", proxy.url)
    sm = client("secretsmanager", proxy.url)
    proxy.fail(500, operation="AmazonSSM.GetParameter", times=2)
    for _ in range(3):
        with pytest.raises(botocore.exceptions.ClientError):
            ssm.get_parameter(Name="/missing")
    ssm.describe_parameters()
    sm.list_secrets()
    # A request without X-Amz-Target (moto's own API) is forwarded and counted under NO_TARGET.
    urllib.request.urlopen(proxy.url + "/moto-api/", timeout=5).close()

    assert proxy.counts() == {
        "AmazonSSM.GetParameter": {"failed": 2, "forwarded": 1},
        "AmazonSSM.DescribeParameters": {"forwarded": 1},
        "secretsmanager.ListSecrets": {"forwarded": 1},
        NO_TARGET: {"forwarded": 1},
    }
    assert proxy.total() == 6
    assert proxy.total("AmazonSSM") == 4
    assert proxy.total("AmazonSSM.GetParameter") == 3
    assert proxy.total("AmazonSSM.GetParameter", outcome="failed") == 2
    assert proxy.total(outcome="forwarded") == 4
    assert proxy.total("secretsmanager.GetSecretValue") == 0
    proxy.clear()
    assert proxy.counts() == {}
    assert proxy.total() == 0


def test_unreachable_upstream_answers_502_and_counts_upstream_error() -> None:
    with FaultProxy(f"http://127.0.0.1:{free_port()}") as proxy:
        assert error_of(client("ssm", proxy.url).describe_parameters) == ("BadGateway", 502)
        assert proxy.counts() == {"AmazonSSM.DescribeParameters": {"upstream_error": 1}}


def test_bad_configuration_is_rejected() -> None:
    proxy = FaultProxy("http://127.0.0.1:1")
    with pytest.raises(ValueError, match="unknown mode"):
        proxy.set_mode("explode")
    with pytest.raises(ValueError, match="takes no parameter"):
        proxy.set_mode("delay", seconds=1, rate_per_s=3)
    with pytest.raises(ValueError, match="needs seconds"):
        proxy.set_mode("delay")
    with pytest.raises(ValueError, match="explicit code"):
        proxy.fail(418)
    with pytest.raises(ValueError, match="times"):
        proxy.blackhole(times=0)
    with pytest.raises(ValueError, match="not in service"):
        proxy.reset_connections(service="secretsmanager", operation="AmazonSSM.GetParameter")
    with pytest.raises(ValueError, match="http://"):
        FaultProxy("https://example.com")
    assert proxy.rules() == {"operations": {}, "services": {}, "default": None}


# --------------------------------------------------------------------------- process mode


def control(url: str, path: str, body: Any = None) -> tuple[int, Any]:
    """Call the control API the way a benchmark in another process would."""
    data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    request = urllib.request.Request(url + "/__proxy/" + path, data=data, method="GET" if data is None else "POST")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_process_mode_and_control_api(moto: MotoServer) -> None:
    proc = subprocess.Popen(
        [sys.executable, str(PROXY_SCRIPT), "--upstream", moto.url, "--port", "0", "--throttle-ssm", "3"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        ssm = client("ssm", url)
        outcomes = []
        for _ in range(6):
            try:
                ssm.describe_parameters()
                outcomes.append("ok")
            except botocore.exceptions.ClientError as exc:
                outcomes.append(exc.response["Error"]["Code"])
        assert outcomes[:3] == ["ok"] * 3 and outcomes.count("ThrottlingException") >= 2
        ok = outcomes.count("ok")
        assert control(url, "counts") == (
            200,
            {"AmazonSSM.DescribeParameters": {"forwarded": ok, "throttled": 6 - ok}},
        )

        status, answer = control(url, "mode", {"mode": "fail", "status": 503, "service": "secretsmanager", "times": 1})
        assert status == 200 and answer["rules"]["services"]["secretsmanager"]["code"] == "ServiceUnavailable"
        sm = client("secretsmanager", url)
        assert error_of(sm.list_secrets) == ("ServiceUnavailable", 503)
        sm.list_secrets()

        assert control(url, "mode", {"mode": "delay"})[0] == 400
        assert control(url, "mode", b"not json")[0] == 400
        assert control(url, "nope")[0] == 404
        assert control(url, "pass_through", {})[0] == 200
        assert control(url, "modes") == (200, {"operations": {}, "services": {}, "default": None})
        for _ in range(5):
            ssm.describe_parameters()  # no longer throttled
        assert control(url, "clear", {})[0] == 200
        assert control(url, "counts") == (200, {})

        proc.send_signal(signal.SIGTERM)
        assert proc.wait(5) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
