"""``anxin up``'s live line: a small demo's trickle of readings is not shown as nothing."""

from __future__ import annotations

from anxin.app import _rate_text


def test_a_trickle_reads_as_a_trickle_and_a_flood_as_whole_numbers() -> None:
    assert _rate_text(0.0) == "0.0"
    assert _rate_text(0.3) == "0.3"  # five demo homes: was "0"
    assert _rate_text(9.96) == "10.0"
    assert _rate_text(12_345.6) == "12,346"
