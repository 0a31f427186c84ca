"""Run a function with a layer under the real Lambda Runtime Interface Emulator (RIE).

`LambdaSandbox` starts `aws-lambda-rie` with the real runtime client (`python -m awslambdaric
app.handler`) and a folder bind-mounted over /opt, where RIE looks for extensions. Tests and
bench/cold_start.py share it (from paramsecrets.testing), so both measure the same thing.

Isolation and clean-up: RIE runs under `unshare --mount --pid --fork --kill-child`:
- a private mount namespace, so binding the layer over /opt never touches the host's /opt;
- a private PID namespace with RIE as its init, so when RIE ends (or unshare is killed) the
  kernel kills every process it started (runtime, extensions, anything they spawned). No test
  can leave a stray extension bound to port 2773 behind, whatever fails.

RIE quirks handled here: it starts nothing before the first
invoke, and concurrent invokes crash it, so invokes are serialised by a lock.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import functools
import http.client
import json
import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Self

from paramsecrets.testing.net import free_port, retried_if_port_taken, says_port_taken
from paramsecrets.testing.rie import CACHE, rie_path

AWSLAMBDARIC = "awslambdaric==4.2.2"
BASE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
INVOKE_PATH = "/2015-03-31/functions/function/invocations"



class InvokeError(RuntimeError):
    """The invoke got no HTTP answer (RIE crashed or closed the connection); carries RIE's log."""


class SandboxUnavailable(RuntimeError):
    """This machine cannot make the namespaces the sandbox needs (tests skip on it)."""


@functools.cache
def sandbox_problem() -> str | None:
    """Why LambdaSandbox cannot run here, or None if it can (checked once with a real unshare)."""
    if sys.platform != "linux":
        return "the Lambda sandbox needs Linux namespaces"
    if shutil.which("unshare") is None:
        return "unshare (util-linux) is not installed"
    probe = 'mount --bind "$1" /opt'
    cmd = ["unshare", *_unshare_flags(), "--", "sh", "-c", probe, "sh", tempfile.gettempdir()]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=20, check=False)
    except (OSError, subprocess.SubprocessError) as exc:
        return f"unshare failed: {exc}"
    if proc.returncode != 0:
        return f"cannot create mount/PID namespaces here: {proc.stderr.strip() or proc.returncode}"
    if not Path("/opt").is_dir():
        return "/opt does not exist (needed as the bind-mount point)"
    return None


def _unshare_flags() -> list[str]:
    flags = ["--mount", "--pid", "--fork", "--kill-child", "--propagation", "private"]
    if os.geteuid() != 0:
        flags[:0] = ["--user", "--map-root-user"]
    return flags


def unpack_layer(zip_path: Path, dest: Path) -> Path:
    """Unzip like Lambda does: keep the Unix modes stored in the zip (zipfile alone drops them)."""
    with zipfile.ZipFile(zip_path) as zf:
        for info in zf.infolist():
            target = zf.extract(info, dest)
            mode = (info.external_attr >> 16) & 0o7777
            if mode and not info.is_dir():
                os.chmod(target, mode)
    return dest


def make_read_only(folder: Path) -> None:
    """Make an unpacked layer read-only, as Lambda's /opt is: nothing can cache bytecode in it."""
    for root, dirs, files in os.walk(folder):
        for name in files:
            path = os.path.join(root, name)
            os.chmod(path, stat.S_IMODE(os.stat(path).st_mode) & ~0o222)
        for name in dirs:
            os.chmod(os.path.join(root, name), 0o555)


# ---------------------------------------------------------------- runtime venvs


