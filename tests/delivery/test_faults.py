"""The delivery fault test: broker and ingest SIGKILLed, a gateway back from an outage; nothing lost."""

from __future__ import annotations

from pathlib import Path

import pytest

from anxin.bench.delivery import DeliveryConfig, run_delivery

pytestmark = [pytest.mark.mosquitto, pytest.mark.slow]


async def test_nothing_lost_or_doubled_through_kills_and_an_outage(tmp_path: Path) -> None:
    figures = await run_delivery(
        DeliveryConfig(backlog=50_000, events=20, broker_kills=5, ingest_kills=2, workdir=tmp_path)
    )
    assert figures.sent > 50_000
    assert figures.lost == 0
    assert figures.duplicated == 0
    assert figures.wrong_value == 0
    assert figures.stored == figures.sent
    assert (figures.events_sent, figures.events_stored) == (20, 20)
    assert figures.events_before_backlog
