"""What AWS calls fall back on when the host has no CA trust store.

awscrt looks for the system's CA bundle (/etc/ssl/certs/ca-certificates.crt,
/etc/pki/tls/certs/ca-bundle.crt, ...) and refuses to build a TLS context, or the default
credentials chain, without one. Every Lambda runtime has one; a bare container root may not. The
Lambda layer carries Mozilla's CAs (from Debian's ca-certificates package) next to its own Python,
and only where the host has none are they used: TLS to AWS trusts them, and credentials come from
the environment or the shared config files, the default chain's providers that need no HTTPS.
"""

from __future__ import annotations

import contextlib
import os.path

from awscrt.auth import AwsCredentialsProvider

TRUST_STORE_NOT_FOUND = "AWS_IO_TLS_ERROR_DEFAULT_TRUST_STORE_NOT_FOUND"
LAYER_CA_BUNDLE = os.path.join("runtime", "etc", "ssl", "ca-certificates.crt")
"""Relative to the layer's /opt/paramsecrets, which holds lib/paramsecrets/aws/ (this file).
(os.path, not pathlib: pathlib would be the server's only reason to import pathlib, fnmatch,
urllib.parse and ipaddress, 0.5 MiB of RSS.)"""


def bundled_ca_file() -> str | None:
    """The layer's CA bundle, or None when this package does not run from the layer."""
    here = os.path.dirname(os.path.realpath(__file__))  # .../paramsecrets/lib/paramsecrets/aws
    path = os.path.join(here, os.pardir, os.pardir, os.pardir, LAYER_CA_BUNDLE)
    path = os.path.normpath(path)
    return path if os.path.isfile(path) else None


def is_missing_trust_store(error: BaseException) -> bool:
    """Whether awscrt failed because the host has no CA trust store."""
    return TRUST_STORE_NOT_FOUND in str(error)


def credentials_without_tls() -> AwsCredentialsProvider:
    """Environment variables, then the shared config/credentials files (when there are some)."""
    providers = [AwsCredentialsProvider.new_environment()]
    with contextlib.suppress(RuntimeError, ValueError):  # no config files: the environment alone
        providers.append(AwsCredentialsProvider.new_profile())
    return AwsCredentialsProvider.new_chain(providers)
