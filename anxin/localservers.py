"""Real servers on loopback, on free ports, in temp dirs: for tests and benchmarks.

Mosquitto, InfluxDB 1.x and PostgreSQL are started as child processes with their data in a
directory of the caller's and stopped (or killed, for fault tests) through the returned handle.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

START_TIMEOUT_S = 30.0  # a cold InfluxDB or initdb takes a few seconds on this class of machine


class LocalServerError(Exception):
    """A local server could not be started."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_for_port(
    port: int, timeout: float = START_TIMEOUT_S, proc: subprocess.Popen[bytes] | None = None
) -> None:
    """Block until something accepts TCP connections on 127.0.0.1:port."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise LocalServerError(
                f"process exited with {proc.returncode} before port {port} opened"
            )
        with (
            contextlib.suppress(OSError),
            socket.create_connection(("127.0.0.1", port), timeout=0.5),
        ):
            return
        time.sleep(0.05)
    raise LocalServerError(f"nothing listening on 127.0.0.1:{port} after {timeout} s")


@dataclass
class Server:
    """A running child server; ``restart`` starts it again with the same data and port."""

    name: str
    port: int
    argv: list[str]
    data_dir: Path
    log_path: Path
    user: str | None = None
    proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    remove_on_stop: bool = False

    def close(self) -> None:
        """Stop for good and remove data that lives outside the caller's directory."""
        self.stop()
        if self.remove_on_stop:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    def start(self) -> None:
        """Start the process and wait until its port accepts connections."""
        log = self.log_path.open("ab")
        preexec = _demote(self.user) if self.user else None
        self.proc = subprocess.Popen(
            self.argv, stdout=log, stderr=subprocess.STDOUT, preexec_fn=preexec, cwd=self.data_dir
        )
        log.close()
        try:
            wait_for_port(self.port, proc=self.proc)
        except LocalServerError as err:
            tail = self.log_path.read_text(errors="replace")[-2000:]
            self.stop()
            raise LocalServerError(f"{self.name}: {err}\n{tail}") from err

    def kill(self) -> None:
        """SIGKILL, as a crash would."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after a grace period."""
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def restart(self) -> None:
        """Stop if running, then start again with the same data."""
        self.stop()
        self.start()

    @property
    def url(self) -> str:
        """Connection URL for clients."""
        scheme = {"mosquitto": "mqtt", "influxdb": "http", "postgres": "postgresql"}[self.name]
        if self.name == "postgres":
            return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        return f"{scheme}://127.0.0.1:{self.port}"


def _demote(user: str):  # type: ignore[no-untyped-def]
    entry = pwd.getpwnam(user)

    def run() -> None:
        os.setgid(entry.pw_gid)
        os.setuid(entry.pw_uid)

    return run


def mosquitto(data_dir: Path, extra_conf: str = "", port: int | None = None) -> Server:
    """A Mosquitto broker with persistence in ``data_dir``; anonymous on loopback unless told."""
    binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    port = port or free_port()
    data_dir.mkdir(parents=True, exist_ok=True)
    conf = data_dir / "mosquitto.conf"
    base = (
        extra_conf
        if "listener" in extra_conf
        else f"listener {port} 127.0.0.1\nallow_anonymous true\n" + extra_conf
    )
    # as root, Mosquitto drops to the mosquitto user, which cannot enter pytest's 0700 temp dirs
    run_as = "user root\n" if os.geteuid() == 0 else ""
    conf.write_text(
        run_as + "per_listener_settings false\n"
        f"persistence true\npersistence_location {data_dir}/\nautosave_interval 1\n"
        # queues sized for a long consumer outage instead of the silent default of 1000
        "max_queued_messages 1000000\nmax_inflight_messages 1000\nset_tcp_nodelay true\n" + base
    )
    os.chmod(data_dir, 0o777)
    server = Server(
        "mosquitto", port, [binary, "-c", str(conf)], data_dir, data_dir / "mosquitto.log"
    )
    server.start()
    return server


def influxdb(data_dir: Path, port: int | None = None) -> Server:
    """An InfluxDB 1.x server with meta, data and WAL in ``data_dir`` (HTTP on ``port``)."""
    binary = shutil.which("influxd") or "/usr/bin/influxd"
    port, bind_port = port or free_port(), free_port()
    data_dir.mkdir(parents=True, exist_ok=True)
    conf = data_dir / "influxdb.conf"
    conf.write_text(
        "reporting-disabled = true\n"
        f'bind-address = "127.0.0.1:{bind_port}"\n'
        f'[meta]\n  dir = "{data_dir}/meta"\n'
        f'[data]\n  dir = "{data_dir}/data"\n  wal-dir = "{data_dir}/wal"\n  query-log-enabled = false\n'
        f'[http]\n  bind-address = "127.0.0.1:{port}"\n  log-enabled = false\n'
        "[monitor]\n  store-enabled = false\n"
        "[continuous_queries]\n  enabled = false\n"
    )
    server = Server(
        "influxdb", port, [binary, "-config", str(conf)], data_dir, data_dir / "influxd.log"
    )
    server.start()
    _wait_http(f"http://127.0.0.1:{port}/ping", server)
    return server


def _wait_http(url: str, server: Server) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=1).status_code < 500:
                return
        time.sleep(0.1)
    server.stop()
    raise LocalServerError(f"{server.name} did not answer {url}")


def _pg_bin(name: str) -> str:
    for candidate in sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), reverse=True):
        return str(candidate)
    found = shutil.which(name)
    if not found:
        raise LocalServerError(f"PostgreSQL's {name} not found (apt-get install postgresql)")
    return found


def postgres(data_dir: Path) -> Server:
    """A throwaway PostgreSQL cluster (trust auth on loopback), run as the postgres user if root."""
    port = free_port()
    user = "postgres" if os.geteuid() == 0 else None
    if user:
        # the postgres user must be able to reach its directory: pytest's temp dirs are 0700 root
        data_dir = Path(tempfile.mkdtemp(prefix="anxin-pg-", dir="/tmp"))
        data_dir.chmod(0o755)
    data_dir.mkdir(parents=True, exist_ok=True)
    pgdata = data_dir / "pgdata"
    if user:
        entry = pwd.getpwnam(user)
        os.chown(data_dir, entry.pw_uid, entry.pw_gid)
    if not pgdata.exists():
        subprocess.run(
            [_pg_bin("initdb"), "-D", str(pgdata), "-A", "trust", "-U", "postgres", "--no-sync"],
            check=True,
            capture_output=True,
            preexec_fn=_demote(user) if user else None,
        )
    argv = [
        _pg_bin("postgres"),
        "-D",
        str(pgdata),
        "-p",
        str(port),
        "-h",
        "127.0.0.1",
        "-k",
        str(data_dir),
        "-c",
        "fsync=off",
        "-c",
        "full_page_writes=off",
    ]
    log = data_dir / "postgres.log"
    if user:
        log.touch()
        entry = pwd.getpwnam(user)
        os.chown(log, entry.pw_uid, entry.pw_gid)
    server = Server("postgres", port, argv, data_dir, log, user=user)
    server.remove_on_stop = user is not None
    server.start()
    _wait_postgres_ready(server)
    return server


def _wait_postgres_ready(server: Server) -> None:
    """The port opens before recovery ends; wait until a query is answered."""
    import psycopg  # only needed where PostgreSQL is started

    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        try:
            with psycopg.connect(server.url, connect_timeout=2) as conn:
                conn.execute("select 1")
                return
        except psycopg.OperationalError:
            time.sleep(0.1)
    server.close()
    raise LocalServerError("postgres did not answer queries in time")
