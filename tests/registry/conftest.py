"""Fixtures of the registry tests."""

from __future__ import annotations

from tests.registry.databases import database_url, sessions

__all__ = ["database_url", "sessions"]
