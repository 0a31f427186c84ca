"""Small networking helpers for tests: free ports, readiness waits, raw HTTP exchanges."""

from __future__ import annotations

import contextlib
import random
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import TypeVar

EPHEMERAL_RANGE_FILE = "/proc/sys/net/ipv4/ip_local_port_range"
LOWEST_CHOSEN = 20000
"""Below the kernel's ephemeral range, free_port draws from here up: above the ports services
usually take (3000, 5000, 8000-9999...)."""
_handed_out: set[int] = set()


def free_port() -> int:
    """A port that was free on 127.0.0.1 a moment ago, and that nothing else will be given.

    The kernel gives every outgoing connection a local port from its ephemeral range, the range
    `bind(0)` also draws from; a port found free there can become a connection's before the
    server under test binds it (seen as RIE's `address already in use`). So, where Linux says
    what that range is and leaves room below it, the port is drawn at random below it (from
    LOWEST_CHOSEN), checked free, and never handed out twice by this process. Elsewhere: the
    kernel's choice, as before."""
    below = _ephemeral_low()
    if below is not None and below - LOWEST_CHOSEN >= 1000:
        for _ in range(200):
            port = random.randrange(LOWEST_CHOSEN, below)
            if port not in _handed_out and port_is_bindable(port):
                _handed_out.add(port)
                return port
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        chosen: int = sock.getsockname()[1]
        return chosen


PORT_TAKEN = "address already in use"
"""What a listener says when its port is taken, in any case: Python's and moto's `Address already
in use`, Go's (RIE's) `bind: address already in use`."""
PORT_RETRIES = 3
T = TypeVar("T")


def says_port_taken(output: str | bytes) -> bool:
    """Whether a listener's output (a log, an error) says its port was taken."""
    text = output.decode("utf-8", "replace") if isinstance(output, bytes) else output
    return PORT_TAKEN in text.lower()


def retried_if_port_taken(attempt: Callable[[], T], taken: Callable[[Exception], bool],
                          before_retry: Callable[[], object] = lambda: None) -> T:
    """`attempt()`; when it fails and `taken(error)` says a port it was given was taken before it
    bound it, `before_retry()` and again, at most PORT_RETRIES more times. The one retry of the
    test helpers (start_server, start_moto, the RIE sandbox's first invoke): free_port's choice
    below the ephemeral range makes it rare, and a listener elsewhere on the machine can still
    take a port between its choice and its bind."""
    for _ in range(PORT_RETRIES):
        try:
            return attempt()
        except Exception as error:
            if not taken(error):
                raise
        before_retry()
    return attempt()


def on_a_free_port(start: Callable[[int], T], taken: Callable[[Exception, int], bool]) -> T:
    """`start(free_port())`, on another free port when `taken(error, port)` (retried_if_port_taken)."""
    port = 0

    def attempt() -> T:
        nonlocal port
        port = free_port()
        return start(port)

    return retried_if_port_taken(attempt, lambda error: taken(error, port))


def _ephemeral_low() -> int | None:
    """The first port of Linux's ephemeral range (32768 by default), None where unknown."""
    try:
        with open(EPHEMERAL_RANGE_FILE) as handle:
            return int(handle.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def wait_for_http(url: str, timeout: float, process: subprocess.Popen[bytes] | None = None) -> None:
    """Wait until `url` answers any HTTP status; fail early if `process` exits."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"process exited with {process.returncode} before {url} answered")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except urllib.error.HTTPError:
            return
        except OSError as error:
            last_error = error
            time.sleep(0.05)
    raise TimeoutError(f"{url} did not answer within {timeout}s: {last_error}")


def raw_exchange(port: int, data: bytes, timeout: float = 5.0, read_until_close: bool = True) -> bytes:
    """Send raw bytes to 127.0.0.1:port and return everything read until close (or timeout)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(data)
        chunks = []
        try:
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                chunks.append(chunk)
                if not read_until_close:
                    break
        except TimeoutError:
            pass
        return b"".join(chunks)


def stop_process(proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM, timeout: float = 10,
                 strict: bool = False) -> int | None:
    """Signal `proc` and wait; kill it if it lingers (and then raise, if `strict`). Its exit code."""
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            if strict:
                raise
    return proc.returncode


DEFAULT_PORT = 2773  # the server's default port, which `make dev` (or the AWS layer) may hold


class PortHolder:
    """Listens on 127.0.0.1 and ::1 at `port` for as long as it is open, as `make dev` would.

    The test suite holds 2773 this way for its whole run, so a test that binds the default port
    fails on every run, not only on the machines where something else happens to hold it.
    `held` says whether this holder owns the port (False when someone else already does).
    """

    def __init__(self, port: int = DEFAULT_PORT) -> None:
        self.port = port
        self.sockets: list[socket.socket] = []

    @property
    def held(self) -> bool:
        return bool(self.sockets)

    def __enter__(self) -> PortHolder:
        for family, address in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
            try:
                sock = socket.socket(family, socket.SOCK_STREAM)
            except OSError:
                continue  # no IPv6 here
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server does
                sock.bind((address, self.port))
                sock.listen(1)
            except OSError:
                sock.close()  # taken already (make dev), or no such address: either way not ours
                continue
            self.sockets.append(sock)
        return self

    def __exit__(self, *_: object) -> None:
        for sock in self.sockets:
            sock.close()
        self.sockets = []


def port_is_bindable(port: int, address: str = "127.0.0.1") -> bool:
    """Whether a listener could take `address`:`port` now (False while something holds it)."""
    with socket.socket(socket.AF_INET6 if ":" in address else socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((address, port))
            sock.listen(1)
        except OSError:
            return False
        return True


class BlackholedPort:
    """A loopback port whose accept queue is full: the kernel drops further connection attempts
    unanswered, as a VPC with no route to AWS does (tests of unreachable upstreams)."""

    def __init__(self) -> None:
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(0)
        self.port: int = self.listener.getsockname()[1]
        self.fillers: list[socket.socket] = []
        for _ in range(3):
            filler = socket.socket()
            filler.setblocking(False)
            with contextlib.suppress(BlockingIOError):  # the queue is full: it stays pending, as wanted
                filler.connect(("127.0.0.1", self.port))
            self.fillers.append(filler)

    def close(self) -> None:
        for item in (*self.fillers, self.listener):
            item.close()
