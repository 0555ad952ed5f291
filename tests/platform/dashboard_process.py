"""``anxin dashboard`` (or any ``anxin`` command) as a child process whose log a test can wait on.

The same runner as the split-deployment tests (``tests/split/processes.py``), started with the
test's environment less its ``ANXIN_*`` variables so that no setting leaks into the child.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping
from pathlib import Path

from tests.split import processes
from tests.split.processes import Child

Process = Child  # a running ``python -m anxin …`` whose stderr lines a test can wait on


def anxin(
    *argv: str, cwd: Path, env: Mapping[str, str] | None = None
) -> contextlib.AbstractAsyncContextManager[Child]:
    """``python -m anxin ARGV…`` in ``cwd`` with the test's environment less its ``ANXIN_*``
    variables, plus ``env``; SIGTERM (then SIGKILL) at the end."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("ANXIN_")}
    environ.update(env or {})
    return processes.anxin(*argv, cwd=cwd, env=environ)
