"""Console rows show the countdown to the next escalation and where each notification got."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from zoneinfo import ZoneInfo

from alerts.views import DeliveryView
from dashboard.rows import make_templates, row_renderer
from dashboard.schemas import AlertOut
from tests.dashboard.conftest import World

ZONE = ZoneInfo("Asia/Shanghai")


async def test_open_alert_row_counts_down_and_lists_deliveries(world: World) -> None:
    view = await world.raise_alert("gw-a", "fall")
    now = world.clock.now()
    delivery = DeliveryView(
        contact_id=1,
        contact_name="王芳",
        audience="family",
        tier=2,
        attempt=0,
        status="sent",
        channel=0,
        tries=1,
        created_at=now,
        next_try_at=now,
        sent_at=now,
        last_error="",
    )
    due = dataclasses.replace(
        view, next_escalation_at=now + timedelta(seconds=42), deliveries=(delivery,)
    )
    render = row_renderer(make_templates(), "zh-CN", ZONE, world.clock.now)
    row = render(due)
    assert row["escalates_in_s"] == 42
    assert 'class="countdown" data-left="42"' in row["html"]
    assert "王芳: 已送达" in row["html"]
    acked = dataclasses.replace(due, state="acknowledged")
    assert 'class="countdown"' not in render(acked)["html"], "no countdown once acknowledged"
    out = AlertOut.of(due)
    assert out.next_escalation_at == due.next_escalation_at
    assert [d.status for d in out.deliveries] == ["sent"]
