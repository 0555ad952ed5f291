"""Opens the configured time-series store."""

from __future__ import annotations

from pathlib import Path

from anxin.config import Settings
from ingest.influx_store import InfluxStore
from ingest.sqlite_store import SQLiteStore
from ingest.store import ReadingStore

STORE_KINDS = ("sqlite", "influxdb")


async def open_store_at(kind: str, location: str, database: str = "anxin") -> ReadingStore:
    """``kind`` "influxdb": InfluxDB at the URL ``location`` (``database``); else a SQLite file."""
    if kind == "influxdb":
        return await InfluxStore.open(location, database)
    return await SQLiteStore.open(Path(location))


async def open_store(settings: Settings) -> ReadingStore:
    """SQLite in the data dir by default; InfluxDB when configured."""
    if settings.store == "influxdb":
        return await open_store_at("influxdb", settings.influx_url, settings.influx_database)
    return await open_store_at("sqlite", str(settings.timeseries_path))
