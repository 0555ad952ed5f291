"""The alert service against SQLite and the real PostgreSQL."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator

import pytest

from alerts.errors import AlertNotFoundError, AlertStateError
from alerts.service import Outcome
from alerts.views import AlertChange
from tests.alerts.conftest import Home


async def _changes(home: Home, count: int, changes: AsyncIterator[AlertChange]) -> list[str]:
    return [(await asyncio.wait_for(anext(changes), 5)).action for _ in range(count)]


async def test_a_fall_raises_one_alert_about_the_wearer(home: Home) -> None:
    async with home.feed.subscribe() as feed:
        view = await home.service.raise_from_event(home.event("fall"))
        assert view is not None
        assert (view.kind, view.priority, view.state) == ("fall", "high", "open")
        assert (view.resident_id, view.resident_name) == (home.wearer_id, "李德明")
        assert (view.home_id, view.station_id, view.gateway_id) == (
            home.home_id,
            home.station_id,
            "gw-1",
        )
        assert view.evidence_count == 1
        assert view.raised_at == home.clock.now()
        change = await asyncio.wait_for(anext(aiter(feed)), 5)
    assert change == AlertChange("raised", view)
    assert await home.service.get(view.id) == view
    assert await home.service.count_open() == 1


async def test_a_call_from_a_room_sensor_is_about_the_first_resident(home: Home) -> None:
    view = await home.service.raise_from_event(home.event("call_button", device="pir-hallway"))
    assert view is not None
    assert (view.priority, view.resident_id) == ("high", home.resident_id)


async def test_the_same_event_twice_counts_once(home: Home) -> None:
    event = home.event("fall")
    first = await home.service.raise_from_event(event)
    async with home.feed.subscribe() as feed:
        again = await home.service.raise_from_event(event)
        assert first is not None
        assert again is not None
        assert again.id == first.id
        assert again.evidence_count == 1
        home.feed.publish(AlertChange("marker", again))
        assert (await asyncio.wait_for(anext(aiter(feed)), 5)).action == "marker"  # nothing before
    assert len(await home.service.list()) == 1


async def test_different_events_of_one_episode_add_evidence(home: Home) -> None:
    first = await home.service.raise_from_event(home.event("fall"))
    home.clock.advance(30)
    second = await home.service.raise_from_event(home.event("fall"))
    assert first is not None
    assert second is not None
    assert second.id == first.id
    assert second.evidence_count == 2
    other = await home.service.raise_from_event(home.event("call_button"))
    assert other is not None
    assert other.id != first.id  # another kind is another episode


async def test_after_resolve_a_new_event_opens_a_new_alert(home: Home) -> None:
    first = await home.service.raise_from_event(home.event("fall"))
    assert first is not None
    await home.service.acknowledge(first.id, home.staff_id)
    await home.service.resolve(first.id, home.staff_id, Outcome.VISITED, "helped up, unhurt")
    second = await home.service.raise_from_event(home.event("fall"))
    assert second is not None
    assert second.id != first.id
    assert second.state == "open"
    assert await home.service.count_open() == 1


async def test_concurrent_creators_make_one_alert(home: Home) -> None:
    views = await asyncio.gather(
        *(home.service.raise_from_event(home.event("fall")) for _ in range(4))
    )
    assert len({v.id for v in views if v is not None}) == 1
    [alert] = await home.service.list()
    assert alert.evidence_count == 4


async def test_the_same_event_concurrently_counts_once(home: Home) -> None:
    event = home.event("call_button")
    views = await asyncio.gather(*(home.service.raise_from_event(event) for _ in range(3)))
    assert len({v.id for v in views if v is not None}) == 1
    [alert] = await home.service.list()
    assert alert.evidence_count == 1


async def test_acknowledge_and_resolve(home: Home) -> None:
    view = await home.service.raise_from_event(home.event("fall"))
    assert view is not None
    async with home.feed.subscribe() as feed:
        changes = aiter(feed)
        with pytest.raises(AlertStateError):
            await home.service.resolve(view.id, home.staff_id, Outcome.FALSE_ALARM)
        home.clock.advance(42)
        acked = await home.service.acknowledge(view.id, home.staff_id)
        assert (acked.state, acked.acked_by, acked.acked_at) == (
            "acknowledged",
            "duty",
            home.clock.now(),
        )
        assert await home.service.acknowledge(view.id, home.staff_id) == acked  # idempotent
        resolved = await home.service.resolve(
            view.id, home.staff_id, Outcome.HANDLED_AT_HOME, "called her, she is fine"
        )
        assert (resolved.state, resolved.outcome, resolved.note) == (
            "resolved",
            "handled_at_home",
            "called her, she is fine",
        )
        assert await _changes(home, 2, changes) == ["acknowledged", "resolved"]
    with pytest.raises(AlertStateError):
        await home.service.acknowledge(view.id, home.staff_id)
    with pytest.raises(AlertStateError):
        await home.service.resolve(view.id, home.staff_id, Outcome.TEST)
    with pytest.raises(AlertNotFoundError):
        await home.service.get(999_999)
    with pytest.raises(AlertNotFoundError):
        await home.service.acknowledge(999_999, home.staff_id)
    assert await home.service.count_open() == 0


async def test_cancel_attaches_to_a_high_alert_but_resolves_a_pre_alert(home: Home) -> None:
    assert await home.service.raise_from_event(home.event("cancel")) is None  # nothing to cancel
    pre = await home.service.raise_from_event(home.event("pre_alert"))
    assert pre is not None
    assert pre.priority == "medium"
    cancelled = await home.service.raise_from_event(home.event("cancel"))
    assert cancelled is not None
    assert (cancelled.id, cancelled.state, cancelled.outcome) == (pre.id, "resolved", "false_alarm")
    fall = await home.service.raise_from_event(home.event("fall"))
    assert fall is not None
    after = await home.service.raise_from_event(home.event("cancel"))
    assert after is not None
    assert (after.id, after.state, after.evidence_count) == (fall.id, "open", 2)


async def test_kinds_that_raise_nothing(home: Home) -> None:
    assert await home.service.raise_from_event(home.event("heartbeat")) is None
    unknown = dataclasses.replace(home.event("fall"), gateway="gw-x")  # not registered
    assert await home.service.raise_from_event(unknown) is None
    assert await home.service.count_open() == 0


async def test_list_orders_and_filters(home: Home) -> None:
    low = await home.service.raise_from_event(home.event("test_alarm"))
    home.clock.advance(60)
    high = await home.service.raise_from_event(home.event("fall"))
    home.clock.advance(60)
    medium = await home.service.raise_condition(
        kind="inactivity",
        gateway_id="gw-1",
        resident_id=home.resident_id,
        fingerprint="inactivity:gw-1:1",
        summary="quiet",
        priority="medium",
    )
    assert low is not None
    assert high is not None
    assert medium is not None
    assert [v.id for v in await home.service.list()] == [high.id, medium.id, low.id]
    assert [v.id for v in await home.service.list(states=["open"])] == [high.id, medium.id]
    assert [v.id for v in await home.service.list(limit=1)] == [high.id]
    assert await home.service.list(station_ids=[home.station_id + 1]) == []
    by_resident = await home.service.list(resident_ids=[home.resident_id])
    assert [v.id for v in by_resident] == [medium.id]
    either = await home.service.list(station_ids=[999], resident_ids=[home.wearer_id])
    assert [v.id for v in either] == [high.id, low.id]


async def test_a_condition_raises_once_per_episode(home: Home) -> None:
    kwargs = {
        "kind": "inactivity",
        "gateway_id": "gw-1",
        "resident_id": home.resident_id,
        "fingerprint": "inactivity:gw-1:1740790000",
        "summary": "no activity for 4.5 h",
        "priority": "medium",
    }
    first = await home.service.raise_condition(**kwargs)  # type: ignore[arg-type]
    assert first is not None
    assert (first.kind, first.priority, first.summary) == (
        "inactivity",
        "medium",
        "no activity for 4.5 h",
    )
    assert await home.service.raise_condition(**kwargs) is None  # type: ignore[arg-type]
    await home.service.resolve(first.id, home.staff_id, Outcome.HANDLED_AT_HOME)
    assert await home.service.raise_condition(**kwargs) is None  # type: ignore[arg-type]
    together = await asyncio.gather(
        *(
            home.service.raise_condition(**{**kwargs, "fingerprint": "inactivity:gw-1:2"})  # type: ignore[arg-type]
            for _ in range(3)
        )
    )
    assert len([v for v in together if v is not None]) == 1


async def test_a_test_alarm_is_recorded_resolved_and_told_to_nobody(home: Home) -> None:
    changes: list[AlertChange] = []
    async with home.feed.subscribe() as feed:
        test = await home.service.raise_from_event(home.event("test_alarm"))
        assert test is not None
        changes.append(await asyncio.wait_for(anext(feed), 5))
    assert (test.state, test.outcome, test.next_escalation_at) == ("resolved", "test", None)
    assert [(c.action, c.alert.id) for c in changes] == [("raised", test.id)]
    assert await home.service.count_open() == 0
    again = await home.service.raise_from_event(home.event("test_alarm"))  # next week's test
    assert again is not None
    assert again.id != test.id
