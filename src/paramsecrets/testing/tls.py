"""Test certificate authorities and server certificates, made with the openssl command at test time.

Nothing is committed or reused across runs: each session makes its own CA (and a second, unrelated
CA for "not trusted" cases), so the TLS tests prove what a real deployment with a private CA does.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from paramsecrets.testing.moto import TlsFiles

SERVER_NAMES = ("localhost", "127.0.0.1")


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def make_ca(directory: Path, name: str) -> tuple[Path, Path]:
    """(certificate, key) of a new self-signed CA called `name`."""
    directory.mkdir(parents=True, exist_ok=True)
    cert, key = directory / f"{name}-ca.pem", directory / f"{name}-ca.key"
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", f"/CN={name} test CA",
             "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
             "-keyout", str(key), "-out", str(cert), cwd=directory)
    return cert, key


def make_server_cert(directory: Path, ca: tuple[Path, Path], name: str = "server",
                     names: tuple[str, ...] = SERVER_NAMES) -> TlsFiles:
    """A server certificate for `names` (DNS names and IP addresses) signed by `ca`."""
    ca_cert, ca_key = ca
    key, csr, cert = directory / f"{name}.key", directory / f"{name}.csr", directory / f"{name}.pem"
    san = ",".join(f"IP:{n}" if n.replace(".", "").isdigit() or ":" in n else f"DNS:{n}" for n in names)
    extensions = directory / f"{name}.ext"
    extensions.write_text(f"subjectAltName={san}\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\n"
                          "extendedKeyUsage=serverAuth\n")
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={names[0]}", "-keyout", str(key), "-out", str(csr),
             cwd=directory)
    _openssl("x509", "-req", "-in", str(csr), "-CA", str(ca_cert), "-CAkey", str(ca_key), "-CAcreateserial",
             "-days", "2", "-extfile", str(extensions), "-out", str(cert), cwd=directory)
    return TlsFiles(ca_cert, cert, key)
