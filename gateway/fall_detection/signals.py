"""Recorded trials (SisFall text files, generic CSV) and resampling to the internal rate."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from gateway.fall_detection import TrialFormatError

FloatArray = npt.NDArray[np.float64]

INTERNAL_RATE_HZ = 50.0
"""Everything downstream runs at 50 Hz: typical of wearables, and enough for impacts at the waist."""

SISFALL_RATE_HZ = 200.0
"""SisFall's sampling rate (one line per sample)."""

SISFALL_G_PER_COUNT = 1.0 / 256.0
"""ADXL345 in 13-bit ±16 g mode: 1/256 g per count (SisFall columns 1–3)."""

SISFALL_SENSORS: dict[str, tuple[int, float]] = {
    "adxl345": (0, SISFALL_G_PER_COUNT),
    "mma8451": (6, 1.0 / 1024.0),  # MMA8451Q, 14 bit ±8 g (columns 7–9): a second, other device
}
"""SisFall's two accelerometers: first column and g per count."""

MEDIAN_G_RANGE = (0.5, 3.0)
"""A trial's median |a| must lie here (g): outside it the values are not raw acceleration in g."""

MAX_MEDIAN_STEP_S = 1.0
"""Median time between samples must be below this: t_s in milliseconds reads as 1000× slower."""

_SISFALL_NAME = re.compile(r"^(?P<code>[DF]\d\d)_(?P<subject>S[AE]\d\d)_R(?P<trial>\d\d)$")
_CSV_HEADER = ("t_s", "ax_g", "ay_g", "az_g")


@dataclass(frozen=True, slots=True, eq=False)
class Trial:
    """One recording: timestamps in seconds and acceleration in g (N×3), with its label."""

    name: str
    subject: str
    is_fall: bool
    t: FloatArray
    acc_g: FloatArray

    @property
    def duration_s(self) -> float:
        """Length of the recording in seconds."""
        return float(self.t[-1] - self.t[0]) if len(self.t) > 1 else 0.0


def resample(
    t: Sequence[float] | FloatArray, acc_g: FloatArray, rate_hz: float = INTERNAL_RATE_HZ
) -> tuple[FloatArray, FloatArray]:
    """Linearly interpolate (possibly irregular) samples onto a uniform grid starting at ``t[0]``."""
    times = np.asarray(t, dtype=np.float64)
    acc = np.asarray(acc_g, dtype=np.float64)
    if times.ndim != 1 or acc.ndim != 2 or acc.shape != (len(times), 3):
        raise ValueError(
            f"expected t of shape (N,) and acc of shape (N, 3), got {times.shape}, {acc.shape}"
        )
    if len(times) == 0:
        return np.empty(0), np.empty((0, 3))
    order = np.argsort(times, kind="stable")
    times, acc = times[order], acc[order]
    keep = np.concatenate(([True], np.diff(times) > 0))
    times, acc = times[keep], acc[keep]
    n = int(np.floor((times[-1] - times[0]) * rate_hz + 1e-9)) + 1
    grid = times[0] + np.arange(n) / rate_hz
    out = np.column_stack([np.interp(grid, times, acc[:, k]) for k in range(3)])
    return grid, out


def clipped(trial: Trial, range_g: float) -> Trial:
    """The trial as a sensor with a ±``range_g`` full scale would have recorded it (saturated)."""
    return Trial(
        name=f"{trial.name}@{range_g:g}g",
        subject=trial.subject,
        is_fall=trial.is_fall,
        t=trial.t,
        acc_g=np.clip(trial.acc_g, -range_g, range_g),
    )


def sampled(trial: Trial, rate_hz: float) -> Trial:
    """The trial as a slower sensor would have recorded it: at each tick of a ``rate_hz`` clock
    the next sample, without interpolation or filtering (so impacts are blurred or missed as they
    are by a real slow device)."""
    ticks = np.arange(trial.t[0], trial.t[-1], 1.0 / rate_hz)
    picks = np.unique(np.clip(np.searchsorted(trial.t, ticks), 0, len(trial.t) - 1))
    return Trial(
        name=f"{trial.name}@{rate_hz:g}Hz",
        subject=trial.subject,
        is_fall=trial.is_fall,
        t=trial.t[picks],
        acc_g=trial.acc_g[picks],
    )


def magnitude(acc_g: FloatArray) -> FloatArray:
    """Euclidean norm of each acceleration sample, in g."""
    return np.asarray(np.linalg.norm(acc_g, axis=1), dtype=np.float64)


