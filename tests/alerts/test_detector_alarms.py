"""A detector that does not run is told to the stations it leaves unwatched, as a technical alarm."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from alerts.contacts import ContactSpec, add_contact
from alerts.detector_alarms import DETECTOR_DOWN, DetectorAlarms
from alerts.detector_health import DetectorHealth, DetectorProblem
from alerts.messages import MessageFacts, render
from alerts.models import Alert, Delivery
from anxin.localservers import Server, free_port
from registry.repository import DeviceSpec, create_gateway, create_home, create_station
from tests.alerts.conftest import START, Home
from tests.alerts.receivers import Inbox, inbox
from tests.alerts.test_restart import service

__all__ = ["inbox"]


async def _second_and_empty_station(home: Home) -> tuple[int, int]:
    """A second station with a home (gateway gw-2) and a third station with no home at all."""
    async with home.sessions() as session, session.begin():
        west = await create_station(session, name="西城驿站", code="west")
        flat = await create_home(session, station_id=west.id, label="7-101")
        await create_gateway(
            session, gateway_id="gw-2", home_id=flat.id, created_at=START,
            devices=[DeviceSpec("pir-hall", "pir", "hallway")],
        )  # fmt: skip
        empty = await create_station(session, name="新驿站", code="new")
        return west.id, empty.id


async def test_a_detector_down_for_five_minutes_alarms_every_station_with_homes_once(
    home: Home,
) -> None:
    west, empty = await _second_and_empty_station(home)
    health = DetectorHealth(now=home.clock.now)
    alarms = DetectorAlarms(health, home.service, home.sessions, home.clock)
    health.failed("routine", OSError("InfluxDB unreachable"))

    assert await alarms.check_once() == 0, "a restart that works at once is not worth a message"
    home.clock.advance(299)
    assert await alarms.check_once() == 0
    home.clock.advance(2)
    assert await alarms.check_once() == 2
    assert await alarms.check_once() == 0, "one alarm per station and episode"
    health.failed("vitals", OSError("InfluxDB unreachable"))  # the same outage stops another
    home.clock.advance(600)
    assert await alarms.check_once() == 0, (
        "still the same episode: one message, not one per detector"
    )

    raised = [a for a in await home.service.list() if a.kind == DETECTOR_DOWN]
    assert sorted(a.station_id or 0 for a in raised) == sorted([home.station_id, west])
    assert empty not in {a.station_id for a in raised}
    for alert in raised:
        assert alert.priority == "technical"
        assert alert.state == "open"
        assert alert.resident_id is None
        assert alert.home_id is None
        assert "routine" in alert.summary
        assert "InfluxDB unreachable" in alert.summary
        assert "every home" in alert.summary


async def test_a_detector_failing_for_some_homes_alarms_only_their_station(home: Home) -> None:
    west, _ = await _second_and_empty_station(home)
    health = DetectorHealth(now=home.clock.now)
    since = home.clock.now() - timedelta(minutes=10)
    health.watch(
        "routine", lambda: DetectorProblem("routine", since, "ValueError: odd data", 1, ("gw-2",))
    )
    alarms = DetectorAlarms(health, home.service, home.sessions, home.clock)
    assert await alarms.check_once() == 1
    (alert,) = [a for a in await home.service.list() if a.kind == DETECTOR_DOWN]
    assert alert.station_id == west
    assert "1 home(s) of this station" in alert.summary


async def test_a_detector_that_concerns_no_resident_raises_nothing(home: Home) -> None:
    health = DetectorHealth(now=home.clock.now)
    health.failed("retention", OSError("disk full"))
    home.clock.advance(3600)
    alarms = DetectorAlarms(health, home.service, home.sessions, home.clock)
    assert await alarms.check_once() == 0


async def test_a_new_episode_alarms_again(home: Home) -> None:
    ticks = [0.0]
    health = DetectorHealth(healthy_after_s=60, monotonic=lambda: ticks[0], now=home.clock.now)
    alarms = DetectorAlarms(health, home.service, home.sessions, home.clock)
    health.failed("vitals", RuntimeError("bug"))
    home.clock.advance(600)
    assert await alarms.check_once() == 1
    health.restarted("vitals")
    ticks[0] += 61  # ran a minute without failing: healthy again
    assert health.problems() == []
    health.failed("vitals", RuntimeError("bug again"))
    home.clock.advance(600)
    assert await alarms.check_once() == 1


@pytest.mark.parametrize(
    ("locale", "title", "words"),
    [
        ("zh-CN", "【安心】系统故障：自动监测已停止", "请电话联系或上门看望住户"),
        ("en", "[Anxin] System fault: automatic monitoring has stopped", "phone or visit"),
    ],
)
def test_the_message_speaks_of_the_station_not_of_a_resident(
    locale: str, title: str, words: str
) -> None:
    facts = MessageFacts(
        alert_id=7, kind=DETECTOR_DOWN, priority="technical", resident_name="", home_label="",
        raised_at=datetime(2026, 1, 5, 19, 0, tzinfo=UTC), evidence_count=0,
        summary="not running since 2026-01-05 18:55Z: routine (…)", station_timezone="Asia/Shanghai",
        link="http://127.0.0.1:8080/alerts/7", key="7:0:0",
    )  # fmt: skip
    subject, body = render(locale, facts)
    assert subject.startswith(title)
    assert words in body
    assert "not running since 2026-01-05 18:55Z: routine" in body
    assert "（）" not in body, "no empty resident or home"
    assert "()" not in body, "no empty resident or home"
    reminder, _ = render(locale, facts, attempt=2)
    assert "2" in reminder
    assert "automatic" in reminder or "自动监测" in reminder


@pytest.mark.mosquitto
async def test_the_alert_service_tells_the_station_when_its_store_stays_unreachable(
    home: Home, inbox: Inbox, database_url: str, mosquitto_server: Server, tmp_path: Path
) -> None:
    """``anxin alerts run`` has no console: with InfluxDB down, the only way anyone learns that
    nobody is checked for inactivity is this message (simulated time: 5 min pass in 3 s)."""
    async with home.sessions() as session, session.begin():
        await add_contact(session, home.station_id,
                          ContactSpec("staff", (inbox.mailto("duty@example.org"),)))  # fmt: skip
    dead = f"http://127.0.0.1:{free_port()}"
    async with service(
        database_url, mosquitto_server.port, datetime.now(UTC), tmp_path / "unused.db",
        speed=100.0, store=("--store", "influxdb", "--influx-url", dead),
    ) as child:  # fmt: skip
        # other technical alarms may come first (the fake gateway does not answer the weekly
        # test alarm that simulated time makes due): take the detector_down message
        message = await inbox.next(wait_s=20)
        while "自动监测已停止" not in message.title:
            message = await inbox.next(wait_s=20)
        child.proc.terminate()
    assert message.to == "duty@example.org"
    assert "自动监测已停止" in message.title
    assert "not running since" in message.body
    assert "routine" in message.body
    async with home.sessions() as session:
        delivered = (
            await session.scalars(select(Delivery).join(Alert).where(Alert.kind == DETECTOR_DOWN))
        ).all()
    assert len(delivered) == 1, "one message for one station and episode"
