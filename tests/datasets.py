"""Where the real recordings are (``../shared/datasets`` beside the checkout, or $ANXIN_DATASETS).

They may not be copied into this repository (the sources carry no licence for redistribution;
Ordóñez forbids commercial use), so the tests that replay them read them where the project
keeps them and skip, naming the folder, where a machine does not have them. The unit tests on
constructed signals run everywhere.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

DATASETS = Path(
    os.environ.get(
        "ANXIN_DATASETS", Path(__file__).resolve().parents[1] / ".." / "shared" / "datasets"
    )
)


def dataset(name: str, needs: str) -> Path:
    """The folder ``name``, or skip the test when its file ``needs`` is not there."""
    folder = DATASETS / name
    if not (folder / needs).exists():
        pytest.skip(f"{name} is not at {folder.resolve()} (set ANXIN_DATASETS)")
    return folder