def runtime_venv(base_python: str | os.PathLike[str]) -> Path:
    """Return the python of a cached venv holding only awslambdaric, made from `base_python`.

    It stands in for a Lambda Python runtime: it has the runtime client and nothing else, in
    particular neither paramsecrets nor awscrt, so the layer must bring everything it needs.
    Cached as .cache/runtime-venv-<X.Y>; a lock makes concurrent callers build it once.
    """
    base_python = str(base_python)
    version = subprocess.run(
        [base_python, "-I", "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
        capture_output=True, text=True, check=True, timeout=30,
    ).stdout.strip()
    venv = CACHE / f"runtime-venv-{version}"
    python = venv / "bin" / "python"
    stamp = venv / ".ready"
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE / f"runtime-venv-{version}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if stamp.is_file() and stamp.read_text() == f"{base_python}\n{AWSLAMBDARIC}\n" and python.exists():
            return python
        shutil.rmtree(venv, ignore_errors=True)
        subprocess.run([base_python, "-m", "venv", str(venv)], check=True, timeout=300)
        proc = subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
             "--only-binary=:all:", AWSLAMBDARIC],
            capture_output=True, text=True, timeout=600, check=False,
        )
        if proc.returncode != 0:
            raise RuntimeError(f"installing {AWSLAMBDARIC} for Python {version} failed:\n{proc.stderr}")
        stamp.write_text(f"{base_python}\n{AWSLAMBDARIC}\n")
    return python


# ---------------------------------------------------------------- the sandbox


@dataclasses.dataclass
class Ending:
    """How the sandbox ended: RIE's exit status and how long the wait took."""

    returncode: int | None
    seconds: float
    killed: bool
    """True if it did not end by itself within the wait and had to be SIGKILLed."""


@dataclasses.dataclass
class Timings:
    """Monotonic seconds since spawn for each phase (None until the phase happened)."""

    spawned_at: float = 0.0
    listening: float | None = None
    first_invoke: float | None = None
    invokes: list[float] = dataclasses.field(default_factory=list)
    """Duration of each answered invoke, seconds."""


