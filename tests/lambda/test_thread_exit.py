"""The layer's interpreter exits cleanly with a thread still running, in roots built like Lambda's.

glibc 2.34+ ends such a thread with `pthread_exit`, which dlopens `libgcc_s.so.1` to unwind it.
A layer without that library aborted (`libgcc_s.so.1 must be installed for pthread_exit to work`,
SIGABRT) in 3-4 runs of 5 on Lambda, and never on a Debian host, where the loader's cache finds
the host's copy. So these runs happen in roots that hold nothing of the host: only the layer and
busybox, and the same with a foreign `libgcc_s.so.1` in /usr/lib64 (where Amazon Linux keeps its
own) and Lambda's `LD_LIBRARY_PATH` naming that folder.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from paramsecrets.testing.lambda_root import LAMBDA_ENVIRONMENT, layer_python, make_lambda_root, run_in_root
from paramsecrets.testing.lambda_sandbox import static_busybox

RUNS = 10
ABORT_MESSAGE = "libgcc_s.so.1 must be installed"

DAEMONS_AT_EXIT = '''\
"""Daemon threads busy at exit. Python stops such a thread with pthread_exit when it takes the GIL
after finalization began; a stdout whose flush (which runs after that point) sleeps hands the GIL
over, so every run reaches pthread_exit instead of a lucky few."""
import sys
import threading
import time


def spin(sleep=time.sleep):
    while True:
        sleep(0)


class SlowFlush:
    closed = False

    def write(self, text):
        return len(text)

    def flush(self, sleep=time.sleep):
        sleep(0.05)


for _ in range(4):
    threading.Thread(target=spin, daemon=True).start()
sys.stdout = SlowFlush()
'''

pytestmark = [
    pytest.mark.skipif(static_busybox() is None, reason="needs Debian busybox-static"),
    pytest.mark.timeout(600),
]


def _loop(command: list[str]) -> str:
    """A busybox sh loop running `command` RUNS times and printing each exit status."""
    line = " ".join(command)
    return f'i=0; while [ $i -lt {RUNS} ]; do i=$((i+1)); {line}; echo "run $i exit $?"; done'


def _statuses(output: str) -> list[str]:
    return re.findall(r"^run \d+ exit (\d+)$", output, re.MULTILINE)


def _script(tmp_path: Path) -> Path:
    path = tmp_path / "daemons_at_exit.py"
    path.write_text(DAEMONS_AT_EXIT)
    return path


@pytest.mark.parametrize("foreign_libgcc", [False, True], ids=["layer-and-busybox", "foreign-libgcc-in-usr-lib64"])
def test_exit_with_a_daemon_thread_alive(layer_dir: Path, sandbox_ok: None, tmp_path: Path,
                                         foreign_libgcc: bool) -> None:
    files = {"/var/task/daemons_at_exit.py": _script(tmp_path)}
    if foreign_libgcc:
        # A real shared library of this machine named libgcc_s.so.1 but without the unwinder
        # glibc looks up in it: were it ever loaded instead of the layer's, glibc would abort.
        files["/usr/lib64/libgcc_s.so.1"] = layer_dir / "paramsecrets" / "runtime" / "lib" / "libz.so.1"
    root = make_lambda_root(tmp_path / "root", files=files)
    assert not any(root.rglob("libgcc_s*")) or foreign_libgcc

    proc = run_in_root(root, layer_dir, _loop([*layer_python(), "/var/task/daemons_at_exit.py"]),
                       LAMBDA_ENVIRONMENT)
    assert _statuses(proc.stdout) == ["0"] * RUNS, proc.stdout + proc.stderr
    assert ABORT_MESSAGE not in proc.stderr, proc.stderr


@pytest.mark.skipif(shutil.which("qemu-aarch64-static") is None, reason="needs Debian qemu-user-static")
def test_arm64_exit_with_a_daemon_thread_alive(arm64_layer_dir: Path, sandbox_ok: None, tmp_path: Path) -> None:
    """The arm64 layer carries its own libgcc_s.so.1 too (run under qemu-user)."""
    qemu = shutil.which("qemu-aarch64-static")
    assert qemu is not None
    root = make_lambda_root(tmp_path / "root", files={"/qemu-aarch64-static": Path(qemu),
                                                      "/var/task/daemons_at_exit.py": _script(tmp_path)})
    command = ["/qemu-aarch64-static", *layer_python("ld-linux-aarch64.so.1"), "/var/task/daemons_at_exit.py"]
    proc = run_in_root(root, arm64_layer_dir, _loop(command), LAMBDA_ENVIRONMENT)
    assert _statuses(proc.stdout) == ["0"] * RUNS, proc.stdout + proc.stderr
    assert ABORT_MESSAGE not in proc.stderr, proc.stderr
