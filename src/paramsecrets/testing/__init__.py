"""Test support shipped with the package: fake clock, fake upstream, ports, moto and server helpers."""

__all__ = [
    "actionlint",
    "clock",
    "debian_mirror",
    "emf_spec",
    "fake_upstream",
    "fault_proxy",
    "import_audit",
    "lambda_root",
    "lambda_sandbox",
    "moto",
    "net",
    "rie",
    "server",
    "stack",
    "targets",
    "tinyproxy",
    "tls",
]