class LambdaSandbox:
    """A function under RIE, with `opt_dir` mounted as /opt (None: an empty /opt, no layer).

    Use as a context manager; `invoke` sends one event at a time.
    """

    def __init__(
        self,
        function_dir: str | os.PathLike[str],
        opt_dir: str | os.PathLike[str] | None,
        env: dict[str, str] | None = None,
        *,
        python: str | os.PathLike[str] | None = None,
        handler: str = "app.handler",
        log_path: str | os.PathLike[str] | None = None,
        rie_log_level: str = "debug",
    ) -> None:
        problem = sandbox_problem()
        if problem:
            raise SandboxUnavailable(problem)
        self.function_dir = Path(function_dir).resolve()
        self._tmp = tempfile.TemporaryDirectory(prefix="lambda-sandbox-")
        if opt_dir is None:
            opt_dir = Path(self._tmp.name) / "opt"
            opt_dir.mkdir()
        self.opt_dir = Path(opt_dir).resolve()
        self.python = Path(python) if python else runtime_venv(getattr(sys, "_base_executable", sys.executable))
        self.handler = handler
        self.port = free_port()
        self.runtime_api_port = free_port()
        self.log_path = Path(log_path) if log_path else Path(self._tmp.name) / "rie.log"
        self.rie_log_level = rie_log_level
        self.env = self._environment(env or {})
        self.timings = Timings()
        self._proc: subprocess.Popen[bytes] | None = None
        self._log_file: Any = None
        self._lock = threading.Lock()
        self.ending: Ending | None = None

    def _environment(self, extra: dict[str, str]) -> dict[str, str]:
        """A clean environment like Lambda's: nothing leaks from the test process."""
        env = {
            "PATH": BASE_PATH,
            "LANG": "C.UTF-8",
            "HOME": "/tmp",
            "LAMBDA_TASK_ROOT": str(self.function_dir),
            "AWS_LAMBDA_FUNCTION_NAME": "function",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
        }
        env.update(extra)
        return {k: v for k, v in env.items() if v is not None}

    # -- lifecycle

    def start(self) -> Self:
        """Spawn RIE (it starts the runtime and extensions lazily, at the first invoke)."""
        self._log_file = open(self.log_path, "ab", buffering=0)  # noqa: SIM115 (closed in stop)
        self.timings = Timings(spawned_at=time.monotonic())
        self._proc = subprocess.Popen(
            ["unshare", *_unshare_flags(), "--", *self._command()], cwd=self.function_dir, env=self.env,
            stdin=subprocess.DEVNULL, stdout=self._log_file, stderr=subprocess.STDOUT, start_new_session=True,
            preexec_fn=_die_with_parent,
        )
        return self

    def _rie_arguments(self) -> list[str]:
        # RIE's Runtime API defaults to the fixed 127.0.0.1:9001: two sandboxes at once on one
        # machine (tests run by several people, a bench) would collide and RIE panics.
        return ["--log-level", self.rie_log_level,
                "--runtime-interface-emulator-address", f"127.0.0.1:{self.port}",
                "--runtime-api-address", f"127.0.0.1:{self.runtime_api_port}"]

    def _command(self) -> list[str]:
        """What runs inside the new namespaces: bind the layer over /opt, exec RIE and the runtime."""
        return ["sh", "-c", 'mount --bind "$1" /opt && shift && exec "$@"', "sh", str(self.opt_dir),
                str(rie_path()), *self._rie_arguments(), str(self.python), "-m", "awslambdaric", self.handler]

    def wait_listening(self, timeout: float = 10.0) -> float:
        """Wait until RIE accepts connections; return the seconds since spawn."""
        deadline = time.monotonic() + timeout
        while True:
            self._check_running()
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), timeout=1):
                self.timings.listening = time.monotonic() - self.timings.spawned_at
                return self.timings.listening
            if time.monotonic() > deadline:
                raise TimeoutError(f"RIE did not listen within {timeout} s; log:\n{self.logs()[-4000:]}")
            time.sleep(0.002)

    def invoke(self, payload: Any = None, timeout: float = 30.0) -> tuple[int, bytes]:
        """POST one event (JSON-encoded unless bytes); return (status, body). One at a time.

        RIE binds its ports only when it starts (the Runtime API's at the first invoke), so a port
        `free_port` gave may meanwhile have become another socket's (any outgoing connection's
        local port, drawn from the same range): RIE then panics with `address already in use`.
        Before any invoke has been answered nothing else has happened in the sandbox, so it is
        started again on new ports (net.retried_if_port_taken) and the first invoke retried; any
        other failure is the test's."""
        return retried_if_port_taken(lambda: self._invoke(payload, timeout), self._rie_port_was_taken,
                                     self._restart_on_new_ports)

    def _rie_port_was_taken(self, error: Exception) -> bool:
        return (isinstance(error, InvokeError | RuntimeError) and self.timings.first_invoke is None
                and says_port_taken(self.logs()))

    def _restart_on_new_ports(self) -> None:
        self._close()
        with contextlib.suppress(FileNotFoundError):
            self.log_path.unlink()  # the next run's log starts afresh, without the panic
        self.port, self.runtime_api_port = free_port(), free_port()
        self.start()

    def _invoke(self, payload: Any, timeout: float) -> tuple[int, bytes]:
        if not isinstance(payload, bytes):
            payload = json.dumps(payload if payload is not None else {}).encode()
        with self._lock:
            if self.timings.listening is None:
                self.wait_listening()
            started = time.monotonic()
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
            try:
                conn.request("POST", INVOKE_PATH, body=payload, headers={"Content-Type": "application/json"})
                response = conn.getresponse()
                status, body = response.status, response.read()
            except (OSError, http.client.HTTPException) as exc:
                alive = "running" if self._proc and self._proc.poll() is None else "exited"
                raise InvokeError(f"invoke failed: {exc!r} (RIE {alive}); log:\n{self.logs()[-6000:]}") from exc
            finally:
                conn.close()
            now = time.monotonic()
            self.timings.invokes.append(now - started)
            if self.timings.first_invoke is None:
                self.timings.first_invoke = now - self.timings.spawned_at
            return status, body

    def invoke_json(self, payload: Any = None, timeout: float = 30.0) -> Any:
        """Invoke and decode the JSON answer; fail with RIE's log if the status is not 200."""
        status, body = self.invoke(payload, timeout)
        if status != 200:
            raise AssertionError(f"invoke answered {status} {body[:500]!r}; log:\n{self.logs()[-6000:]}")
        return json.loads(body)

    def logs(self) -> str:
        """Everything RIE, the runtime, the function and the extensions wrote so far."""
        try:
            return self.log_path.read_bytes().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def _check_running(self) -> None:
        if self._proc is None:
            raise RuntimeError("sandbox not started")
        if self._proc.poll() is not None:
            raise RuntimeError(f"RIE exited with {self._proc.returncode}; log:\n{self.logs()[-4000:]}")

    # -- processes

    @property
    def rie_pid(self) -> int | None:
        """Host PID of RIE itself (the child of unshare, init of the PID namespace)."""
        if self._proc is None:
            return None
        kids = _children(self._proc.pid)
        return kids[0] if kids else None

    def processes(self) -> dict[int, str]:
        """{host pid: command line} of every process under RIE (runtime, extensions, ...)."""
        root = self.rie_pid
        if root is None:
            return {}
        tree = _process_tree()
        found: dict[int, str] = {}
        todo = list(tree.get(root, []))
        while todo:
            pid = todo.pop()
            found[pid] = _cmdline(pid)
            todo += tree.get(pid, [])
        return {pid: cmd for pid, cmd in found.items() if cmd}

    def find_process(self, needle: str) -> int | None:
        """PID of the first process under RIE whose command line contains `needle`."""
        for pid, cmd in sorted(self.processes().items()):
            if needle in cmd:
                return pid
        return None

    # -- ending

    def sigterm(self, timeout: float = 10.0) -> Ending:
        """Send SIGTERM to RIE (Lambda's SHUTDOWN, reason SandboxTerminated) and wait for its exit."""
        pid = self.rie_pid
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        return self._wait(timeout)

    def stop(self, timeout: float = 10.0) -> Ending:
        """End the sandbox: SIGTERM first, SIGKILL after `timeout`. Safe to call more than once."""
        if self.ending is None and self._proc is not None:
            self.sigterm(timeout)
        self._close()
        return self.ending or Ending(None, 0.0, False)

    def _wait(self, timeout: float) -> Ending:
        assert self._proc is not None
        started = time.monotonic()
        killed = False
        try:
            self._proc.wait(timeout)
        except subprocess.TimeoutExpired:
            killed = True
            # unshare --kill-child takes RIE, and with it the whole PID namespace, down too.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self._proc.pid, signal.SIGKILL)
            self._proc.wait(10)
        self.ending = Ending(self._proc.returncode, time.monotonic() - started, killed)
        return self.ending

    def _close(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self._proc.pid, signal.SIGKILL)
            self._proc.wait(10)
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None

    def __enter__(self) -> LambdaSandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        try:
            self.stop()
        finally:
            self.close()

    def close(self) -> None:
        """Stop if still running and remove the sandbox's temporary files (the log included)."""
        self._close()
        self._tmp.cleanup()


