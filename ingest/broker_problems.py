"""Telling a broker that is away from a broker that will not have us.

Every platform client reconnects with backoff. A broker that is down or restarting is logged as a
warning and simply waited for; a refused login, a failed TLS handshake or a refused subscription
will not cure itself, so the reconnect loops log those at ERROR with the reason (and keep
retrying: the login may be created, or the certificate fixed, while the service runs).
"""

from __future__ import annotations

import ssl
from collections.abc import Sequence

import aiomqtt
from aiomqtt.exceptions import MqttConnectError
from paho.mqtt.reasoncodes import ReasonCode

from ingest.errors import IngestError

SUBACK_FAILURE = 0x80  # MQTT 3.1.1 "failure", MQTT 5 reason codes from here on are refusals


class SubscriptionRefusedError(IngestError, aiomqtt.MqttError):
    """The broker refused a subscription: the login may not read those topics."""


def check_granted(granted: tuple[int, ...] | list[ReasonCode], filters: Sequence[str]) -> None:
    """Raise SubscriptionRefusedError unless the SUBACK ``granted`` every one of ``filters``.

    Without this check a login without the right ACL looks subscribed and receives nothing.
    """
    failed = [
        code >= SUBACK_FAILURE if isinstance(code, int) else code.is_failure for code in granted
    ]
    refused = [name for name, no in zip(filters, failed, strict=False) if no]
    if refused:
        raise SubscriptionRefusedError(
            f"the broker refused the subscription to {', '.join(refused)} "
            "(does the login have the anxin-service role?)"
        )


def broker_problem(err: BaseException, *, established: bool) -> str | None:
    """What is wrong when ``err`` is a setting to fix rather than a broker that is away.

    ``established``: the session had been set up (connected and subscribed) before ``err``.
    """
    if isinstance(err, MqttConnectError):
        return f"the broker refused the login: {err}"
    if isinstance(err, SubscriptionRefusedError):
        return str(err)
    if established:
        return None
    if _caused_by(err, ssl.SSLError):
        return f"TLS handshake failed: {err}"
    # aiomqtt waits out its timeout when the broker drops a connection before CONNACK, which
    # is what Mosquitto does to plain MQTT on a TLS listener
    if _caused_by(err, TimeoutError):
        return (
            "no answer to CONNECT in time (plain MQTT sent to a TLS listener, "
            "or a client certificate the broker requires missing?)"
        )
    if _caused_by(err, ConnectionResetError):
        return "the broker closed the connection during set-up (TLS sent to a plain listener?)"
    return None


def _caused_by(err: BaseException, kind: type[BaseException]) -> bool:
    seen: BaseException | None = err
    for _ in range(8):  # a chain is short; a bound guards against a cycle
        if seen is None:
            return False
        if isinstance(seen, kind):
            return True
        seen = seen.__cause__ or seen.__context__
    return False
