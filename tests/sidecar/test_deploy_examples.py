"""The Kubernetes and ECS sidecar examples, wired for real: the sidecar's environment starts the
real server (against moto), its probes and health check answer, metrics scrape, and the application
container's environment reads values through it with the shared token. Image paths, the port and
the token's location are the only things mapped to this machine."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from paramsecrets.client import Client
from paramsecrets.testing.moto import MotoServer
from paramsecrets.testing.server import ServerProcess

REPO = Path(__file__).resolve().parents[2]
Start = Callable[..., ServerProcess]


def env_list(items: list[dict[str, str]]) -> dict[str, str]:
    return {item["name"]: item["value"] for item in items}


def get(port: int, path: str) -> tuple[int, str]:
    import urllib.request

    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as answer:
        return answer.status, answer.read().decode()


def test_kubernetes_sidecar(start: Start, moto: MotoServer, tmp_path: Path) -> None:
    deployment = yaml.safe_load((REPO / "examples" / "kubernetes" / "sidecar.yaml").read_text())
    pod = deployment["spec"]["template"]
    sidecar = next(c for c in pod["spec"]["initContainers"] if c["name"] == "paramsecrets")
    app = next(c for c in pod["spec"]["containers"] if c["name"] == "app")
    assert sidecar["restartPolicy"] == "Always"  # a native sidecar: up before the app, stopped after it
    assert sidecar["securityContext"]["runAsNonRoot"] is True
    mount = {m["name"]: m["mountPath"] for m in sidecar["volumeMounts"]}["paramsecrets-token"]
    assert mount == {m["name"]: m["mountPath"] for m in app["volumeMounts"]}["paramsecrets-token"]

    # The Secret's file, where the pod mounts it; both containers read it through AWS_TOKEN=file://.
    token_dir = tmp_path / "token-volume"
    token_dir.mkdir()
    (token_dir / "token").write_text("k8s-example-token-0123456789\n")
    sidecar_env, app_env = env_list(sidecar["env"]), env_list(app["env"])
    for env in (sidecar_env, app_env):
        assert env["AWS_TOKEN"].startswith(f"file://{mount}/")
        env["AWS_TOKEN"] = env["AWS_TOKEN"].replace(mount, str(token_dir))
    moto.client("ssm").put_parameter(Name="/orders/db/host", Value="db.orders.internal", Type="String")
    moto.clear_calls()
    sidecar_env.pop("AWS_REGION")  # moto's region comes from the test environment
    server = start(**sidecar_env)  # on a free port (--port), standing for the pod's 2773
    for probe in (sidecar["startupProbe"], sidecar["livenessProbe"]):
        assert probe["httpGet"]["port"] == sidecar["ports"][0]["containerPort"] == 2773
        assert get(server.port, probe["httpGet"]["path"]) == (200, "healthy")
    annotations = pod["metadata"]["annotations"]
    status, metrics = get(server.port, annotations["prometheus.io/path"])
    assert status == 200 and "paramsecrets_" in metrics
    app_env["PARAMETERS_SECRETS_EXTENSION_HTTP_PORT"] = str(server.port)
    client = Client(environ=app_env, retry_seconds=0)
    assert client.get_parameter(app_env["CONFIG_PARAMETER"]) == "db.orders.internal"
    assert moto.count("AmazonSSM.GetParametersByPath") >= 1  # the sidecar's prefetch of /orders/


def test_ecs_task_definition(start: Start, moto: MotoServer) -> None:
    task: dict[str, Any] = json.loads((REPO / "examples" / "ecs" / "task-definition.json").read_text())
    assert task["networkMode"] == "awsvpc"  # the containers share localhost
    containers = {c["name"]: c for c in task["containerDefinitions"]}
    sidecar, app = containers["paramsecrets"], containers["app"]
    assert app["dependsOn"] == [{"containerName": "paramsecrets", "condition": "HEALTHY"}]
    assert sidecar["user"] != "0" and not sidecar["user"].startswith("0:")
    # ECS puts the Secrets Manager secret in the variable; both containers name it in TOKEN_ENV.
    token = "ecs-example-token-0123456789"
    sidecar_env, app_env = env_list(sidecar["environment"]), env_list(app["environment"])
    for container, env in ((sidecar, sidecar_env), (app, app_env)):
        for secret in container["secrets"]:
            env[secret["name"]] = token
    moto.client("secretsmanager").create_secret(Name="orders/db", SecretString='{"username": "orders"}')
    moto.clear_calls()
    sidecar_env.pop("AWS_REGION")
    port = start(drop=("AWS_TOKEN",), **sidecar_env).port  # a free port standing for the task's 2773
    command = sidecar["healthCheck"]["command"]
    assert command[0] == "CMD" and command[1] == "/opt/paramsecrets/bin/python"
    checked = subprocess.run([sys.executable, *[part.replace(":2773/", f":{port}/") for part in command[2:]]],
                             capture_output=True, text=True, timeout=30)
    assert checked.returncode == 0, checked.stderr
    app_env["PARAMETERS_SECRETS_EXTENSION_HTTP_PORT"] = str(port)
    assert Client(environ=app_env, retry_seconds=0).get_secret_json(app_env["DB_SECRET_ID"]) == {"username": "orders"}
    # one secret prefetched: one GetSecretValue (a batch of one would spend BatchGetSecretValue's
    # 100 TPS), shared with or followed by the app's read, which adds no call
    assert (moto.count("secretsmanager.GetSecretValue"), moto.count("secretsmanager.BatchGetSecretValue")) == (1, 0)


def test_the_kubernetes_token_is_readable_by_the_sidecar_user() -> None:
    """The Secret volume as Kubernetes lays it out (owner root, group fsGroup, defaultMode), read by
    a process with the sidecar's uid and gid and the pod's supplementary groups: the kernel lets it
    read the file and paramsecrets' own token-file rules accept it, without the world-readable
    warning. Without fsGroup (the example before) the same read is refused."""
    import os
    import tempfile

    if os.geteuid() != 0:
        pytest.skip("needs root to read as another user")
    from paramsecrets.api import tokens

    deployment = yaml.safe_load((REPO / "examples" / "kubernetes" / "sidecar.yaml").read_text())
    spec = deployment["spec"]["template"]["spec"]
    sidecar = next(c for c in spec["initContainers"] if c["name"] == "paramsecrets")
    user, group = sidecar["securityContext"]["runAsUser"], sidecar["securityContext"]["runAsGroup"]
    fs_group = spec["securityContext"]["fsGroup"]
    mode = next(v for v in spec["volumes"] if v["name"] == "paramsecrets-token")["secret"]["defaultMode"]
    volume = Path(tempfile.mkdtemp())  # pytest's tmp_path is private to root: the sidecar user could not enter
    try:
        volume.chmod(0o755)
        token = volume / "token"
        token.write_text("k8s-example-token-0123456789")
        os.chown(token, 0, fs_group)
        token.chmod(mode)

        def read_as(groups: list[int]) -> subprocess.CompletedProcess[str]:
            return subprocess.run(["cat", str(token)], user=user, group=group, extra_groups=groups,
                                  capture_output=True, text=True, timeout=10)

        assert read_as([fs_group]).stdout == "k8s-example-token-0123456789"
        assert tokens.read_token_file(str(token), "AWS_TOKEN") == b"k8s-example-token-0123456789"
        assert not token.stat().st_mode & 0o004  # not every user's: no warning
        os.chown(token, 0, 0)  # no fsGroup: the volume's files stay root's group
        assert read_as([]).returncode != 0
    finally:
        for child in volume.iterdir():
            child.unlink()
        volume.rmdir()
