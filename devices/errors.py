"""The one exception family of the devices package."""

from __future__ import annotations


class DevicesError(Exception):
    """Root of every error raised by the devices package."""


class DecodeError(DevicesError):
    """A wire message that the contract does not allow; ``reason`` says why, for quarantine."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


class UnknownKindError(DevicesError):
    """A device kind or measurement key that the catalog does not know."""
