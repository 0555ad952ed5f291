"""Prometheus metrics of ingest: received, written, rejected, retried, lag and queue depth."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, make_asgi_app, start_http_server

ASGIApp = Callable[
    [MutableMapping[str, Any], Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]],
    Awaitable[None],
]


class IngestMetrics:
    """The counters and gauges of one ingest process, in their own registry."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        r = self.registry
        self.received = Counter(
            "anxin_ingest_messages_received", "Uplink messages taken from the broker", registry=r
        )
        self.written = Counter(
            "anxin_ingest_points_written", "Readings and events written to the store", registry=r
        )
        self.rejected = Counter(
            "anxin_ingest_rejected",
            "Messages or readings put in quarantine, by reason",
            ["reason"],
            registry=r,
        )
        self.duplicates = Counter(
            "anxin_ingest_duplicates", "Redelivered messages recognised and re-acked", registry=r
        )
        self.acked = Counter("anxin_ingest_acked", "Message sequence numbers acked", registry=r)
        self.retried = Counter(
            "anxin_ingest_store_retries",
            "Store or quarantine writes that failed and were retried",
            registry=r,
        )
        self.lag = Gauge(
            "anxin_ingest_lag_seconds",
            "Receive clock minus the gateway's send time of the latest batch written",
            registry=r,
        )
        self.queue_depth = Gauge(
            "anxin_ingest_queue_depth", "Readings messages waiting for the writer", registry=r
        )


def metrics_app(metrics: IngestMetrics) -> ASGIApp:
    """An ASGI app serving the metrics in the Prometheus text format (mount it at /metrics)."""
    app: ASGIApp = make_asgi_app(metrics.registry)
    return app


def serve_metrics(metrics: IngestMetrics, port: int, host: str = "127.0.0.1") -> None:
    """Serve the metrics over HTTP on ``host:port`` from a daemon thread (for worker processes)."""
    start_http_server(port, addr=host, registry=metrics.registry)
