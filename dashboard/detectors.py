"""The console's banner when automatic detection is not running (see alerts.detector_health)."""

from __future__ import annotations

from collections.abc import Callable
from zoneinfo import ZoneInfo

from alerts.detector_health import DetectorProblem
from dashboard import i18n


def banner_lines(
    lang: str, problems: Callable[[], list[DetectorProblem]] | None, zone: ZoneInfo
) -> list[str]:
    """One line per detector that is not running, in ``lang`` and the station's time."""
    lines: list[str] = []
    for problem in problems() if problems else []:
        params = {
            "name": i18n.label(lang, "detector", problem.name),
            "since": problem.since.astimezone(zone).strftime("%m-%d %H:%M"),
            "error": problem.error,
            "homes": problem.homes,
        }
        key = "console.detector_homes" if problem.homes else "console.detector_since"
        lines.append(i18n.translate(lang, key, **params))
    return lines
