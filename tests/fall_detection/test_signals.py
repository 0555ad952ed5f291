"""Loading both trial formats and resampling to the internal rate."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from gateway.fall_detection import TrialFormatError
from gateway.fall_detection.signals import (
    INTERNAL_RATE_HZ,
    Trial,
    clipped,
    load_csv_dir,
    load_csv_trial,
    load_sisfall,
    resample,
    sampled,
)


@pytest.mark.parametrize("rate_hz", [100.0, 200.0, 25.0])
def test_resample_uniform_rates_to_50_hz(rate_hz: float) -> None:
    t = np.arange(0.0, 4.0, 1.0 / rate_hz)
    acc = np.column_stack([np.sin(t), np.cos(t), t])
    grid, out = resample(t, acc)
    assert np.allclose(np.diff(grid), 1.0 / INTERNAL_RATE_HZ)
    assert grid[0] == 0.0
    assert grid[-1] <= t[-1] + 1e-9
    assert np.allclose(out[:, 0], np.sin(grid), atol=2e-3)
    assert np.allclose(out[:, 2], grid)


def test_resample_irregular_and_unsorted_timestamps() -> None:
    rng = np.random.default_rng(3)
    t = np.cumsum(rng.uniform(0.002, 0.03, 400)) + 10.0
    t[[5, 6]] = t[[6, 5]]
    t = np.concatenate((t, t[-1:]))  # a repeated timestamp is dropped, not averaged
    acc = np.column_stack([2 * t, -t, np.ones_like(t)])
    grid, out = resample(t, acc)
    assert grid[0] == pytest.approx(t.min())
    assert np.allclose(np.diff(grid), 0.02)
    assert np.allclose(out[:, 0], 2 * grid)
    assert np.allclose(out[:, 1], -grid)


def test_resample_rejects_bad_shapes() -> None:
    with pytest.raises(ValueError, match="shape"):
        resample([0.0, 1.0], np.zeros((2, 2)))


def test_load_sisfall_format(tmp_path: Path) -> None:
    subject = tmp_path / "SA07"
    subject.mkdir()
    lines = [" -9,-257, -25, 84, 247, 27,-120,-987, 63;", " 256, 0, 512, 1, 2, 3, 4, 5, 6;"]
    (subject / "F03_SA07_R02.txt").write_bytes(("\r\n".join(lines) + "\r\n").encode())
    (subject / "D05_SA07_R01.txt").write_bytes(("\r\n".join(lines[::-1]) + "\r\n").encode())
    (subject / "notes.txt").write_text("not a trial")
    trials = load_sisfall(tmp_path)
    assert [t.name for t in trials] == ["D05_SA07_R01", "F03_SA07_R02"]
    fall = trials[1]
    assert fall.is_fall
    assert not trials[0].is_fall
    assert fall.subject == "SA07"
    assert np.allclose(fall.t, [0.0, 0.005])
    assert np.allclose(fall.acc_g[0], [-9 / 256, -257 / 256, -25 / 256])
    assert np.allclose(fall.acc_g[1], [1.0, 0.0, 2.0])
    assert load_sisfall(tmp_path, subjects=["SA01"]) == []


def test_load_csv_format(tmp_path: Path) -> None:
    (tmp_path / "fall_p1_001.csv").write_text(
        "t_s,ax_g,ay_g,az_g\n0.0,0,-1,0\n0.013,0.1,-0.9,0.05\n"
    )
    (tmp_path / "adl_p2_walk.csv").write_text(
        "t_s,ax_g,ay_g,az_g\n5.0,0,1,0\n5.5,0,1,0\n5.6,0,1,0\n"
    )
    (tmp_path / "readme.csv").write_text("whatever\n")
    trials = load_csv_dir(tmp_path)
    assert [(t.name, t.is_fall, t.subject) for t in trials] == [
        ("adl_p2_walk", False, "p2"),
        ("fall_p1_001", True, "p1"),
    ]
    assert trials[1].acc_g.shape == (2, 3)
    assert trials[0].duration_s == pytest.approx(0.6)


def test_csv_with_wrong_header_or_name_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "fall_x_1.csv"
    bad.write_text("time,x,y,z\n0,0,0,1\n1,0,0,1\n")
    with pytest.raises(TrialFormatError, match="header"):
        load_csv_trial(bad)
    unlabeled = tmp_path / "x_1.csv"
    unlabeled.write_text("t_s,ax_g,ay_g,az_g\n0,0,0,1\n1,0,0,1\n")
    with pytest.raises(TrialFormatError, match="fall_ or adl_"):
        load_csv_trial(unlabeled)


def test_csv_from_other_tools_byte_order_mark_extra_columns_any_order(tmp_path: Path) -> None:
    """Exports of other studies: a BOM, CRLF, gyroscope columns, columns in another order."""
    trial = tmp_path / "fall_s9_trip.csv"
    trial.write_bytes(
        "\ufeffAZ_G, t_s ,gx_dps,ax_g,ay_g\r\n1.0,0.00,5,0.1,-0.2\r\n0.9,0.02,6,0.2,-0.3\r\n".encode()
    )
    loaded = load_csv_trial(trial)
    assert np.allclose(loaded.t, [0.0, 0.02])
    assert np.allclose(loaded.acc_g, [[0.1, -0.2, 1.0], [0.2, -0.3, 0.9]])


def test_csv_with_holes_is_refused_with_a_reason(tmp_path: Path) -> None:
    holes = tmp_path / "adl_s1_walk.csv"
    holes.write_text("t_s,ax_g,ay_g,az_g\n0,0,0,1\n0.02,nan,0,1\n")
    with pytest.raises(TrialFormatError, match="non-numeric"):
        load_csv_trial(holes)


@pytest.mark.parametrize(
    ("scale", "match"),
    [(9.81, "m/s²"), (0.0, "gravity removed")],
)
def test_csv_not_in_g_is_refused_with_what_it_looks_like(
    tmp_path: Path, scale: float, match: str
) -> None:
    """Metres per second squared, or linear acceleration, scored as g would be nonsense."""
    trial = tmp_path / "fall_s1_1.csv"
    rows = "".join(f"{k / 50},0.01,{-1.0 * scale + 0.01},0.02\n" for k in range(100))
    trial.write_text("t_s,ax_g,ay_g,az_g\n" + rows)
    with pytest.raises(TrialFormatError, match=match):
        load_csv_trial(trial)


def test_csv_with_times_in_milliseconds_is_refused(tmp_path: Path) -> None:
    trial = tmp_path / "adl_s1_1.csv"
    rows = "".join(f"{k * 20},0.01,-1.0,0.02\n" for k in range(100))  # 50 Hz, t in ms
    trial.write_text("t_s,ax_g,ay_g,az_g\n" + rows)
    with pytest.raises(TrialFormatError, match="milliseconds"):
        load_csv_trial(trial)


def test_sisfall_second_accelerometer(tmp_path: Path) -> None:
    """Columns 7–9 are SisFall's MMA8451Q (±8 g, 1/1024 g per count): another device."""
    subject = tmp_path / "SA07"
    subject.mkdir()
    lines = [" -9,-257, -25, 84, 247, 27,-120,-987, 63;", " 256, 0, 512, 1, 2, 3, 4, 5, 6;"]
    (subject / "F03_SA07_R02.txt").write_bytes(("\r\n".join(lines) + "\r\n").encode())
    (trial,) = load_sisfall(tmp_path, sensor="mma8451")
    assert np.allclose(
        trial.acc_g, [[-120 / 1024, -987 / 1024, 63 / 1024], [4 / 1024, 5 / 1024, 6 / 1024]]
    )
    with pytest.raises(TrialFormatError, match="unknown SisFall sensor"):
        load_sisfall(tmp_path, sensor="gyro")


def test_a_cheaper_device_saturates_and_samples_slower() -> None:
    t = np.arange(0.0, 10.0, 1.0 / 200.0)
    acc = np.column_stack([np.zeros_like(t), -np.ones_like(t), np.zeros_like(t)])
    acc[1000] = [5.0, -6.0, 0.5]  # an impact of ~7.8 g
    trial = Trial("F01_SA01_R01", "SA01", True, t, acc)
    small = clipped(trial, 2.0)
    assert small.acc_g[1000].tolist() == [2.0, -2.0, 0.5]
    assert np.array_equal(small.acc_g[:1000], acc[:1000])
    slow = sampled(trial, 18.0)
    assert len(slow.t) == pytest.approx(180, abs=1)
    assert np.allclose(np.diff(slow.t), 1.0 / 18.0, atol=0.005)  # within one 200 Hz sample
    assert set(slow.t.tolist()) <= set(t.tolist())  # samples picked, never interpolated
    assert (slow.name, slow.subject, slow.is_fall) == ("F01_SA01_R01@18Hz", "SA01", True)
