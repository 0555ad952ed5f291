"""``anxin train falls`` and ``anxin eval falls``: rebuild and measure the edge fall model."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from gateway.fall_detection import FallDetectionError
from gateway.fall_detection.model import SHIPPED_MODEL_PATH, load_model, save_model
from gateway.fall_detection.signals import (
    SISFALL_SENSORS,
    Trial,
    clipped,
    load_csv_dir,
    load_sisfall,
    load_sisfall_trial,
    sampled,
)

if TYPE_CHECKING:  # evaluation and training import scikit-learn (~1 s): only when they run
    from gateway.fall_detection.evaluation import Interval, Metrics, TrialOutcome

log = logging.getLogger(__name__)

LOSO_FOLDS = 5
"""Leave-subjects-out as group k-fold over subjects: 5 folds keep training to seconds."""


def add_commands(subparsers: Any) -> None:
    """Add ``train falls`` and ``eval falls`` to the ``anxin`` command's sub-parsers."""
    train = subparsers.add_parser("train", help="train a detector model from a data set")
    train.add_argument("what", choices=["falls"], help="which detector")
    train.add_argument("--data", type=Path, required=True, help="SisFall directory")
    train.add_argument("--out", type=Path, default=SHIPPED_MODEL_PATH, help="model file to write")
    train.set_defaults(handler=_run_train)
    ev = subparsers.add_parser("eval", help="evaluate a detector on a data set")
    ev.add_argument("what", choices=["falls"], help="which detector")
    ev.add_argument("--data", type=Path, required=True, help="data directory")
    ev.add_argument("--format", choices=["sisfall", "csv"], default="sisfall", dest="fmt")
    ev.add_argument("--model", type=Path, default=None, help="model file (default: shipped)")
    ev.add_argument("--subjects", default=None, help="comma-separated subject ids, e.g. SA01,SE02")
    ev.add_argument(
        "--loso",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="leave-subjects-out retraining (default on for sisfall, off for csv)",
    )
    ev.add_argument(
        "--sensor",
        choices=sorted(SISFALL_SENSORS),
        default="adxl345",
        help="sisfall: score the trials as this accelerometer of the recording saw them "
        "(models are always trained on the adxl345)",
    )
    ev.add_argument(
        "--device-range",
        type=float,
        default=None,
        metavar="G",
        help="score the trials as a sensor saturating at ±G would have recorded them",
    )
    ev.add_argument(
        "--device-rate",
        type=float,
        default=None,
        metavar="HZ",
        help="score the trials as a sensor sampling at HZ would have recorded them",
    )
    ev.add_argument(
        "--device-variants",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="leave-subjects-out: train also on device variants of the trials (default; "
        "--no-device-variants trains as falls-v1 did)",
    )
    ev.set_defaults(handler=_run_eval)


def _run_train(args: argparse.Namespace) -> int:
    """Handler of ``anxin train falls``."""
    return train_falls(args.data, args.out, sys.stdout)


def _run_eval(args: argparse.Namespace) -> int:
    """Handler of ``anxin eval falls``."""
    subjects = args.subjects.split(",") if args.subjects else None
    device = Device(
        args.data, args.fmt, args.sensor, args.device_range, args.device_rate, args.device_variants
    )
    if (err := device.problem()) is not None:
        sys.stderr.write(f"anxin eval falls: {err}\n")
        return 2
    return eval_falls(args.data, args.fmt, args.model, subjects, args.loso, sys.stdout, device)


@dataclass(frozen=True, slots=True)
class Device:
    """What the scored trials are turned into before scoring: another accelerometer of the same
    SisFall recording, a smaller full-scale range, a slower sampling rate (in that order)."""

    data: Path
    fmt: str = "sisfall"
    sensor: str = "adxl345"
    range_g: float | None = None
    rate_hz: float | None = None
    variants: bool = True  # leave-subjects-out models also trained on device variants

    def problem(self) -> str | None:
        """Why these options cannot be used, or None."""
        if self.sensor != "adxl345" and self.fmt != "sisfall":
            return "--sensor is for --format sisfall only"
        if self.range_g is not None and not 1.0 < self.range_g <= 64.0:
            return (
                f"--device-range must be above 1 g (gravity) and at most 64 g, not {self.range_g:g}"
            )
        if self.rate_hz is not None and not 5.0 <= self.rate_hz <= 1000.0:
            return f"--device-rate must be 5–1000 Hz, not {self.rate_hz:g}"
        return None

    def describe(self) -> str:
        """How the trials were scored, for the report ('' when as recorded)."""
        parts = [f"{self.sensor} sensor"] if self.sensor != "adxl345" else []
        parts += [f"clipped at ±{self.range_g:g} g"] if self.range_g is not None else []
        parts += [f"sampled at {self.rate_hz:g} Hz"] if self.rate_hz is not None else []
        return ", ".join(parts)

    def __call__(self, trial: Trial) -> Trial:
        if self.sensor != "adxl345":
            path = self.data / trial.subject / f"{trial.name}.txt"
            trial = load_sisfall_trial(path, self.sensor)
        if self.range_g is not None:
            trial = clipped(trial, self.range_g)
        if self.rate_hz is not None:
            trial = sampled(trial, self.rate_hz)
        return trial