# ---------------------------------------------------------------- /proc helpers


def close_sandboxes(boxes: Sequence[LambdaSandbox], failed: bool) -> None:
    """Stop and remove every sandbox a test made; after a failed test, show each one's RIE log tail."""
    for box in boxes:
        try:
            box.stop()
        finally:
            if failed:
                sys.stderr.write(f"\n----- RIE log ({box.function_dir.name}) -----\n{box.logs()[-20000:]}\n")
            box.close()


def _die_with_parent() -> None:
    """In the child before exec: SIGKILL unshare if the test process dies (even by SIGKILL).

    unshare --kill-child then takes RIE down, and the PID namespace everything else, so a test
    run killed outright leaves nothing behind.
    """
    import ctypes

    pr_set_pdeathsig = 1
    ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL, 0, 0, 0)


def _base_of(python: Path) -> Path:
    """The interpreter a venv's python links to (what Lambda has at /var/lang/bin/python3)."""
    cfg = python.parent.parent / "pyvenv.cfg"
    if cfg.is_file():
        for line in cfg.read_text().splitlines():
            key, _, value = line.partition("=")
            if key.strip() == "executable":
                return Path(value.strip())
    return python.resolve()


def _process_tree() -> dict[int, list[int]]:
    """{ppid: [pid, ...]} for every process visible in /proc."""
    tree: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        tree.setdefault(ppid, []).append(int(entry))
    return tree


