"""A real HTTP CONNECT proxy (Debian's tinyproxy) on a free loopback port, with its log to inspect."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from paramsecrets.testing.moto import wait_until
from paramsecrets.testing.net import free_port, stop_process

TINYPROXY = shutil.which("tinyproxy") or "/usr/bin/tinyproxy"


class Tinyproxy:
    def __init__(self, workdir: Path, connect_ports: tuple[int, ...] = ()) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = workdir / f"tinyproxy-{self.port}.log"
        config = workdir / f"tinyproxy-{self.port}.conf"
        # No ConnectPort line: CONNECT to any port (moto's is not 443); with some, only to those.
        # Only loopback clients.
        config.write_text(f"Port {self.port}\nListen 127.0.0.1\nTimeout 60\nAllow 127.0.0.1\n"
                          f"LogFile \"{self.log_path}\"\nLogLevel Connect\nMaxClients 50\n"
                          + "".join(f"ConnectPort {port}\n" for port in connect_ports))
        self.log_path.touch()
        self.proc = subprocess.Popen([TINYPROXY, "-d", "-c", str(config)], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.STDOUT)
        if not wait_until(self._listening, timeout=20):
            self.stop()
            raise RuntimeError(f"tinyproxy did not start:\n{self.log()}")

    def _listening(self) -> bool:
        import socket

        if self.proc.poll() is not None:
            raise RuntimeError(f"tinyproxy exited with {self.proc.returncode}:\n{self.log()}")
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
        except OSError:
            return False
        return True

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def connects(self, target: str) -> int:
        """How many CONNECT requests for `target` (host:port) the proxy logged."""
        return self.log().count(f"CONNECT {target} ")

    def stop(self) -> None:
        stop_process(self.proc, timeout=10)
