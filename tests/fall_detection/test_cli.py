"""``anxin train falls`` / ``anxin eval falls`` on a small slice of the real SisFall data."""

from __future__ import annotations

import io
import json
import math
from pathlib import Path

import numpy as np
import pytest

from anxin.__main__ import main
from anxin.fall_cli import Device, eval_falls, train_falls
from gateway.fall_detection.model import load_model
from tests.datasets import dataset
from tests.fall_detection.conftest import fall_signal, walking_signal


def _slice(tmp_path: Path) -> Path:
    """Symlink a few trials of two subjects (falls and ADL) into a small SisFall-shaped folder
    (skips, naming where it looked, on a machine without the recordings: tests/datasets.py)."""
    sisfall = dataset("sisfall-dev", "SA01/F01_SA01_R01.txt")
    root = tmp_path / "sisfall"
    for subject in ("SA01", "SA02"):
        (root / subject).mkdir(parents=True)
        names = [f"F0{k}_{subject}_R01.txt" for k in (1, 3, 6, 8)]
        names += [f"D{k:02d}_{subject}_R01.txt" for k in (5, 9, 10, 14)]
        for name in names:
            (root / subject / name).symlink_to((sisfall / subject / name).resolve())
    return root


def _summary(text: str) -> dict[str, float]:
    last = text.strip().splitlines()[-1]
    summary = json.loads(last)
    assert isinstance(summary, dict)
    return summary


def _check_ranges(summary: dict[str, float], trials: int) -> None:
    assert summary["trials"] == trials
    for key in ("sensitivity", "specificity", "f1"):
        assert 0.0 <= summary[key] <= 1.0, key
    assert summary["false_alarms_per_hour"] >= 0.0
    assert not math.isnan(summary["false_alarms_per_hour"])


def test_eval_loso_and_shipped_model_on_two_subjects(tmp_path: Path) -> None:
    data = _slice(tmp_path)
    out = io.StringIO()
    assert eval_falls(data, "sisfall", None, None, None, out) == 0
    summary = _summary(out.getvalue())
    _check_ranges(summary, trials=16)
    assert "leave-subjects-out" in str(summary["method"])
    out = io.StringIO()
    assert eval_falls(data, "sisfall", None, ["SA02"], False, out) == 0
    shipped = _summary(out.getvalue())
    _check_ranges(shipped, trials=8)
    assert shipped["sensitivity"] >= 0.75  # the shipped model saw these people: a sanity floor


def test_train_writes_a_loadable_deterministic_model(tmp_path: Path) -> None:
    data = _slice(tmp_path)
    first, second = tmp_path / "a.json", tmp_path / "b.json"
    assert train_falls(data, first, io.StringIO()) == 0
    assert train_falls(data, second, io.StringIO()) == 0
    assert first.read_bytes() == second.read_bytes()
    assert load_model(first).training["fall_trials"] == 8


def test_eval_csv_through_the_command_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    header = "t_s,ax_g,ay_g,az_g\n"
    t, acc = fall_signal(100.0)
    rows = "".join(
        f"{a:.4f},{b:.4f},{c:.4f},{d:.4f}\n" for a, (b, c, d) in zip(t, acc, strict=True)
    )
    (tmp_path / "fall_p1_1.csv").write_text(header + rows)
    t, acc = walking_signal(64.0)
    rows = "".join(
        f"{a:.4f},{b:.4f},{c:.4f},{d:.4f}\n" for a, (b, c, d) in zip(t, acc, strict=True)
    )
    (tmp_path / "adl_p1_2.csv").write_text(header + rows)
    assert main(["eval", "falls", "--data", str(tmp_path), "--format", "csv"]) == 0
    summary = _summary(capsys.readouterr().out)
    assert summary["trials"] == 2
    assert summary["sensitivity"] == 1.0
    assert summary["specificity"] == 1.0
    assert summary["false_alarms_per_hour"] == 0.0
    assert np.isclose(summary["f1"], 1.0)


def test_eval_on_a_missing_folder_fails_cleanly(tmp_path: Path) -> None:
    assert eval_falls(tmp_path / "nope", "sisfall", None, None, None, io.StringIO()) == 2


def test_eval_as_another_device(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``--device-range`` / ``--device-rate`` score the trials as a cheaper wearable records them."""
    t, acc = fall_signal(100.0)
    rows = "".join(
        f"{a:.4f},{b:.4f},{c:.4f},{d:.4f}\n" for a, (b, c, d) in zip(t, acc, strict=True)
    )
    (tmp_path / "fall_p1_1.csv").write_text("t_s,ax_g,ay_g,az_g\n" + rows)
    argv = ["eval", "falls", "--data", str(tmp_path), "--format", "csv"]
    assert main([*argv, "--device-range", "2", "--device-rate", "25"]) == 0
    summary = _summary(capsys.readouterr().out)
    assert summary["method"].endswith("scored as clipped at ±2 g, sampled at 25 Hz")
    assert summary["trials"] == 1
    for bad in (["--sensor", "mma8451"], ["--device-range", "0.5"], ["--device-rate", "2"]):
        assert main([*argv, *bad]) == 2
        assert "anxin eval falls: --" in capsys.readouterr().err


def test_eval_scores_sisfall_second_accelerometer(tmp_path: Path) -> None:
    data = _slice(tmp_path)
    out = io.StringIO()
    device = Device(data, "sisfall", "mma8451")
    assert eval_falls(data, "sisfall", None, ["SA02"], False, out, device) == 0
    summary = _summary(out.getvalue())
    _check_ranges(summary, trials=8)
    assert str(summary["method"]).endswith("scored as mma8451 sensor")
