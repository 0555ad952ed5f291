"""``anxin bench up``: the walking skeleton's check, measured — a real ``anxin up --demo`` process.

Starts ``anxin up --demo --homes N --speed X`` in a temp data dir, measures the seconds until
/healthz answers 200 and until the station login lists the first alert raised from a simulated
incident, stops it with SIGINT and reports the exit code. Prints one JSON object as its last line.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from anxin.localservers import free_port

POLL_S = 0.2
HTTP_TIMEOUT_S = 10.0


def _token(url: str) -> str:
    r = httpx.post(
        f"{url}/api/v1/auth/token",
        data={"username": "station", "password": "demo"},
        timeout=HTTP_TIMEOUT_S,
    )
    r.raise_for_status()
    token: str = r.json()["access_token"]
    return token


def run_up_bench(homes: int, speed: float, limit_s: float) -> dict[str, Any]:
    """Run the scenario and return its figures."""
    port, mqtt_port = free_port(), free_port()
    with tempfile.TemporaryDirectory(prefix="anxin-bench-up-") as tmp:
        log_path = Path(tmp) / "anxin-up.log"
        argv = [
            sys.executable, "-m", "anxin", "up", "--demo", "--homes", str(homes),
            "--speed", str(speed), "--port", str(port), "--mqtt-port", str(mqtt_port),
            "--data-dir", str(Path(tmp) / "data"),
        ]  # fmt: skip
        url = f"http://127.0.0.1:{port}"
        t0 = time.monotonic()
        with log_path.open("wb") as log:
            proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
        healthz_s = first_alert_s = None
        first: dict[str, Any] | None = None
        try:
            while time.monotonic() - t0 < limit_s and proc.poll() is None:
                try:
                    if healthz_s is None:
                        if httpx.get(f"{url}/healthz", timeout=HTTP_TIMEOUT_S).status_code == 200:
                            healthz_s = time.monotonic() - t0
                            token = _token(url)
                    else:
                        r = httpx.get(
                            f"{url}/api/v1/alerts",
                            headers={"Authorization": f"Bearer {token}"},
                            timeout=HTTP_TIMEOUT_S,
                        )
                        if r.status_code == 401:
                            token = _token(url)
                        elif r.json():
                            first_alert_s = time.monotonic() - t0
                            first = r.json()[-1]
                            break
                except httpx.HTTPError:
                    pass
                time.sleep(POLL_S)
        finally:
            exit_code = None
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
                exit_code = proc.wait(timeout=60)
            else:
                exit_code = proc.returncode
        errors = sum(
            1 for line in log_path.read_text(errors="replace").splitlines() if " ERROR " in line
        )
    return {
        "homes": homes,
        "speed": speed,
        "healthz_s": round(healthz_s, 1) if healthz_s is not None else None,
        "first_alert_s": round(first_alert_s, 1) if first_alert_s is not None else None,
        "first_alert_kind": first["kind"] if first else None,
        "sigint_exit_code": exit_code,
        "error_log_lines": errors,
    }


def main(homes: int, speed: float, limit_s: float) -> int:
    """Print the figures; exit 0 when healthz and a first alert were seen and SIGINT exited 0."""
    figures = run_up_bench(homes, speed, limit_s)
    sys.stdout.write(json.dumps(figures) + "\n")
    ok = figures["healthz_s"] is not None and figures["first_alert_s"] is not None
    return 0 if ok and figures["sigint_exit_code"] == 0 else 1
