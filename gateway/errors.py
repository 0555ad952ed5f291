"""The one exception family of the gateway package."""

from __future__ import annotations


class GatewayError(Exception):
    """Root of every error raised by the gateway package."""


class OutboxError(GatewayError):
    """The on-disk outbox could not be opened, read or written."""


class ConfigError(GatewayError):
    """The gateway's settings are missing or invalid."""
