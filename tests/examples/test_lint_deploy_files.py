"""`make lint` checks the deployment files with tools that know their schema and their risks:
kubernetes-validate (Kubernetes' own OpenAPI schemas) for the Kubernetes manifest, checkov for the
Dockerfile and the Kubernetes, SAM and Terraform examples. Here: both tools are wired to those
files, and each really fails on what it exists to catch (so a clean `make lint` means something).
The ECS task definition has no checkov framework: botocore's own ECS model validates it."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import cast

import pytest

REPO = Path(__file__).resolve().parents[2]
MAKEFILE = (REPO / "Makefile").read_text()
KUBERNETES_VALIDATE = Path(sys.executable).with_name("kubernetes-validate")
CHECKOV = REPO / ".venv" / "checkov" / "bin" / "checkov"


def lint_recipe() -> str:
    return MAKEFILE.split("\nlint:", 1)[1].split("\n\n", 1)[0]


def test_make_lint_runs_both_tools_on_every_deployment_file() -> None:
    recipe = lint_recipe()
    assert "kubernetes-validate --strict" in recipe and "examples/kubernetes/sidecar.yaml" in recipe
    assert "checkov" in recipe and "$(CHECKOV_FILES)" in recipe
    files = re.search(r"^CHECKOV_FILES := (.*)$", MAKEFILE, re.M)
    assert files is not None
    for name in ("Dockerfile", "examples/kubernetes/sidecar.yaml", "examples/sam/template.yaml",
                 "examples/terraform/*.tf"):
        assert name in files.group(1), name


def test_kubernetes_validate_refuses_a_misspelt_field(tmp_path: Path) -> None:
    if not KUBERNETES_VALIDATE.exists():
        pytest.skip("kubernetes-validate is not installed (make venv)")
    good = (REPO / "examples" / "kubernetes" / "sidecar.yaml").read_text()
    bad = tmp_path / "bad.yaml"
    bad.write_text(good.replace("restartPolicy: Always", "restartPolicey: Always"))
    assert subprocess.run([str(KUBERNETES_VALIDATE), "--strict", "--quiet", str(bad)], capture_output=True,
                          timeout=120).returncode != 0
    assert subprocess.run([str(KUBERNETES_VALIDATE), "--strict", "--quiet", str(REPO / "examples" / "kubernetes"
                                                                             / "sidecar.yaml")],
                          capture_output=True, timeout=120).returncode == 0


def test_checkov_fails_on_a_container_running_as_root(tmp_path: Path) -> None:
    if not CHECKOV.exists():
        pytest.skip("checkov is not installed (make lint installs it into .venv/checkov)")
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text((REPO / "Dockerfile").read_text().replace("USER 65532:65532", "USER root"))
    done = subprocess.run([str(CHECKOV), "--quiet", "--compact", "--skip-download", "-f", str(dockerfile)],
                          capture_output=True, text=True, timeout=300,
                          env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "BC_SKIP_MAPPING": "TRUE"})
    assert done.returncode != 0 and "CKV_DOCKER_8" in done.stdout, done.stdout[-2000:]


def test_the_ecs_task_definition_matches_botocores_ecs_model() -> None:
    import botocore.session
    from botocore.model import Shape
    from botocore.validate import ParamValidator

    model = botocore.session.get_session().get_service_model("ecs")
    shape = cast(Shape, model.operation_model("RegisterTaskDefinition").input_shape)
    task = json.loads((REPO / "examples" / "ecs" / "task-definition.json").read_text())
    report = ParamValidator().validate(task, shape)
    assert not report.has_errors(), report.generate_report()
    task["containerDefinitions"][0]["healthcheck"] = task["containerDefinitions"][0].pop("healthCheck")
    assert ParamValidator().validate(task, shape).has_errors()  # a misspelt key is caught
