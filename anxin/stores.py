"""Opens the configured time-series store."""

from __future__ import annotations

from anxin.config import Settings
from ingest.influx_store import InfluxStore
from ingest.sqlite_store import SQLiteStore
from ingest.store import ReadingStore


async def open_store(settings: Settings) -> ReadingStore:
    """SQLite in the data dir by default; InfluxDB when configured."""
    if settings.store == "influxdb":
        return await InfluxStore.open(settings.influx_url, settings.influx_database)
    return await SQLiteStore.open(settings.timeseries_path)
