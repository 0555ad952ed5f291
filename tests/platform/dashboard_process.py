"""``anxin dashboard`` as a child process whose log a test can wait on, and a seeded database."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

STOP_WAIT_S = 20.0
START_WAIT_S = 30.0


@dataclass
class Process:
    """A running ``python -m anxin …``; its stderr lines are collected as they come."""

    proc: asyncio.subprocess.Process
    lines: list[str] = field(default_factory=list)
    closed: bool = False
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)

    async def drain(self) -> None:
        """Read stderr until it closes, waking every waiter on each line."""
        assert self.proc.stderr is not None
        async for raw in self.proc.stderr:
            async with self._changed:
                self.lines.append(raw.decode(errors="replace"))
                self._changed.notify_all()
        async with self._changed:
            self.closed = True
            self._changed.notify_all()

    def matching(self, *parts: str) -> list[str]:
        """The lines so far that contain every one of ``parts``."""
        return [line for line in self.lines if all(p in line for p in parts)]

    async def wait_for(self, *parts: str, wait_s: float = START_WAIT_S) -> str:
        """The first line with every one of ``parts``; fails with the log's tail if the process
        ends or ``wait_s`` passes first."""
        try:
            async with asyncio.timeout(wait_s), self._changed:
                while not self.matching(*parts) and not self.closed:
                    await self._changed.wait()
        except TimeoutError:
            pass
        found = self.matching(*parts)
        if not found:
            tail = "".join(self.lines[-40:])
            raise AssertionError(
                f"no line with {parts} (exit code {self.proc.returncode}); log tail:\n{tail}"
            )
        return found[0]


@contextlib.asynccontextmanager
async def anxin(
    *argv: str, cwd: Path, env: Mapping[str, str] | None = None
) -> AsyncIterator[Process]:
    """``python -m anxin ARGV…`` in ``cwd`` with the test's environment less its ``ANXIN_*``
    variables, plus ``env``; SIGTERM (then SIGKILL) at the end."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("ANXIN_")}
    environ.update(env or {})
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "anxin",
        *argv,
        cwd=cwd,
        env=environ,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    child = Process(proc)
    drain = asyncio.create_task(child.drain())
    try:
        yield child
    finally:
        if proc.returncode is None:
            proc.terminate()
            try:
                await asyncio.wait_for(proc.wait(), STOP_WAIT_S)
            except TimeoutError:
                proc.kill()
                await proc.wait()
        await drain
