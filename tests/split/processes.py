"""``anxin …`` commands as child processes whose log lines a test can wait for."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from collections.abc import AsyncIterator, Mapping
from pathlib import Path

from anxin.broker_login import PASSWORD_ENV

STOP_WAIT_S = 30.0  # `anxin ingest` terminates and joins its workers on SIGTERM


class Child:
    """A running ``anxin`` command; its stderr lines are collected by ``drain``."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.lines: list[str] = []
        self.closed = False
        self._changed = asyncio.Condition()

    async def drain(self) -> None:
        """Read stderr until it closes, waking up every waiter on each line."""
        assert self.proc.stderr is not None
        async for raw in self.proc.stderr:
            async with self._changed:
                self.lines.append(raw.decode(errors="replace"))
                self._changed.notify_all()
        async with self._changed:
            self.closed = True
            self._changed.notify_all()

    def matching(self, *parts: str) -> list[str]:
        """The lines seen so far that contain every one of ``parts``."""
        return [line for line in self.lines if all(p in line for p in parts)]

    async def wait_for(self, *parts: str, count: int = 1, wait_s: float = 30.0) -> list[str]:
        """The first ``count`` lines containing every one of ``parts``; fails with the log's
        tail if the process ends or ``wait_s`` passes first."""
        found = self.matching(*parts)
        try:
            async with asyncio.timeout(wait_s), self._changed:
                while len(found := self.matching(*parts)) < count:
                    if self.closed:
                        break
                    await self._changed.wait()
        except TimeoutError:
            pass
        if len(found) < count:
            tail = "".join(self.lines[-40:])
            raise AssertionError(
                f"{count} line(s) with {parts} expected, saw {len(found)} "
                f"(exit code {self.proc.returncode}); log tail:\n{tail}"
            )
        return found[:count]

    async def stop(self, within_s: float) -> int:
        """SIGTERM; the exit code, or fail with the log's tail if it is not out within
        ``within_s`` seconds (a service that ignores SIGTERM is killed by its supervisor)."""
        self.proc.terminate()
        try:
            return await asyncio.wait_for(self.proc.wait(), within_s)
        except TimeoutError:
            tail = "".join(self.lines[-40:])
            raise AssertionError(
                f"still running {within_s:.0f} s after SIGTERM; log tail:\n{tail}"
            ) from None


def child_env(password: str | None = None) -> dict[str, str]:
    """The test's environment without a broker password, or with ``password`` in it."""
    env = {k: v for k, v in os.environ.items() if k != PASSWORD_ENV}
    if password is not None:
        env[PASSWORD_ENV] = password
    return env


@contextlib.asynccontextmanager
async def anxin(
    *argv: str, cwd: Path, env: Mapping[str, str] | None = None
) -> AsyncIterator[Child]:
    """``python -m anxin ARGV…`` in ``cwd``, stopped with SIGTERM (then SIGKILL) at the end."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "anxin",
        *argv,
        cwd=cwd,
        env=dict(env) if env is not None else child_env(),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    child = Child(proc)
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