def _children(pid: int) -> list[int]:
    return sorted(_process_tree().get(pid, []))


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


def proc_rss_kib(pid: int) -> int | None:
    """Resident set size of a process in KiB (VmRSS), or None if it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def proc_cpu_ms(pid: int) -> float | None:
    """User + system CPU time of a process so far, in milliseconds, or None if it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    ticks = int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return ticks * 1000.0 / os.sysconf("SC_CLK_TCK")


# ---------------------------------------------------------------- a root with nothing of the host


BUSYBOX_APPLETS = ("sh", "wget", "cat", "grep", "sed", "tr", "cut", "printf", "rm", "mkdir", "ls", "sleep")
LAMBDA_PATH = "/usr/local/bin:/usr/bin/:/bin:/opt/bin"
"""PATH on Lambda: /opt/bin is where layers put commands."""


def static_busybox() -> Path | None:
    """Debian busybox-static's /bin/busybox, if installed (a dynamic busybox would need the host's libc)."""
    path = Path("/bin/busybox")
    if not path.is_file():
        return None
    with path.open("rb") as handle:
        head = handle.read(4096)
    return path if head[:4] == b"\x7fELF" and b"/ld-linux" not in head else None


def make_bare_root(dest: Path, function_dir: Path, files: dict[str, Path] | None = None) -> Path:
    """A root holding only a static busybox (as /bin/sh and a few applets), the function at
    /var/task and `files` ({path in the root: source}); /opt, /proc, /dev and /tmp are empty
    mount points. No /usr, no /lib, no /etc/ssl, no Python."""
    busybox = static_busybox()
    if busybox is None:
        raise SandboxUnavailable("no static busybox (Debian busybox-static) for the bare root")
    for folder in ("bin", "opt", "proc", "dev", "tmp", "var"):
        (dest / folder).mkdir(parents=True, exist_ok=True)
    shutil.copy2(busybox, dest / "bin" / "busybox")
    for applet in BUSYBOX_APPLETS:
        (dest / "bin" / applet).symlink_to("busybox")
    shutil.copytree(function_dir, dest / "var" / "task")
    for inside, source in (files or {}).items():
        target = dest / inside.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)
    return dest


BARE_ROOT_SCRIPT = (
    'R=$1; O=$2; shift 2; PATH=/usr/sbin:/usr/bin:/sbin:/bin; '
    'mount -t proc proc "$R/proc" && mount --rbind /dev "$R/dev" && '
    'mount --bind "$O" "$R/opt" && mount -o remount,bind,ro "$R/opt" && '
    # Lambda's /opt is read-only, and the function starts in /var/task.
    f'exec chroot "$R" /bin/sh -c \'PATH={LAMBDA_PATH}; cd /var/task && exec "$@"\' sh "$@"'
)


class BareRootSandbox(LambdaSandbox):
    """A function under RIE, chrooted into a bare root (see make_bare_root) with the layer at /opt.

    `runtime` is the runtime's command inside the root (a `provided` bootstrap, node, ...); `files`
    adds files to the root (say the Node binary and its libraries). The RIE itself is copied in.
    """

    def __init__(self, function_dir: str | os.PathLike[str], opt_dir: str | os.PathLike[str] | None,
                 env: dict[str, str] | None = None, *, runtime: list[str],
                 files: dict[str, Path] | None = None, rie_log_level: str = "debug") -> None:
        super().__init__(function_dir, opt_dir, env, python="/nonexistent", rie_log_level=rie_log_level)
        self.runtime = runtime
        self.root = make_bare_root(Path(self._tmp.name) / "root", self.function_dir,
                                   {"/rie": rie_path(), **(files or {})})
        self.env.update({"PATH": LAMBDA_PATH, "LAMBDA_TASK_ROOT": "/var/task", "HOME": "/tmp", **(env or {})})

    def _command(self) -> list[str]:
        return bare_root_command(self.root, self.opt_dir, ["/rie", *self._rie_arguments(), *self.runtime])


