"""An alert as a screen row: translated labels and local time (shared by pages and the stream)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi.templating import Jinja2Templates

from alerts.service import Outcome
from alerts.views import AlertView
from dashboard import i18n
from dashboard.schemas import AlertOut

PRIORITY_RANK = {"high": 0, "medium": 1, "low": 2, "technical": 3}
LOCAL_FORMAT = "%Y-%m-%d %H:%M:%S"
OUTCOMES = tuple(outcome.value for outcome in Outcome)
TEMPLATES_DIR = Path(__file__).parent / "templates"


def make_templates() -> Jinja2Templates:
    """The app's Jinja2 templates (HTML autoescaped)."""
    return Jinja2Templates(directory=TEMPLATES_DIR)


def local_time(moment: datetime | None, zone: ZoneInfo) -> str:
    """``moment`` as wall-clock time in ``zone`` (empty for None)."""
    return "" if moment is None else moment.astimezone(zone).strftime(LOCAL_FORMAT)


def alert_row(alert: AlertView, lang: str, zone: ZoneInfo) -> dict[str, Any]:
    """The alert's API fields plus what a person reads: labels and local times."""
    row: dict[str, Any] = AlertOut.of(alert).model_dump(mode="json")
    row.update(
        kind_label=i18n.label(lang, "kind", alert.kind),
        priority_label=i18n.label(lang, "priority", alert.priority),
        priority_rank=PRIORITY_RANK.get(alert.priority, len(PRIORITY_RANK)),
        state_label=i18n.label(lang, "state", alert.state),
        outcome_label=i18n.label(lang, "outcome", alert.outcome) if alert.outcome else "",
        raised_local=local_time(alert.raised_at, zone),
        acked_local=local_time(alert.acked_at, zone),
        resolved_local=local_time(alert.resolved_at, zone),
    )
    return row


def escalation_fields(alert: AlertView, lang: str, now: datetime) -> dict[str, Any]:
    """Seconds until the next escalation (open alerts) and each notification's state, as words."""
    left = None
    if alert.state == "open" and alert.next_escalation_at is not None:
        left = max(0, int((alert.next_escalation_at - now).total_seconds()))
    deliveries = [
        {
            "who": d.contact_name or i18n.label(lang, "audience", d.audience),
            "status": d.status,
            "status_label": i18n.label(lang, "delivery", d.status),
        }
        for d in alert.deliveries
    ]
    return {"escalates_in_s": left, "delivery_rows": deliveries}


def row_renderer(
    templates: Jinja2Templates,
    lang: str,
    zone: ZoneInfo,
    now: Callable[[], datetime] | None = None,
) -> Callable[[AlertView], dict[str, Any]]:
    """A function giving an alert's row fields plus its console ``<tr>`` as ``html``."""
    template = templates.get_template("_alert_row.html")
    t = partial(i18n.translate, lang)

    def render(alert: AlertView) -> dict[str, Any]:
        row = alert_row(alert, lang, zone)
        if now is not None:
            row.update(escalation_fields(alert, lang, now()))
        row["html"] = template.render(row=row, t=t, outcomes=OUTCOMES)
        return row

    return render
