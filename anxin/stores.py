"""Opens the configured time-series store."""

from __future__ import annotations

import argparse
from pathlib import Path

from anxin.config import Settings
from ingest.influx_store import InfluxStore
from ingest.sqlite_store import SQLiteStore
from ingest.store import ReadingStore

STORE_KINDS = ("sqlite", "influxdb")
DEFAULT_INFLUX_URL = "http://127.0.0.1:8086"
DEFAULT_SQLITE_PATH = Path(".anxin/series.db")


def add_store_options(parser: argparse.ArgumentParser, help_text: str | None = None) -> None:
    """``--store``, ``--influx-url`` and ``--sqlite-path``: the time-series store ingest writes."""
    parser.add_argument("--store", choices=STORE_KINDS, default="influxdb", help=help_text)
    parser.add_argument("--influx-url", default=DEFAULT_INFLUX_URL)
    parser.add_argument("--sqlite-path", type=Path, default=DEFAULT_SQLITE_PATH)


def store_location(args: argparse.Namespace) -> str:
    """Where the store of ``add_store_options`` is: the InfluxDB URL or the SQLite file."""
    return str(args.influx_url if args.store == "influxdb" else args.sqlite_path)


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
