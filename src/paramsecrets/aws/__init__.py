"""Calls to AWS: endpoint resolution, signed transport, retries, error classification, operations."""

__all__ = [
    "clients",
    "credential_check",
    "endpoints",
    "errors",
    "proxy",
    "secrets",
    "selfloop",
    "settings",
    "ssm",
    "sts",
    "transport",
    "trust",
    "upstream",
]
