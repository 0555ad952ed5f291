"""Liveness for a watchdog: a health file rewritten every few seconds, and systemd's WATCHDOG=1.

The file holds one JSON object (time, connected, outbox depth and bytes, drops, clock offset);
a supervisor that finds it older than ``STALE_AFTER_S`` restarts the agent. Under systemd with
``WatchdogSec=`` the same beat is sent to ``$NOTIFY_SOCKET``, so a hung agent is killed and
restarted by systemd itself.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import time
from pathlib import Path

from gateway.outbox import Outbox
from gateway.uplink import Uplink

log = logging.getLogger(__name__)

HEALTH_EVERY_S = 5.0  # real seconds between beats
STALE_AFTER_S = 30.0  # a health file older than this means the agent is hung


class HealthReporter:
    """Writes the health file (atomically) and notifies systemd, until cancelled."""

    def __init__(
        self,
        path: Path,
        gateway_id: str,
        outbox: Outbox,
        uplink: Uplink,
        every_s: float = HEALTH_EVERY_S,
    ) -> None:
        self.path = path
        self.gateway_id = gateway_id
        self.outbox = outbox
        self.uplink = uplink
        self.every_s = every_s

    def snapshot(self) -> dict[str, object]:
        """What the health file says now."""
        usage = self.outbox.usage()
        return {
            "gw": self.gateway_id,
            "boot": self.outbox.boot,
            "t": time.time(),
            "connected": self.uplink.connected.is_set(),
            "outbox_depth": usage.urgent_items + usage.bulk_items,
            "outbox_urgent": usage.urgent_items,
            "outbox_bytes": usage.urgent_bytes + usage.bulk_bytes,
            "dropped": usage.dropped,
            "thinned": usage.thinned,
            "clock_offset_s": self.uplink.clock_offset_s,
        }

    def write(self) -> None:
        """Replace the health file in one rename, so a reader never sees half of it."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.snapshot()) + "\n", encoding="utf-8")
        tmp.replace(self.path)

    async def run(self) -> None:
        """Beat every ``every_s`` seconds."""
        systemd = os.environ.get("NOTIFY_SOCKET")
        if systemd:
            notify(systemd, b"READY=1")
        while True:
            await asyncio.to_thread(self.write)
            if systemd:
                notify(systemd, b"WATCHDOG=1")
            await asyncio.sleep(self.every_s)


def notify(address: str, message: bytes) -> None:
    """Send one sd_notify datagram (``@`` names an abstract socket)."""
    target = "\0" + address[1:] if address.startswith("@") else address
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        try:
            sock.sendto(message, target)
        except OSError as err:
            log.warning("health.notify_failed socket=%s error=%s", address, err)


def is_stale(path: Path, now: float | None = None, stale_after_s: float = STALE_AFTER_S) -> bool:
    """True when the health file is missing or older than ``stale_after_s`` (for a watchdog)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return True
    t = data.get("t") if isinstance(data, dict) else None
    return not isinstance(t, int | float) or (now or time.time()) - t > stale_after_s
