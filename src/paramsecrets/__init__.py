"""paramsecrets: a local cache server for SSM parameters and Secrets Manager secrets."""

__version__ = "0.1.0"

__all__ = ["__version__"]