def bare_root_command(root: Path, opt_dir: Path, command: list[str]) -> list[str]:
    """What to run under `unshare` to start `command` chrooted in `root` with `opt_dir` at /opt
    (read-only), /proc and /dev mounted, from /var/task, with Lambda's PATH."""
    return ["sh", "-c", BARE_ROOT_SCRIPT, "sh", str(root), str(opt_dir), *command]


def bare_root_popen(root: Path, opt_dir: Path, command: list[str], env: dict[str, str],
                    log: Any) -> subprocess.Popen[bytes]:
    """Start `command` in the bare root, in private mount and PID namespaces (everything in it
    dies with it, and with the test process)."""
    return subprocess.Popen(
        ["unshare", *_unshare_flags(), "--", *bare_root_command(root, opt_dir, command)], env=env,
        stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        preexec_fn=_die_with_parent,
    )


def copy_with_libraries(binary: str) -> dict[str, Path]:
    """{path in a root: host file} for `binary` and the shared libraries `ldd` lists (a runtime
    such as Node for a bare root: only those files, nothing else of the host)."""
    out = subprocess.run(["ldd", binary], capture_output=True, text=True, check=True, timeout=30).stdout
    files = {binary: Path(binary).resolve()}
    for line in out.splitlines():
        parts = line.split()
        path = parts[2] if len(parts) >= 3 and parts[1] == "=>" else parts[0]
        if path.startswith("/"):
            files[path] = Path(path).resolve()
    return files


def find_pythons() -> list[tuple[str, str]]:
    """(label, path) of every distinct CPython 3.11+ on this machine (one per minor version):
    the function runtimes the Python tests run, each with only awslambdaric."""
    import glob

    names = [f"python3.{minor}" for minor in range(11, 20)]
    candidates = [getattr(sys, "_base_executable", sys.executable)]
    for folder in BASE_PATH.split(":") + os.environ.get("PATH", "").split(":"):
        if folder and "shims" not in folder:
            candidates += [os.path.join(folder, name) for name in names]
    pyenv = os.environ.get("PYENV_ROOT") or os.path.expanduser("~/.pyenv")
    candidates += sorted(glob.glob(os.path.join(pyenv, "versions", "*", "bin", "python3.*[0-9]")))
    found: dict[str, str] = {}
    for path in candidates:
        if not os.path.isfile(path) or not os.access(path, os.X_OK):
            continue
        try:
            out = subprocess.run([path, "-I", "-S", "-c", "import sys; print(*sys.version_info[:2])"],
                                 capture_output=True, text=True, timeout=20, check=True).stdout.split()
        except (OSError, subprocess.SubprocessError):
            continue
        label = ".".join(out)
        if len(out) == 2 and (int(out[0]), int(out[1])) >= (3, 11) and label not in found:
            found[label] = path
    return sorted(found.items())


def http_get(port: int, path: str, token: str, detailed: bool = False) -> tuple[int, bytes]:
    """GET http://127.0.0.1:PORT/PATH with the extension's token header (and the detailed profile's
    header when asked); (status, body)."""
    import urllib.error
    import urllib.request

    headers = {"X-Aws-Parameters-Secrets-Token": token}
    if detailed:
        headers["X-Paramsecrets-Profile"] = "detailed"
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def wait_for(ready: Any, proc: subprocess.Popen[bytes], log_path: Path, timeout: float = 60.0) -> None:
    """Poll `ready()` (connection errors count as not ready) until true, with a generous bound;
    fail with the log if the process ends or the bound passes."""
    deadline = time.monotonic() + timeout
    while True:
        with contextlib.suppress(OSError):
            if ready():
                return
        assert proc.poll() is None, log_path.read_text()
        assert time.monotonic() < deadline, log_path.read_text()
        time.sleep(0.05)