def load_sisfall_trial(path: Path, sensor: str = "adxl345") -> Trial:
    """Read one SisFall file as a trial at 200 Hz from one of its accelerometers
    (``SISFALL_SENSORS``; the ADXL345 unless told)."""
    match = _SISFALL_NAME.match(path.stem)
    if match is None:
        raise TrialFormatError(f"not a SisFall trial name: {path.name}")
    if sensor not in SISFALL_SENSORS:
        raise TrialFormatError(
            f"unknown SisFall sensor {sensor!r}; expected one of {', '.join(SISFALL_SENSORS)}"
        )
    first, g_per_count = SISFALL_SENSORS[sensor]
    try:
        text = path.read_text(encoding="ascii")
        rows = [line.strip().rstrip(";") for line in text.splitlines() if line.strip()]
        counts = np.array(
            [[int(v) for v in row.split(",")[first : first + 3]] for row in rows], dtype=np.float64
        )
    except (OSError, UnicodeDecodeError, ValueError) as err:
        raise TrialFormatError(f"cannot read SisFall file {path}: {err}") from err
    if counts.ndim != 2 or counts.shape[0] < 2 or counts.shape[1] != 3:
        raise TrialFormatError(f"SisFall file {path} has no usable samples")
    t = np.arange(len(counts)) / SISFALL_RATE_HZ
    return Trial(
        name=path.stem,
        subject=match["subject"],
        is_fall=match["code"].startswith("F"),
        t=t,
        acc_g=counts * g_per_count,
    )


def load_sisfall(
    data_dir: Path, subjects: Iterable[str] | None = None, sensor: str = "adxl345"
) -> list[Trial]:
    """Read every SisFall trial under ``data_dir`` (``<SUBJECT>/<CODE>_<SUBJECT>_R<NN>.txt``)."""
    wanted = set(subjects) if subjects is not None else None
    if not data_dir.is_dir():
        raise TrialFormatError(f"no such data directory: {data_dir}")
    trials = []
    for path in sorted(data_dir.glob("*/*.txt")):
        if not _SISFALL_NAME.match(path.stem):
            continue
        if wanted is not None and path.parent.name not in wanted:
            continue
        trials.append(load_sisfall_trial(path, sensor))
    return trials


def load_csv_trial(path: Path) -> Trial:
    """Read one CSV trial (``t_s,ax_g,ay_g,az_g``); the label is the file name prefix fall_/adl_."""
    stem = path.stem
    if stem.startswith("fall_"):
        is_fall = True
    elif stem.startswith("adl_"):
        is_fall = False
    else:
        raise TrialFormatError(f"CSV trial name must start with fall_ or adl_: {path.name}")
    try:
        # utf-8-sig: a byte-order mark (spreadsheet exports) is not part of the first column name
        with path.open(encoding="utf-8-sig") as handle:
            header = [h.strip().lower() for h in handle.readline().split(",")]
            missing = [c for c in _CSV_HEADER if c not in header]
            if missing:
                raise TrialFormatError(
                    f"{path}: header must name {','.join(_CSV_HEADER)} (missing {','.join(missing)})"
                )
            # other columns (gyroscope, labels) are allowed and ignored
            columns = [header.index(c) for c in _CSV_HEADER]
            data = np.loadtxt(handle, delimiter=",", dtype=np.float64, ndmin=2, usecols=columns)
    except (OSError, UnicodeDecodeError, ValueError) as err:
        raise TrialFormatError(f"cannot read CSV trial {path}: {err}") from err
    if data.shape[0] < 2 or data.shape[1] != 4:
        raise TrialFormatError(f"CSV trial {path} has no usable samples")
    if not np.isfinite(data).all():
        raise TrialFormatError(f"CSV trial {path} has empty or non-numeric values (nan/inf)")
    _check_units(path, data[:, 0], data[:, 1:4])
    subject = stem.split("_")[1] if stem.count("_") >= 2 else stem
    return Trial(name=stem, subject=subject, is_fall=is_fall, t=data[:, 0], acc_g=data[:, 1:4])


def _check_units(path: Path, t: FloatArray, acc: FloatArray) -> None:
    """Refuse acceleration that is not raw acceleration in g: a worn sensor reads about 1 g most
    of the time (gravity), so a median |a| near 9.8 is m/s², near 0 is gravity removed. And
    times that are not seconds: samples a second or more apart are milliseconds, or no
    accelerometer recording a fall."""
    step = float(np.median(np.abs(np.diff(t))))
    if step >= MAX_MEDIAN_STEP_S:
        raise TrialFormatError(
            f"CSV trial {path}: samples are a median {step:g} apart — t_s must be in seconds "
            "(milliseconds?) and the rate at least a few Hz"
        )
    level = float(np.median(magnitude(acc)))
    if level > MEDIAN_G_RANGE[1]:
        raise TrialFormatError(
            f"CSV trial {path}: median |a| is {level:.2f} — this looks like m/s² (9.81 at rest); "
            "ax_g, ay_g, az_g must be in g"
        )
    if level < MEDIAN_G_RANGE[0]:
        raise TrialFormatError(
            f"CSV trial {path}: median |a| is {level:.2f} g — this looks like acceleration with "
            "gravity removed; the detector needs the raw acceleration (about 1 g at rest)"
        )


def load_csv_dir(data_dir: Path) -> list[Trial]:
    """Read every ``fall_*.csv`` and ``adl_*.csv`` trial in ``data_dir`` (recursively)."""
    if not data_dir.is_dir():
        raise TrialFormatError(f"no such data directory: {data_dir}")
    paths = sorted(p for p in data_dir.rglob("*.csv") if p.stem.startswith(("fall_", "adl_")))
    return [load_csv_trial(p) for p in paths]
