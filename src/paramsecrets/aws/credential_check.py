"""Are there AWS credentials at all? Checked once at start, so that none is noticed at once.

Without credentials the server starts and answers /ping, and every read fails with
`CredentialsUnavailable`. The check asks awscrt's default chain (the one every call signs with)
for credentials once, in the background after `register` (under Lambda the environment holds them
and the answer is immediate), and warns naming every place the chain looked. `paramsecrets config
check` runs the same check. Nothing here ever shows a credential: only whether variables are set
and which files exist.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping
from typing import Any

CHECK_TIMEOUT_S = 5.0
"""The chain may wait on the EC2 instance metadata service (absent outside EC2): at most this long."""


def _state(environ: Mapping[str, str], *names: str) -> str:
    found = [name for name in names if environ.get(name)]
    if len(found) == len(names):
        return "set"
    return "not set" if not found else f"only {', '.join(found)} set"


def sources_tried(environ: Mapping[str, str]) -> list[str]:
    """Where awscrt's default chain looks, in its order, each with what is there (never a value)."""
    tried = [f"the environment (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY: "
             f"{_state(environ, 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY')})"]
    home = environ.get("HOME") or os.path.expanduser("~")
    profile = environ.get("AWS_PROFILE") or "default"
    files = [environ.get("AWS_SHARED_CREDENTIALS_FILE") or os.path.join(home, ".aws", "credentials"),
             environ.get("AWS_CONFIG_FILE") or os.path.join(home, ".aws", "config")]
    present = [path for path in files if os.path.isfile(path)]
    found = f"{' and '.join(present)} exist" if present else "neither file exists"
    tried.append(f'the profile "{profile}" in {files[0]} and {files[1]} ({found})')
    if environ.get("AWS_WEB_IDENTITY_TOKEN_FILE") or environ.get("AWS_ROLE_ARN"):
        tried.append(f"web identity (AWS_ROLE_ARN and AWS_WEB_IDENTITY_TOKEN_FILE: "
                     f"{_state(environ, 'AWS_ROLE_ARN', 'AWS_WEB_IDENTITY_TOKEN_FILE')})")
    container = ("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI")
    tried.append("container credentials (" + (
        f"{next(name for name in container if environ.get(name))} set" if any(environ.get(n) for n in container)
        else "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI and AWS_CONTAINER_CREDENTIALS_FULL_URI not set") + ")")
    if environ.get("AWS_EC2_METADATA_DISABLED", "").strip().lower() == "true":
        tried.append("the EC2 instance metadata service (off: AWS_EC2_METADATA_DISABLED=true)")
    else:
        tried.append("the EC2 instance metadata service")
    return tried


def missing_message(environ: Mapping[str, str], reason: str) -> str:
    """The warning for a chain that found nothing: why, and every place it looked."""
    return (f"no AWS credentials found ({reason}); the chain tried: {'; '.join(sources_tried(environ))}. "
            "Every read that needs AWS will fail with CredentialsUnavailable until credentials can be found")


async def find_credentials(provider: Any, timeout_s: float = CHECK_TIMEOUT_S) -> str | None:
    """None when `provider` (an awscrt credentials provider) gives credentials within `timeout_s`,
    else why not. The credentials themselves are dropped at once."""
    from awscrt.exceptions import AwsCrtError

    from paramsecrets.aws.transport import crt_result

    try:
        async with asyncio.timeout(timeout_s):
            await crt_result(provider.get_credentials())
    except TimeoutError:
        return f"the chain gave no answer within {timeout_s:g}s"
    except AwsCrtError as error:
        return str(error.name)
    return None


async def warn_if_missing(provider: Any, environ: Mapping[str, str], warn: Any, found: Any = None,
                          timeout_s: float = CHECK_TIMEOUT_S) -> bool:
    """At start: look for credentials once; `warn(message)` if there are none, else `found()`."""
    reason = await find_credentials(provider, timeout_s)
    if reason is None:
        if found is not None:
            found()
        return True
    warn(missing_message(environ, reason))
    return False
