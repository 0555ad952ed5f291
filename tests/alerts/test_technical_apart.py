"""Device and link trouble stays technical: an offline gateway never makes a person "inactive"."""

from __future__ import annotations

from alerts.feed import AlertFeed
from alerts.link_health import LinkWatch
from alerts.routine.detectors import BATHROOM_STAY, INACTIVITY, MISSED_MEAL, NIGHT_EXIT, NOT_UP
from alerts.service import SILENCE_KINDS, AlertService
from alerts.views import AlertView
from tests.alerts.conftest import Home


def test_every_finding_that_silence_alone_makes_is_held() -> None:
    assert {INACTIVITY, NOT_UP, BATHROOM_STAY, MISSED_MEAL} == SILENCE_KINDS
    assert NIGHT_EXIT not in SILENCE_KINDS  # needs a door opening: positive evidence


async def test_silence_findings_wait_while_the_gateway_is_offline(home: Home) -> None:
    watch = LinkWatch()
    service = AlertService(home.sessions, AlertFeed(), home.clock, gateway_offline=watch.offline)
    watch.observe("gw-1", True, home.clock.now())

    async def raise_(kind: str, n: int) -> AlertView | None:
        return await service.raise_condition(
            kind=kind, gateway_id="gw-1", resident_id=home.resident_id,
            fingerprint=f"{kind}:gw-1:{n}", summary="quiet", priority="medium",
        )  # fmt: skip

    (offline,) = watch.observe("gw-1", False, home.clock.now())  # the last will
    assert offline.kind == "gateway_offline"
    assert await raise_(INACTIVITY, 1) is None
    assert await raise_(NOT_UP, 1) is None
    night = await raise_(NIGHT_EXIT, 1)  # a door seen opening is still a finding
    assert night is not None
    watch.observe("gw-1", True, home.clock.now())  # back: the silence is the person's again
    inactive = await raise_(INACTIVITY, 1)
    assert inactive is not None
    assert inactive.kind == INACTIVITY
