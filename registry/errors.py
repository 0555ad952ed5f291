"""The one exception family of the registry."""

from __future__ import annotations


class RegistryError(Exception):
    """Root of every error raised by the registry."""


class NotFoundError(RegistryError):
    """The record asked for does not exist (or the caller may not know it exists)."""


class ConflictError(RegistryError):
    """The change would break a uniqueness rule (a username or gateway id already taken)."""


class SelfLockoutError(ConflictError):
    """An administrator tried to deactivate themselves or change their own role."""
