"""The AWS SDKs' own protocol (AWS JSON 1.1) on the extension's port: docs/sdk.md.

A function that sets AWS_ENDPOINT_URL_SSM / AWS_ENDPOINT_URL_SECRETS_MANAGER to this server gets
its GetParameter, GetParameters, GetParametersByPath, GetSecretValue and BatchGetSecretValue calls
answered from the cache, and every other call of the two services forwarded to AWS.
"""

__all__ = [
    "auth",
    "cached",
    "foreign",
    "forward",
    "invalidation",
    "items",
    "protocol",
    "regions",
    "sigv4",
    "wire",
]
