"""Gateway link health: offline within a minute, a flapping link as ONE alarm (technical alarms).

Pure core: ``LinkWatch`` takes status messages and ``now`` and returns findings. A gateway is
offline when its last will (retained ``offline`` status) arrives, or when its heartbeat has been
missing for ``missing_after``. A link that went down ``flap_count`` times within ``flap_window``
raises one "link unstable" finding instead of an offline alarm per drop. These are technical
alarms: they never become "the person is inactive".
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from alerts.lifecycle import Priority
from alerts.service import AlertService
from devices.clock import Clock
from devices.codec import decode_uplink
from devices.errors import DecodeError
from devices.payloads import GatewayState, StatusMessage
from ingest.gateway_status import follow_statuses

log = logging.getLogger(__name__)

GATEWAY_OFFLINE = "gateway_offline"
LINK_UNSTABLE = "link_unstable"

# the gateway's heartbeat is 30 s: two missed beats and a margin is still under a minute
MISSING_AFTER = timedelta(seconds=55)
FLAP_COUNT = 3
FLAP_WINDOW = timedelta(minutes=10)
CHECK_EVERY_S = 5.0  # real seconds between heartbeat checks: well inside the 60 s goal


@dataclass(frozen=True, slots=True)
class LinkFinding:
    """A technical finding about one gateway's link; ``since`` names the episode."""

    kind: str
    gateway_id: str
    since: datetime
    detail: str


@dataclass
class _Link:
    online: bool = False
    last_seen: datetime | None = None
    down_since: datetime | None = None
    reported_down: bool = False
    drops: deque[datetime] = field(default_factory=deque)
    unstable_since: datetime | None = None


class LinkWatch:
    """Follows every gateway's status; ``observe`` and ``check`` return new findings only."""

    def __init__(
        self,
        missing_after: timedelta = MISSING_AFTER,
        flap_count: int = FLAP_COUNT,
        flap_window: timedelta = FLAP_WINDOW,
    ) -> None:
        self.missing_after = missing_after
        self.flap_count = flap_count
        self.flap_window = flap_window
        self._links: dict[str, _Link] = {}

    def observe(self, gateway_id: str, online: bool, now: datetime) -> list[LinkFinding]:
        """A status message (online heartbeat or offline last will) received at ``now``."""
        link = self._links.setdefault(gateway_id, _Link())
        if online:
            link.online, link.last_seen = True, now
            link.down_since, link.reported_down = None, False
            return []
        if link.down_since is None:
            link.down_since = now
            link.drops.append(now)
        link.online = False
        return self._down(gateway_id, link, now, "last will: the broker lost the gateway")

    def offline(self, gateway_id: str) -> bool:
        """True while the gateway is known to be offline."""
        link = self._links.get(gateway_id)
        return link is not None and not link.online

    def check(self, now: datetime) -> list[LinkFinding]:
        """Gateways whose heartbeat has been missing too long (a dead link with no last will)."""
        found: list[LinkFinding] = []
        for gateway_id, link in self._links.items():
            silent = link.last_seen is not None and now - link.last_seen > self.missing_after
            if link.online and silent:
                link.online = False
                link.down_since = link.last_seen
                link.drops.append(now)
                found += self._down(gateway_id, link, now, "no heartbeat")
        return found

    def _down(self, gateway_id: str, link: _Link, now: datetime, why: str) -> list[LinkFinding]:
        while link.drops and now - link.drops[0] > self.flap_window:
            link.drops.popleft()
        if len(link.drops) >= self.flap_count:
            if link.unstable_since is None or now - link.unstable_since > self.flap_window:
                link.unstable_since = now
                link.reported_down = True  # the unstable alarm stands for this drop too
                return [
                    LinkFinding(
                        LINK_UNSTABLE, gateway_id, now,
                        f"{len(link.drops)} drops within {self.flap_window}",
                    )
                ]  # fmt: skip
            link.reported_down = True
            return []  # already reported as unstable: one alarm, not one per drop
        if link.reported_down or link.down_since is None:
            return []
        link.reported_down = True
        return [LinkFinding(GATEWAY_OFFLINE, gateway_id, link.down_since, why)]


class LinkMonitor:
    """Watches ``anxin/v1/+/status`` and raises technical alarms for LinkWatch's findings."""

    def __init__(
        self,
        service: AlertService,
        broker_host: str,
        broker_port: int,
        clock: Clock,
        *,
        username: str | None = None,
        password: str | None = None,
        tls_context: ssl.SSLContext | None = None,
        client_id: str = "anxin-link-health",
        check_every_s: float = CHECK_EVERY_S,
        watch: LinkWatch | None = None,
    ) -> None:
        self._service = service
        self._host, self._port = broker_host, broker_port
        self._clock = clock
        self._username, self._password = username, password
        self._tls_context = tls_context
        self._client_id = client_id
        self._check_every_s = check_every_s
        self.watch = watch or LinkWatch()
        self.ready = asyncio.Event()

    async def run(self) -> None:
        """Listen and check until cancelled, reconnecting with capped, jittered backoff."""
        async with asyncio.TaskGroup() as tg:
            tg.create_task(self._listen(), name="link-listen")
            tg.create_task(self._check(), name="link-check")

    async def _listen(self) -> None:
        await follow_statuses(
            "link_health", self._host, self._port, self._client_id, self._take, self.ready,
            username=self._username, password=self._password, tls_context=self._tls_context,
        )  # fmt: skip

    async def _take(self, topic_name: str, payload: object) -> None:
        if not isinstance(payload, bytes):
            return
        try:
            _, status = decode_uplink(topic_name, payload)
        except DecodeError as err:
            log.warning("link_health_bad_status topic=%s reason=%s", topic_name, err.reason)
            return
        if isinstance(status, StatusMessage):
            online = status.state is GatewayState.ONLINE
            await self._raise(self.watch.observe(status.gw, online, self._clock.now()))

    async def _check(self) -> None:
        while True:
            await asyncio.sleep(self._check_every_s)
            await self._raise(self.watch.check(self._clock.now()))

    async def _raise(self, findings: list[LinkFinding]) -> None:
        for f in findings:
            await self._service.raise_condition(
                kind=f.kind,
                gateway_id=f.gateway_id,
                resident_id=None,
                fingerprint=f"{f.kind}:{f.gateway_id}:{f.since.isoformat()}",
                summary=f"{f.kind} at gateway {f.gateway_id}: {f.detail}",
                priority=Priority.TECHNICAL.value,
            )
            log.warning("link_health_alarm kind=%s gw=%s since=%s", f.kind, f.gateway_id, f.since)
