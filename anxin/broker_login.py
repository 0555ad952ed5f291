"""How the platform's own services reach the MQTT broker: address, login and TLS.

``anxin ingest`` and ``anxin alerts run`` share these command-line options, so a split
deployment can talk to a production Mosquitto (TLS listener, dynamic-security logins). A password
is never taken from the command line (``ps`` shows it to every user of the machine): it comes
from a file (``--mqtt-password-file``, first line) or from ``ANXIN_MQTT_PASSWORD``.
"""

from __future__ import annotations

import argparse
import os
import ssl
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

PASSWORD_ENV = "ANXIN_MQTT_PASSWORD"
MQTT_PORT = 1883  # IANA: MQTT
MQTTS_PORT = 8883  # IANA: MQTT over TLS


class BrokerOptionError(ValueError):
    """The broker options do not make a usable login (a usage error: exit code 2)."""


@dataclass(frozen=True, slots=True)
class BrokerLogin:
    """Where a platform service connects, as whom, and how it checks the broker (TLS)."""

    host: str
    port: int
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    tls: ssl.SSLContext | None = field(default=None, repr=False)  # None: plain MQTT


@dataclass(frozen=True, slots=True)
class BrokerSettings:
    """The broker options as given (picklable, for worker processes); ``login()`` makes the
    ``BrokerLogin`` the clients use."""

    host: str = "127.0.0.1"
    port: int = MQTT_PORT
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    ca: Path | None = None  # set: TLS, the server's certificate and host name checked against it
    cert: Path | None = None  # client certificate (with ``key``)
    key: Path | None = None

    def login(self) -> BrokerLogin:
        """The login with its TLS context built (reads the PEM files: call it once, at start)."""
        tls = None if self.ca is None else tls_context(self.ca, self.cert, self.key)
        return BrokerLogin(self.host, self.port, self.username, self.password, tls)


def tls_context(ca: Path, cert: Path | None = None, key: Path | None = None) -> ssl.SSLContext:
    """TLS 1.2+ that trusts only ``ca`` and checks the broker's host name; BrokerOptionError if
    a file cannot be read or is not what it should be."""
    try:
        context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(ca))
    except (OSError, ssl.SSLError) as err:
        raise BrokerOptionError(f"--mqtt-ca {ca}: {_why(err)}") from err
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if cert is not None and key is not None:
        try:
            context.load_cert_chain(str(cert), str(key))
        except (OSError, ssl.SSLError) as err:
            raise BrokerOptionError(f"--mqtt-cert {cert} / --mqtt-key {key}: {_why(err)}") from err
    return context


def _why(err: OSError | ssl.SSLError) -> str:
    if isinstance(err, ssl.SSLError):
        return f"not a usable PEM file ({err.reason or err})"
    return err.strerror or str(err)


def add_broker_options(parser: argparse.ArgumentParser) -> None:
    """Add the ``--mqtt-*`` options of a service that connects to the broker."""
    group = parser.add_argument_group("broker (MQTT)")
    group.add_argument("--mqtt-host", default="127.0.0.1", help="broker host (default 127.0.0.1)")
    group.add_argument(
        "--mqtt-port",
        type=int,
        help=f"broker port (default {MQTT_PORT}, or {MQTTS_PORT} with --mqtt-ca)",
    )
    group.add_argument("--mqtt-username", help="log in as NAME (see `anxin broker add-service`)")
    group.add_argument(
        "--mqtt-password-file",
        type=Path,
        metavar="PATH",
        help=f"the login's password: the file's first line (or set ${PASSWORD_ENV})",
    )
    group.add_argument(
        "--mqtt-ca",
        type=Path,
        metavar="PATH",
        help="use TLS; trust only this CA (PEM) and check the broker's host name",
    )
    group.add_argument(
        "--mqtt-cert", type=Path, metavar="PATH", help="client certificate (PEM, with --mqtt-key)"
    )
    group.add_argument(
        "--mqtt-key", type=Path, metavar="PATH", help="client certificate's key (PEM)"
    )


def broker_settings(
    args: argparse.Namespace, environ: Mapping[str, str] | None = None
) -> BrokerSettings:
    """The checked broker options of ``args``; BrokerOptionError names what is wrong."""
    env = os.environ if environ is None else environ
    if (args.mqtt_cert is None) != (args.mqtt_key is None):
        raise BrokerOptionError("--mqtt-cert and --mqtt-key go together: give both or neither")
    if args.mqtt_cert is not None and args.mqtt_ca is None:
        raise BrokerOptionError("--mqtt-cert needs --mqtt-ca (the CA that signed the broker)")
    if args.mqtt_username == "":
        raise BrokerOptionError("--mqtt-username is empty")
    password = _password(args.mqtt_password_file, env)
    if args.mqtt_username is None and password is not None:
        source = "--mqtt-password-file" if args.mqtt_password_file else f"${PASSWORD_ENV}"
        raise BrokerOptionError(f"{source} is given but --mqtt-username is not")
    if args.mqtt_username is not None and password is None:
        raise BrokerOptionError(
            f"--mqtt-username needs a password: --mqtt-password-file PATH or ${PASSWORD_ENV}"
        )
    port = args.mqtt_port
    if port is None:
        port = MQTTS_PORT if args.mqtt_ca is not None else MQTT_PORT
    if not 0 < port < 65536:
        raise BrokerOptionError(f"--mqtt-port {port} is not a TCP port")
    settings = BrokerSettings(
        args.mqtt_host, port, args.mqtt_username, password, args.mqtt_ca, args.mqtt_cert,
        args.mqtt_key,
    )  # fmt: skip
    settings.login()  # a CA or certificate that cannot be loaded is a start-up error, not a retry
    return settings


def _password(path: Path | None, env: Mapping[str, str]) -> str | None:
    """The first line of ``path`` (stripped), else the environment's; None when neither is set.
    The file wins over the environment, as flags win over the environment everywhere."""
    if path is None:
        value = env.get(PASSWORD_ENV)
        if value is not None and not value.strip():
            raise BrokerOptionError(f"${PASSWORD_ENV} is set but empty")
        return None if value is None else value.strip()
    try:
        with path.open(encoding="utf-8") as file:
            first = file.readline().strip()
    except (OSError, UnicodeDecodeError) as err:
        why = (err.strerror or str(err)) if isinstance(err, OSError) else "not UTF-8 text"
        raise BrokerOptionError(f"--mqtt-password-file {path}: cannot read it ({why})") from err
    if not first:
        raise BrokerOptionError(f"--mqtt-password-file {path}: the first line is empty")
    return first


def broker_settings_or_exit(args: argparse.Namespace, command: str) -> BrokerSettings:
    """``broker_settings(args)``, or a one-line ``<command>: error: …`` and exit code 2."""
    try:
        return broker_settings(args)
    except BrokerOptionError as err:
        sys.stderr.write(f"{command}: error: {err}\n")
        raise SystemExit(2) from err
