"""Calls to AWS: endpoint resolution, signed transport, retries, error classification, operations."""
