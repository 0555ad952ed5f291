"""A loopback TCP relay a test can cut and restore: a network outage between two real parts."""

from __future__ import annotations

import asyncio
import contextlib

CHUNK = 65536


class CuttableLink:
    """Listens on a free loopback port and relays to ``target_port`` until ``cut``.

    ``cut`` closes the listener and every relayed connection (clients see their connection drop
    and new ones refused); ``restore`` listens again on the same port.
    """

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._relays: set[asyncio.Task[object]] = set()  # one per accepted connection

    async def start(self) -> None:
        """Listen (on a fresh free port the first time, on the same port after a cut)."""
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def cut(self) -> None:
        """Refuse new connections and drop the open ones."""
        server, self._server = self._server, None
        if server is not None:
            server.close()
        for writer in list(self._writers):
            writer.close()
        await self._drain_tasks()
        # relays still connecting upstream when cut: cancelled, so none opens a connection
        # that nobody closes (an unclosed transport warns later, in whichever test GC runs)
        relays = list(self._relays)
        for relay in relays:
            relay.cancel()
        await asyncio.gather(*relays, return_exceptions=True)
        if server is not None:
            # after the connections: from Python 3.12 on it also waits for them to close
            await server.wait_closed()

    async def restore(self) -> None:
        """Accept connections again."""
        await self.start()

    async def close(self) -> None:
        """Cut for good."""
        await self.cut()

    async def _drain_tasks(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        me = asyncio.current_task()
        assert me is not None
        if self._server is None:
            # accepted just before a cut, started just after it: cut() could not see this relay
            writer.close()
            return
        self._relays.add(me)
        try:
            await self._relay_once(reader, writer)
        except asyncio.CancelledError:
            # only cut() cancels a relay; asyncio's server callback reads the task's exception,
            # which for a cancelled task would itself raise there
            writer.close()
        finally:
            self._relays.discard(me)

    async def _relay_once(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.close()
            return
        except asyncio.CancelledError:
            writer.close()
            raise
        self._writers.update((writer, up_writer))
        pumps = [
            asyncio.create_task(self._pump(reader, up_writer)),
            asyncio.create_task(self._pump(up_reader, writer)),
        ]
        self._tasks.update(pumps)
        try:
            await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in pumps:
                task.cancel()
                self._tasks.discard(task)
            await asyncio.gather(*pumps, return_exceptions=True)
            for w in (writer, up_writer):
                self._writers.discard(w)
                w.close()

    @staticmethod
    async def _pump(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, OSError):
            while data := await source.read(CHUNK):
                sink.write(data)
                await sink.drain()
