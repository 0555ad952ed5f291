"""Fixtures of the delivery tests: the ingest tests' real store, quarantine and fake gateway."""

from __future__ import annotations

from tests.ingest.conftest import fake_gateway, quarantine, sqlite_store, start_ingest

__all__ = ["fake_gateway", "quarantine", "sqlite_store", "start_ingest"]
