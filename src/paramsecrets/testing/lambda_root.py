"""Roots built like Lambda's: what Lambda puts around a layer, reproduced for the layer tests.

A bare root (busybox only, see lambda_sandbox.make_bare_root) proves the layer brings everything
it needs; a root built like Lambda's proves it also survives what Lambda adds: Lambda's own
environment variables (an `LD_LIBRARY_PATH` naming /usr/lib64, `LANG=en_US.UTF-8`, `TZ=:UTC`), a
non-root user (uid 993), /opt and /var/task read-only, and whatever a test puts in the root (say
a foreign `libgcc_s.so.1` in /usr/lib64, where Amazon Linux keeps its own, or a host shell).

`run_in_root` runs one shell script inside such a root, in private mount and PID namespaces, with
exactly the environment given: nothing of the test process leaks in.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from paramsecrets.testing.lambda_sandbox import _unshare_flags, make_bare_root

LAMBDA_UID = 993
"""The user Lambda runs a function and its extensions as (sbx_user1051 on the managed runtimes)."""

LAMBDA_ENVIRONMENT = {
    "LD_LIBRARY_PATH": "/var/lang/lib:/lib64:/usr/lib64:/var/runtime:/var/runtime/lib:/var/task:"
                       "/var/task/lib:/opt/lib",
    "PATH": "/var/lang/bin:/usr/local/bin:/usr/bin/:/bin:/opt/bin",
    "LANG": "en_US.UTF-8",
    "TZ": ":UTC",
    "LAMBDA_TASK_ROOT": "/var/task",
    "LAMBDA_RUNTIME_DIR": "/var/runtime",
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_LAMBDA_FUNCTION_NAME": "function",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
    "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
    "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
}
"""What Lambda sets for every function (HOME is not set)."""

RUNTIME = "/opt/paramsecrets/runtime"


def layer_python(loader: str = "ld-linux-x86-64.so.2", runtime: str = RUNTIME) -> list[str]:
    """The layer's interpreter started the way its launcher starts it: through the layer's own
    loader, with the layer's library folder as the only library path, isolated, no site."""
    return [f"{runtime}/lib/{loader}", "--inhibit-cache", "--library-path", f"{runtime}/lib",
            f"{runtime}/bin/python3.11", "-I", "-S"]


def make_lambda_root(dest: Path, function_dir: Path | None = None, files: dict[str, Path] | None = None) -> Path:
    """A bare root (static busybox, the function at /var/task, empty /opt, /proc, /dev) with `files`
    ({path in the root: source}) added, an empty /usr/lib64 and a /tmp anyone may write, as on Lambda."""
    if function_dir is None:
        function_dir = dest.parent / f"{dest.name}-function"
        function_dir.mkdir(parents=True, exist_ok=True)
    make_bare_root(dest, function_dir, files)
    (dest / "usr" / "lib64").mkdir(parents=True, exist_ok=True)
    os.chmod(dest / "tmp", 0o1777)
    return dest


ROOT_SCRIPT = (
    'R=$1; O=$2; U=$3; shift 3; PATH=/usr/sbin:/usr/bin:/sbin:/bin; '
    'mount -t proc proc "$R/proc" && mount --rbind /dev "$R/dev" && '
    'mount --bind "$O" "$R/opt" && mount -o remount,bind,ro "$R/opt" && '
    'mount --bind "$R/var/task" "$R/var/task" && mount -o remount,bind,ro "$R/var/task" && '
    'exec chroot ${U:+--userspec=$U:$U} "$R" "$@"'
)


def run_in_root(root: Path, opt_dir: Path, script: str, env: dict[str, str] | None = None, *,
                uid: int | None = LAMBDA_UID, shell: tuple[str, ...] = ("/bin/sh",),
                timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run `script` with `shell` (a command inside the root) in `root`, `opt_dir` at /opt.

    /opt and /var/task are read-only, /proc and /dev mounted, the working folder is /var/task, the
    user is `uid` (None, or a non-root test run where only root is mapped: root), and the
    environment is exactly `env` (Lambda's by default). Returns the finished process, output as text.
    """
    if os.geteuid() != 0:
        uid = None  # `unshare --map-root-user` maps root alone
    environment = [f"{name}={value}" for name, value in (LAMBDA_ENVIRONMENT if env is None else env).items()]
    inner = ["/bin/busybox", "env", "-i", *environment, *shell, "-c", f"cd /var/task && {script}", "sh"]
    command = ["unshare", *_unshare_flags(), "--", "sh", "-c", ROOT_SCRIPT, "sh", str(root), str(opt_dir),
               "" if uid is None else str(uid), *inner]
    return subprocess.run(command, env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=timeout, check=False)
