"""``anxin eval inactivity``: replay a smart-home recording and measure the routine detectors."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any, TextIO

from alerts.routine.baseline import STANDARD, WATCH_LEVELS, watch_of
from alerts.routine.errors import RoutineError
from alerts.routine.evaluation import LEAVE_ONE_OUT, PAST_ONLY, PROTOCOLS, EvalReport, evaluate
from alerts.routine.events import KINDS
from alerts.routine.loaders import FORMATS, load_recording, zone

TARGET = "inactivity"
PROTOCOL_TEXT = {
    LEAVE_ONE_OUT: "Protocol: leave one day out — each day replayed with a baseline fitted on the "
    "other days.",
    PAST_ONLY: "Protocol: past days — each day replayed with a baseline fitted on the days before "
    "it only (defaults in the first week), as a deployed system learns.",
}
DEFAULT_TRIALS = 200


def add_commands(subparsers: Any) -> None:
    """Register ``inactivity`` under ``anxin eval`` (reusing the ``eval`` parser if it exists).

    ``subparsers`` is the ``anxin`` command's sub-parsers action. ``anxin/fall_cli.py`` makes
    ``eval`` a parser with a positional ``what``; this widens its choices and chains its handler.
    """
    ev = subparsers.choices.get("eval")
    if ev is None:
        ev = subparsers.add_parser("eval", help="evaluate a detector on a data set")
        ev.add_argument("what", choices=[TARGET], help="which detector")
        ev.add_argument("--data", type=Path, required=True, help="data directory")
        ev.add_argument("--format", choices=list(FORMATS), dest="fmt", default=None)
    # argparse has no public way to widen an existing argument's choices
    for action in ev._actions:
        if action.dest in ("what", "fmt") and action.choices is not None:
            extra = [TARGET] if action.dest == "what" else list(FORMATS)
            action.choices = [*action.choices, *(c for c in extra if c not in action.choices)]
    ev.add_argument("--trials", type=int, default=DEFAULT_TRIALS,
                    help="inactivity: injected incapacitations (default 200)")  # fmt: skip
    ev.add_argument("--seed", type=int, default=0, help="inactivity: random seed of the trials")
    ev.add_argument("--tz", default=None, help="inactivity: time zone of the recording's clock")
    ev.add_argument(
        "--protocol",
        choices=PROTOCOLS,
        default=LEAVE_ONE_OUT,
        help="inactivity: judge each day by a baseline of all other days (default), or of the "
        "days before it only, as a deployed system learns (past-days)",
    )
    ev.add_argument(
        "--without",
        default="",
        metavar="KIND[,KIND]",
        help="inactivity: replay as if the home had no sensors of these kinds "
        f"({', '.join(sorted(KINDS))})",
    )
    ev.add_argument(
        "--watch",
        choices=list(WATCH_LEVELS),
        default=STANDARD,
        help="inactivity: how closely the detectors watch, as a station sets it per resident "
        "(default standard)",
    )
    previous: Callable[[argparse.Namespace], int] | None = ev.get_default("handler")

    def handler(args: argparse.Namespace) -> int:
        if args.what == TARGET:
            return _run_eval(args)
        if previous is None:
            sys.stderr.write(f"anxin eval: unknown target {args.what}\n")
            return 2
        return previous(args)

    ev.set_defaults(handler=handler)


def _run_eval(args: argparse.Namespace) -> int:
    """Handler of ``anxin eval inactivity``."""
    if args.fmt not in FORMATS:
        sys.stderr.write(f"anxin eval inactivity: give --format {'|'.join(FORMATS)}\n")
        return 2
    without = frozenset(k.strip() for k in args.without.split(",") if k.strip())
    if unknown := sorted(without - KINDS):
        sys.stderr.write(
            f"anxin eval inactivity: --without: unknown kind {', '.join(unknown)}; "
            f"expected some of {', '.join(sorted(KINDS))}\n"
        )
        return 2
    return eval_inactivity(
        args.data,
        args.fmt,
        args.trials,
        args.seed,
        args.tz,
        sys.stdout,
        without,
        args.protocol,
        args.watch,
    )


def eval_inactivity(
    data: Path,
    fmt: str,
    trials: int,
    seed: int,
    tz: str | None,
    out: TextIO,
    without: frozenset[str] = frozenset(),
    protocol: str = LEAVE_ONE_OUT,
    watch: str = STANDARD,
) -> int:
    """Run the protocol on ``data`` and print a report whose last line is the JSON summary;
    ``without``: sensor kinds whose events are dropped first (a home that sees less); ``watch``:
    the level whose margins the baselines use."""
    try:
        recording = load_recording(fmt, data, tz)
    except RoutineError as err:
        sys.stderr.write(f"anxin eval inactivity: {err}\n")
        return 2
    if without:
        kept = tuple(e for e in recording.events if e.kind not in without)
        recording = replace(
            recording, events=kept, source=f"{recording.source} without {','.join(sorted(without))}"
        )
    if not recording.events:
        sys.stderr.write("anxin eval inactivity: no events left to replay\n")
        return 2
    margins = asdict(watch_of(watch))
    report = evaluate(recording, trials=trials, seed=seed, params=margins, protocol=protocol)
    out.write(render(report, recording.tz, watch))
    summary = {**report.summary(), "watch": watch}
    out.write(json.dumps(summary, ensure_ascii=False, sort_keys=True) + "\n")
    return 0


def render(report: EvalReport, tz: str, watch: str = STANDARD) -> str:
    """The human-readable part of the report."""
    s = report.summary()
    clock = zone(tz)
    level = watch_of(watch)
    lines = [
        f"Inactivity and routine detectors on {report.source} (clock: {tz})",
        PROTOCOL_TEXT[report.protocol],
        f"Watch: {watch} — silences and bathroom stays allowed {level.gap_margin:g} and "
        f"{level.bathroom_margin:g} × the person's longest, get-up {level.getup_margin_h:g} h "
        "after the usual latest",
        f"  resident-days: {s['resident_days']}",
        f"  false alarms: {s['false_alarms']} ({s['false_alarms_per_resident_day']} per day, "
        f"{s['false_alarms_per_resident_month']} per month; goal < 1 per month)",
    ]
    for band, counts in report.by_history().items():
        lines.append(
            f"    baseline learned from {band}: {counts['false_alarms']} in "
            f"{counts['resident_days']} resident-days (trials there: {counts['trials']}, median "
            f"time to alert {counts['median_time_to_alert_min']} min)"
        )
    for alarm in report.false_alarms:
        since, found = alarm.since.astimezone(clock), alarm.found_at.astimezone(clock)
        lines.append(f"    {alarm.day} {alarm.kind} since {since:%H:%M}, found {found:%H:%M}")
    lines += [
        f"Injected incapacitations: {s['trials']} (seeded), cut at a random moment at home",
        f"  detected within 24 h: {s['detected']}",
        f"  time to alert: median {s['median_time_to_alert_min']} min, "
        f"p95 {s['p95_time_to_alert_min']} min",
        "  person's normal gap at the cut hour (longest silence in progress then on the other",
        f"  days, same situation): median {s['median_normal_gap_min']} min;"
        f" detected within it: {s['detected_within_normal_gap']}",
        f"  cut while awake at home: {s['awake_trials']}, detected {s['awake_detected']}, "
        f"median {s['awake_median_time_to_alert_min']} min vs normal gap "
        f"{s['awake_median_normal_gap_min']} min",
        f"  cut while asleep: {s['asleep_trials']}, median {s['asleep_median_time_to_alert_min']} min"
        f" vs normal gap {s['asleep_median_normal_gap_min']} min (found by 'not up by the usual"
        " time')",
    ]
    lines.append("  by the local hour of the cut (median time to alert vs median normal gap):")
    for band, row in report.by_hour().items():
        lines.append(
            f"    {band}: {row['trials']} trials, {row['median_time_to_alert_min']} vs "
            f"{row['median_normal_gap_min']} min, within their normal gap "
            f"{row['within_normal_gap']}"
        )
    lines += [f"Note: {note}" for note in report.notes]
    return "\n".join(lines) + "\n"