def train_falls(data: Path, out_path: Path, out: TextIO) -> int:
    """Rebuild the fall model from every SisFall trial under ``data`` (deterministic)."""
    try:
        trials = load_sisfall(data)
    except FallDetectionError as err:
        sys.stderr.write(f"anxin train falls: {err}\n")
        return 2
    if not trials:
        sys.stderr.write(f"anxin train falls: no SisFall trials under {data}\n")
        return 2
    description = (
        f"SisFall ({data.name}): ADXL345 at the waist, {len(trials)} trials; "
        "Sucerquia, Lopez, Vargas-Bonilla, Sensors 2017, 17(1):198"
    )
    from gateway.fall_detection.training import train_model  # slow: imported when used

    model = train_model(trials, description=description)
    save_model(model, out_path)
    log.info(
        "falls.trained path=%s trials=%d threshold=%.2f", out_path, len(trials), model.threshold
    )
    out.write(
        f"wrote {out_path} ({model.version}, threshold {model.threshold:.2f}, {len(trials)} trials)\n"
    )
    return 0


def eval_falls(
    data: Path,
    fmt: str,
    model_path: Path | None,
    subjects: list[str] | None,
    loso: bool | None,
    out: TextIO,
    device: Device | None = None,
) -> int:
    """Per-trial evaluation; the last line written to ``out`` is one JSON object of the figures."""
    from gateway.fall_detection.evaluation import (  # slow (scikit-learn): imported when used
        leave_subjects_out,
        metrics,
        score,
    )

    try:
        trials = _load(data, fmt, subjects)
        use_loso = (fmt == "sisfall") if loso is None else loso
        seen_by = device or Device(data, fmt)
        if use_loso:
            outcomes = leave_subjects_out(
                trials, folds=LOSO_FOLDS, device=seen_by, device_variants=seen_by.variants
            )
            how = f"leave-subjects-out, group {LOSO_FOLDS}-fold by subject"
            if not seen_by.variants:
                how += ", trained without device variants"
        else:
            path = model_path or SHIPPED_MODEL_PATH
            outcomes = score(load_model(path), trials, seen_by)
            how = f"model {path}"
        if seen_by.describe():
            how += f"; scored as {seen_by.describe()}"
    except FallDetectionError as err:
        sys.stderr.write(f"anxin eval falls: {err}\n")
        return 2
    if not trials:
        sys.stderr.write(f"anxin eval falls: no trials found under {data}\n")
        return 2
    result = metrics(outcomes)
    _report(result, outcomes, how, out)
    return 0


def _load(data: Path, fmt: str, subjects: list[str] | None) -> list[Trial]:
    """Trials of the requested format, optionally only some subjects."""
    if fmt == "sisfall":
        return load_sisfall(data, subjects)
    trials = load_csv_dir(data)
    return [t for t in trials if subjects is None or t.subject in subjects]


def _pct(iv: Interval) -> str:
    """``95.2 % [93.0, 97.1]``."""
    return f"{iv.value * 100:.1f} % [{iv.low * 100:.1f}, {iv.high * 100:.1f}]"


def _report(result: Metrics, outcomes: list[TrialOutcome], how: str, out: TextIO) -> None:
    """Write the human-readable evaluation and, last, the JSON line."""
    for o in outcomes:
        wrong = o.is_fall != (o.flags > 0)
        label = "fall" if o.is_fall else "adl "
        out.write(
            f"{'MISS' if o.is_fall and wrong else 'FA  ' if wrong else 'ok  '} {label} {o.name} flags={o.flags} p={o.max_probability:.2f}\n"
        )
    out.write(f"evaluation: {how}\n")
    out.write(
        f"trials {result.trials} (falls {result.falls}, ADL {result.adls}, {result.adl_hours:.2f} h of ADL)\n"
    )
    out.write(f"sensitivity {_pct(result.sensitivity)} (Wilson 95 %)\n")
    out.write(f"specificity {_pct(result.specificity)} (Wilson 95 %)\n")
    out.write(f"F1          {_pct(result.f1)} (bootstrap 95 % over trials)\n")
    out.write(
        f"false alarms {result.false_alarms} = {result.false_alarms_per_hour:.2f} per hour of ADL\n"
    )
    summary = {
        "trials": result.trials,
        "falls": result.falls,
        "adls": result.adls,
        "sensitivity": result.sensitivity.value,
        "sensitivity_ci95": [result.sensitivity.low, result.sensitivity.high],
        "specificity": result.specificity.value,
        "specificity_ci95": [result.specificity.low, result.specificity.high],
        "f1": result.f1.value,
        "f1_ci95": [result.f1.low, result.f1.high],
        "false_alarms": result.false_alarms,
        "adl_hours": result.adl_hours,
        "false_alarms_per_hour": result.false_alarms_per_hour,
        "method": how,
    }
    out.write(json.dumps(summary) + "\n")
