"""Downlink commands to gateways (pair device, test alarm), published by the platform's own login."""

from __future__ import annotations

import logging
import ssl
import uuid

import aiomqtt

from anxin.broker_login import BrokerLogin
from devices.codec import encode
from devices.payloads import CommandMessage
from devices.topics import Channel, topic

log = logging.getLogger(__name__)

COMMAND_QOS = 1  # the gateway's persistent session gets it even if it is reconnecting


class CommandPublisher:
    """Publishes one command per short MQTT session: commands are rare, a held link is not needed."""

    def __init__(
        self,
        host: str,
        port: int,
        username: str | None,
        password: str | None,
        *,
        tls_context: ssl.SSLContext | None = None,
    ) -> None:
        self._host = host
        self._port = port
        self._username = username
        self._password = password
        self._tls_context = tls_context

    @classmethod
    def at(cls, broker: BrokerLogin) -> CommandPublisher:
        """A publisher that logs in as ``broker`` says (TLS included)."""
        return cls(
            broker.host, broker.port, broker.username, broker.password, tls_context=broker.tls
        )

    async def send(self, gateway_id: str, command: CommandMessage) -> None:
        """Publish ``command`` on ``anxin/v1/<gateway_id>/cmd`` (QoS 1, PUBACK awaited)."""
        async with aiomqtt.Client(
            self._host,
            self._port,
            identifier=f"anxin-platform-{uuid.uuid4().hex[:12]}",
            username=self._username,
            password=self._password,
            tls_context=self._tls_context,
        ) as client:
            await client.publish(
                topic(gateway_id, Channel.COMMANDS), encode(command), qos=COMMAND_QOS
            )
        log.info("command_sent gw=%s kind=%s id=%s", gateway_id, command.kind, command.id)
