"""The launcher sets LC_ALL=C.UTF-8 for the layer's Python without a word on stderr, under bash
(Amazon Linux's /bin/sh), dash and busybox sh, on a host that has no C.UTF-8 locale.

bash loads the locale as soon as a script assigns LC_ALL; where it cannot, it printed
`warning: setlocale: LC_ALL: cannot change locale (C.UTF-8)` once per cold start and per call of
/opt/bin/paramsecrets. The shells run here in a root built like Lambda's with no locale files at
all: each shell with its own libraries from this machine, the layer at /opt, busybox.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import paramsecrets
from paramsecrets.testing.lambda_root import LAMBDA_ENVIRONMENT, make_lambda_root, run_in_root
from paramsecrets.testing.lambda_sandbox import copy_with_libraries, static_busybox

PROBE = '''\
import os, sys
print("LC_ALL=" + str(os.environ.get("LC_ALL")), "encoding=" + sys.getfilesystemencoding(),
      "args=" + " ".join(sys.argv[1:]))
'''

SHELLS = {
    "bash": "/bin/bash",
    "bash-posix": "/bin/bash --posix",  # bash as /bin/sh, as on Amazon Linux
    "dash": "/bin/dash",
    "busybox": "/bin/busybox sh",
}

pytestmark = pytest.mark.skipif(static_busybox() is None, reason="needs Debian busybox-static")


def _host_shell(name: str) -> str | None:
    if name == "busybox":
        return "/bin/busybox"
    found = shutil.which(name.split("-")[0])
    return str(Path(found).resolve()) if found else None


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A root built like Lambda's with every shell this machine has, and no locale files; under
    /probe, a copy of the layer's own launcher whose run.py prints what Python was given."""
    files: dict[str, Path] = {}
    for name in ("bash", "dash"):
        host = _host_shell(name)
        if host:
            for inside, source in copy_with_libraries(host).items():
                files[inside] = source
            files[f"/bin/{name}"] = Path(host)
    probe = tmp_path / "probe.py"
    probe.write_text(PROBE)
    files["/probe/paramsecrets/run.py"] = probe
    made = make_lambda_root(tmp_path / "root", files=files)
    assert not list(made.rglob("locale")), "the root must hold no locale files"
    return made


@pytest.mark.parametrize("shell", sorted(SHELLS))
def test_the_launcher_is_silent_about_the_locale(shell: str, layer_dir: Path, root: Path, sandbox_ok: None) -> None:
    if _host_shell(shell) is None:
        pytest.skip(f"{shell} is not installed")
    launcher = root / "probe" / "bin" / "paramsecrets"
    launcher.parent.mkdir(parents=True)
    shutil.copy2(layer_dir / "bin" / "paramsecrets", launcher)  # the layer's launcher, unchanged
    (root / "probe" / "paramsecrets" / "runtime").symlink_to("/opt/paramsecrets/runtime")

    command = SHELLS[shell]
    script = f"{command} /opt/bin/paramsecrets version && {command} /probe/bin/paramsecrets a b"
    proc = run_in_root(root, layer_dir, script, LAMBDA_ENVIRONMENT)

    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stderr == "", proc.stderr
    lines = proc.stdout.splitlines()  # `version` in the layer also names the bundled Python, glibc, awscrt
    version, probe = lines[0], lines[-1]
    assert version == f"paramsecrets {paramsecrets.__version__}"
    assert probe == "LC_ALL=C.UTF-8 encoding=utf-8 args=a b"  # Python still gets C.UTF-8
