"""The CDK, SAM and Terraform examples switch the exec wrapper on: AWS_LAMBDA_EXEC_WRAPPER names the
layer's wrapper and a PARAMSECRETS_ENV_* variable holds a REF the wrapper accepts."""

from __future__ import annotations

import re

from paramsecrets.client.exec_refs import ENV_PREFIX, parse_ref
from tests.examples.test_iac import REPO, resources, synthesized  # noqa: F401 (the fixture)

WRAPPER = "/opt/paramsecrets/exec-wrapper"


def test_cdk_sets_the_exec_wrapper(synthesized: dict[str, object]) -> None:  # noqa: F811
    functions = resources(synthesized, "AWS::Lambda::Function")
    [function] = [f for f in functions
                  if "AWS_LAMBDA_EXEC_WRAPPER" in f["Properties"]["Environment"]["Variables"]]
    assert len(functions) == 2  # the Python reader (with the wrapper) and the Node.js one (reads at run time)
    variables = function["Properties"]["Environment"]["Variables"]
    assert variables["AWS_LAMBDA_EXEC_WRAPPER"] == WRAPPER
    assert variables["PARAMSECRETS_ENV_GREETING"] == f"ssm:{variables['PARAMETER_NAME']}"
    parse_ref(variables["PARAMSECRETS_ENV_GREETING"])


def test_terraform_sets_the_exec_wrapper() -> None:
    text = (REPO / "examples" / "terraform" / "main.tf").read_text()
    environment = re.search(r"environment \{\s*variables = \{(.*?)\n\s*\}", text, re.S)
    assert environment is not None
    pairs = dict(re.findall(r'^\s*([A-Z][A-Z0-9_]+)\s*=\s*"?([^"\n]*)"?', environment.group(1), re.M))
    assert pairs["AWS_LAMBDA_EXEC_WRAPPER"] == WRAPPER
    mapped = {name: ref for name, ref in pairs.items() if name.startswith(ENV_PREFIX)}
    assert mapped == {"PARAMSECRETS_ENV_GREETING": "ssm:${var.parameter_name}"}
    parse_ref(mapped["PARAMSECRETS_ENV_GREETING"].replace("${var.parameter_name}", "/app/greeting"))


def test_sam_sets_the_exec_wrapper() -> None:
    text = (REPO / "examples" / "sam" / "template.yaml").read_text()
    assert f"AWS_LAMBDA_EXEC_WRAPPER: {WRAPPER}" in text
    assert "PARAMSECRETS_ENV_GREETING: !Sub ssm:${ParameterName}" in text
