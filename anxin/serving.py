"""Serving the dashboard from a process that owns its signals: uvicorn without its handlers, and
the named readiness checks behind ``/healthz``."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import uvicorn


class EmbeddedServer(uvicorn.Server):
    """uvicorn without its own signal handling: the process's composition root owns SIGINT/SIGTERM.

    ``listening`` is set once the socket accepts connections.
    """

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.listening = asyncio.Event()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started:
            self.listening.set()

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@dataclass
class Readiness:
    """Named readiness checks; /healthz answers 200 only when all are true."""

    checks: dict[str, Callable[[], bool]] = field(default_factory=dict)

    def __call__(self) -> bool:
        return all(check() for check in self.checks.values())
