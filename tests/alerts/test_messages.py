"""Every alert the console can show reaches people in words, never as an internal kind name."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from alerts.messages import TEMPLATES, MessageFacts, render

CATALOGUE = Path(__file__).parents[2] / "dashboard/locale/en/LC_MESSAGES/messages.po"


def _console_kinds() -> list[str]:
    with CATALOGUE.open("rb") as handle:
        catalog = read_po(handle)
    kinds = [str(m.id)[5:] for m in catalog if str(m.id).startswith("kind.")]
    assert len(kinds) >= 15, "the console's catalogue lists the alert kinds"
    return kinds


@pytest.mark.parametrize("locale", sorted(TEMPLATES))
@pytest.mark.parametrize("kind", _console_kinds())
def test_every_kind_has_a_notification_text(locale: str, kind: str) -> None:
    facts = MessageFacts(
        alert_id=3, kind=kind, priority="medium", resident_name="王秀英", home_label="3-402",
        raised_at=datetime(2026, 1, 5, 1, 0, tzinfo=UTC), evidence_count=1, summary="",
        station_timezone="Asia/Shanghai", link="http://127.0.0.1:8080/alerts/3", key="3:1:0",
    )  # fmt: skip
    title, body = render(locale, facts)
    assert f"kind.{kind}" in TEMPLATES[locale]
    assert TEMPLATES[locale][f"kind.{kind}"] in title
    if "_" in kind:  # an internal name ("missed_meal") is never words (plain "fall" may be)
        assert kind not in title, f"{kind!r} reached people as a raw name"
        assert kind not in body, f"{kind!r} reached people as a raw name"
