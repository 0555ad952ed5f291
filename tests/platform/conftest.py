"""A real ``anxin up --demo`` process, started and stopped by the tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from anxin.localservers import free_port

START_TIMEOUT_S = 60.0


@dataclass
class Platform:
    """A running ``anxin up`` child process."""

    data_dir: Path
    port: int
    mqtt_port: int
    argv: list[str]
    log_path: Path
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(self.argv, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        self.wait_healthy()

    def wait_healthy(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise AssertionError(f"anxin up exited {self.proc.returncode}:\n{self.log()}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"/healthz not 200 within {START_TIMEOUT_S} s:\n{self.log()}")

    def interrupt(self) -> int:
        """SIGINT, as Ctrl-C would; returns the exit code."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGINT)
        return self.proc.wait(timeout=30)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-5000:]

    def secret(self) -> str:
        return (self.data_dir / "secret.key").read_text().strip()

    def token(self, username: str, password: str = "demo") -> str:
        r = httpx.post(
            f"{self.url}/api/v1/auth/token", data={"username": username, "password": password}
        )
        r.raise_for_status()
        token: str = r.json()["access_token"]
        return token


def make_platform(tmp: Path, homes: int = 3, speed: float = 60.0) -> Platform:
    data_dir = tmp / "data"
    port, mqtt_port = free_port(), free_port()
    argv = [
        sys.executable,
        "-m",
        "anxin",
        "up",
        "--demo",
        "--homes",
        str(homes),
        "--speed",
        str(speed),
        "--port",
        str(port),
        "--mqtt-port",
        str(mqtt_port),
        "--data-dir",
        str(data_dir),
    ]
    return Platform(data_dir, port, mqtt_port, argv, tmp / "anxin-up.log")


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    """``anxin up --demo`` with 3 homes at 60x, shared by a module's tests."""
    p = make_platform(tmp_path_factory.mktemp("platform"))
    os.environ.pop("ANXIN_DATA_DIR", None)
    p.start()
    yield p
    if p.proc and p.proc.poll() is None:
        p.interrupt()
