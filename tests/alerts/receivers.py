"""Real notification receivers on loopback: an SMTP server (aiosmtpd) and a JSON webhook."""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from anxin.localservers import free_port


@dataclass(frozen=True)
class Received:
    """One notification as the receiver got it."""

    channel: str  # "smtp" | "webhook"
    to: str  # mailbox or webhook path
    title: str
    body: str


@dataclass
class Inbox:
    """Everything the receivers got, in arrival order, and a queue to wait on."""

    loop: asyncio.AbstractEventLoop
    queue: asyncio.Queue[Received] = field(default_factory=asyncio.Queue)
    all: list[Received] = field(default_factory=list)
    smtp_port: int = 0
    http_port: int = 0

    def put(self, item: Received) -> None:
        """Called from the receivers' threads."""
        self.loop.call_soon_threadsafe(self._put, item)

    def _put(self, item: Received) -> None:
        self.all.append(item)
        self.queue.put_nowait(item)

    async def next(self, wait_s: float = 5.0) -> Received:
        """The next notification, or TimeoutError."""
        return await asyncio.wait_for(self.queue.get(), wait_s)

    def mailto(self, mailbox: str) -> str:
        """The apprise URL of a mailbox on this SMTP server (plain SMTP on loopback)."""
        return (
            f"mailto://127.0.0.1:{self.smtp_port}?from=anxin@example.org&to={mailbox}&mode=insecure"
        )

    def webhook(self, path: str) -> str:
        """The apprise URL of a JSON webhook path on this receiver."""
        return f"json://127.0.0.1:{self.http_port}/{path}"

    def dead_webhook(self) -> str:
        """An apprise URL where nothing listens (for fallback tests)."""
        return f"json://127.0.0.1:{free_port()}/nobody"


class _Smtp:
    def __init__(self, inbox: Inbox) -> None:
        self.inbox = inbox

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        part = message.get_body(preferencelist=("plain",))
        body = part.get_content() if part is not None else ""
        for rcpt in envelope.rcpt_tos:
            self.inbox.put(Received("smtp", rcpt, str(message["Subject"]), body))
        return "250 OK"


def _handler(inbox: Inbox) -> type[BaseHTTPRequestHandler]:
    class Hook(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            data = json.loads(self.rfile.read(length) or b"{}")
            inbox.put(
                Received("webhook", self.path.strip("/"), data.get("title", ""), data["message"])
            )
            self.send_response(200)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            return

    return Hook


@pytest.fixture
async def inbox() -> AsyncIterator[Inbox]:
    """A real SMTP server and a real webhook receiver, both on loopback free ports."""
    box = Inbox(asyncio.get_running_loop())
    box.smtp_port = free_port()
    smtp = Controller(_Smtp(box), hostname="127.0.0.1", port=box.smtp_port)
    smtp.start()
    http = ThreadingHTTPServer(("127.0.0.1", 0), _handler(box))
    box.http_port = http.server_address[1]
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    try:
        yield box
    finally:
        http.shutdown()
        http.server_close()
        thread.join(5)
        smtp.stop()
