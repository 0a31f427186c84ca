"""The Dockerfile, without a Docker daemon: its instructions are parsed, and its build stage's
COPY and RUN steps are carried out for real in a temporary directory standing for the image's
file system (paths under / remapped into it). The result must be the server only, run from its
ENTRYPOINT, and answer its HEALTHCHECK, with the user and signal the final stage declares."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from paramsecrets.testing.net import free_port, stop_process, wait_for_http

REPO = Path(__file__).resolve().parents[2]
DOCKERFILE = REPO / "Dockerfile"


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order, with continuation lines joined and comments dropped."""
    out: list[tuple[str, str]] = []
    pending = ""
    for line in DOCKERFILE.read_text().splitlines():
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        pending += line.rstrip("\\").strip() + " " if line.rstrip().endswith("\\") else line.strip()
        if not line.rstrip().endswith("\\"):
            keyword, _, rest = pending.partition(" ")
            out.append((keyword.upper(), rest.strip()))
            pending = ""
    return out


def stages() -> list[list[tuple[str, str]]]:
    result: list[list[tuple[str, str]]] = []
    for keyword, rest in instructions():
        if keyword == "FROM":
            result.append([])
        result[-1].append((keyword, rest))
    return result


def final(keyword: str) -> str:
    values = [rest for key, rest in stages()[-1] if key == keyword]
    assert len(values) == 1, (keyword, values)
    return values[0]


def test_final_stage_is_non_root_and_stops_on_sigterm() -> None:
    assert len(stages()) == 2  # a build stage, and a final stage that only copies its result
    user = final("USER").split(":")
    assert all(part.isdigit() and int(part) != 0 for part in user), user
    assert final("STOPSIGNAL") == "SIGTERM"
    assert json.loads(final("ENTRYPOINT"))[1:] == ["serve"]
    assert [key for key, _ in stages()[-1]].count("RUN") == 0  # nothing installed as root in the final image
    copied = [rest for key, rest in instructions() if key == "COPY" and "--from" not in rest]
    assert " ".join(copied).split() == ["pyproject.toml", "README.md", "/src/", "src", "/src/src"]  # no tests/


def remap(text: str, root: Path) -> str:
    """Image paths (/opt/..., /src...) to the directory standing for the image's file system."""
    return text.replace("/opt/", f"{root}/opt/").replace(" /src", f" {root}/src")


@pytest.mark.timeout(300)
def test_the_build_stage_yields_the_server_only_and_it_passes_its_healthcheck(tmp_path: Path) -> None:
    root = tmp_path / "image"
    (root / "opt").mkdir(parents=True)
    base_python = Path(getattr(sys, "_base_executable", sys.executable))
    for keyword, rest in stages()[0][1:]:
        if keyword == "COPY":
            *sources, target = rest.split()
            destination = Path(remap(" " + target, root).strip())
            for source in sources:
                path = REPO / source
                if path.is_dir():
                    shutil.copytree(path, destination, ignore=shutil.ignore_patterns("__pycache__"))
                else:
                    destination.mkdir(parents=True, exist_ok=True)
                    shutil.copy(path, destination)
        elif keyword == "RUN":
            command = remap(" " + rest, root).strip().replace("python -m venv", f"{base_python} -m venv", 1)
            done = subprocess.run(command, shell=True, capture_output=True, text=True, timeout=280)
            assert done.returncode == 0, f"{command}\n{done.stdout}\n{done.stderr}"
    venv = root / "opt" / "paramsecrets"
    listed = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "list", "--format=json"],
                            capture_output=True, text=True, timeout=60, check=True)
    installed = {item["name"].lower() for item in json.loads(listed.stdout)}
    assert {"paramsecrets", "awscrt"} <= installed
    assert not installed & {"moto", "botocore", "boto3", "pytest", "matplotlib"}  # the server only

    entrypoint = [remap(" " + part, root).strip() for part in json.loads(final("ENTRYPOINT"))]
    port = free_port()
    env = {"PATH": "/usr/bin:/bin", "AWS_REGION": "us-east-1", "AWS_TOKEN": "docker-test-token",
           "AWS_ENDPOINT_URL": f"http://127.0.0.1:{free_port()}", "AWS_EC2_METADATA_DISABLED": "true",
           "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT": str(port), "HOME": str(tmp_path)}
    env.update(dict(item.split("=", 1) for item in shlex.split(final("ENV"))))
    server = subprocess.Popen(entrypoint, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=tmp_path)
    try:
        wait_for_http(f"http://127.0.0.1:{port}/ping", timeout=30, process=server)
        healthcheck = json.loads(final("HEALTHCHECK").partition("CMD ")[2])
        checked = subprocess.run([remap(" " + healthcheck[0], root).strip(), *healthcheck[1:]], env=env,
                                 capture_output=True, text=True, timeout=30)
        assert checked.returncode == 0, checked.stderr
    finally:
        code = stop_process(server, timeout=15)
    assert code == 0  # SIGTERM, the declared STOPSIGNAL: a clean stop
    assert os.path.exists(venv / "bin" / "paramsecrets")
