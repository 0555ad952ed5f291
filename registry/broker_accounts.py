"""Gateway broker accounts: in Mosquitto through its dynamic-security plugin, or registry-only.

Mosquitto (production): the platform, as the dynsec admin, sends commands on
``$CONTROL/dynamic-security/v1`` and reads answers on ``…/v1/response``. Each gateway gets a
client whose username *and* client id are the gateway id (so no one else can take that client id
over) and a role that may publish only to its own uplink topics and subscribe only to its own
downlink topics; the dynsec default denies everything else. Deleting the client disconnects it.

Embedded broker (``anxin up``): it checks logins against ``Gateway.secret_hash`` in the registry,
so ``RegistryOnlyAccounts`` has nothing to do.
"""

from __future__ import annotations

import asyncio
import json
import logging
import shutil
import subprocess
import uuid
from pathlib import Path
from typing import Any, Protocol

import aiomqtt

from devices.topics import DOWNLINK, ROOT, UPLINK, Channel, subscription, topic
from registry.errors import RegistryError

log = logging.getLogger(__name__)

CONTROL_TOPIC = "$CONTROL/dynamic-security/v1"
RESPONSE_TOPIC = CONTROL_TOPIC + "/response"
DYNSEC_PLUGIN = Path("/usr/lib/x86_64-linux-gnu/mosquitto_dynamic_security.so")
ANSWER_TIMEOUT_S = 10.0
SERVICE_ROLE = "anxin-service"


class BrokerAccountError(RegistryError):
    """The broker refused or did not answer an account change."""


class BrokerAccountExistsError(BrokerAccountError):
    """The login to create exists already on the broker."""


class BrokerAccounts(Protocol):
    """Where gateway logins live on the broker side."""

    async def create_gateway(self, gateway_id: str, password: str) -> None:
        """Let ``gateway_id`` log in with ``password``, pinned to its own topics (idempotent)."""
        ...

    async def remove_gateway(self, gateway_id: str) -> None:
        """Refuse ``gateway_id`` from now on and cut its connection."""
        ...


class RegistryOnlyAccounts:
    """The embedded broker reads logins from the registry: nothing to do here."""

    async def create_gateway(self, gateway_id: str, password: str) -> None:
        """Nothing: the registry's ``secret_hash`` is the account."""

    async def remove_gateway(self, gateway_id: str) -> None:
        """Nothing: a revoked gateway's lookup fails."""


def gateway_role(gateway_id: str) -> dict[str, Any]:
    """The dynsec role of one gateway: its uplink topics out, its downlink topics in."""
    acls: list[dict[str, Any]] = [
        {"acltype": "publishClientSend", "topic": topic(gateway_id, c), "allow": True}
        for c in UPLINK
    ]
    acls += [
        {"acltype": "subscribeLiteral", "topic": topic(gateway_id, c), "allow": True}
        for c in DOWNLINK
    ]
    return {"command": "createRole", "rolename": f"gw-{gateway_id}", "acls": acls}


def service_role() -> dict[str, Any]:
    """The dynsec role of ingest and alerts: every gateway's uplink in, acks and commands out."""
    acls: list[dict[str, Any]] = [
        {"acltype": "subscribePattern", "topic": subscription(c), "allow": True} for c in UPLINK
    ]
    acls += [
        {"acltype": "subscribePattern", "topic": f"$share/+/{ROOT}/+/{c.value}", "allow": True}
        for c in UPLINK
    ]
    acls += [
        {"acltype": "publishClientSend", "topic": f"{ROOT}/+/{c.value}", "allow": True}
        for c in (Channel.ACK, Channel.COMMANDS)
    ]
    return {"command": "createRole", "rolename": SERVICE_ROLE, "acls": acls}


class MosquittoDynsecAccounts:
    """Gateway accounts in a Mosquitto with the dynamic-security plugin."""

    def __init__(self, host: str, port: int, admin_user: str, admin_password: str) -> None:
        self.host = host
        self.port = port
        self.admin_user = admin_user
        self.admin_password = admin_password

    async def create_gateway(self, gateway_id: str, password: str) -> None:
        """Create (or reset) the gateway's role and client."""
        await self.run(
            [
                gateway_role(gateway_id),
                {"command": "deleteClient", "username": gateway_id},
                {
                    "command": "createClient",
                    "username": gateway_id,
                    "password": password,
                    "clientid": gateway_id,
                    "roles": [{"rolename": f"gw-{gateway_id}"}],
                },
            ],
            tolerate=("Role already exists", "Client not found"),
        )
        log.info("broker_accounts.gateway_created gw=%s", gateway_id)

    async def remove_gateway(self, gateway_id: str) -> None:
        """Delete the gateway's client (Mosquitto disconnects it) and role."""
        await self.run(
            [
                {"command": "deleteClient", "username": gateway_id},
                {"command": "deleteRole", "rolename": f"gw-{gateway_id}"},
            ],
            tolerate=("Client not found", "Role not found"),
        )
        log.info("broker_accounts.gateway_removed gw=%s", gateway_id)

    async def create_service(self, username: str, password: str) -> None:
        """A login for ingest or alerts (``anxin-ingest``, …) with the service role."""
        await self.run(
            [
                service_role(),
                {
                    "command": "createClient",
                    "username": username,
                    "password": password,
                    "roles": [{"rolename": SERVICE_ROLE}],
                },
            ],
            tolerate=("Role already exists", "Client already exists"),
        )

    async def add_service(self, username: str, password: str, *, replace: bool = False) -> None:
        """A new login with the service role; BrokerAccountError if ``username`` exists, unless
        ``replace``: then it is made again with ``password`` (its live sessions are cut off)."""
        client = {
            "command": "createClient",
            "username": username,
            "password": password,
            "roles": [{"rolename": SERVICE_ROLE}],
        }
        commands = [service_role(), client]
        if replace:
            commands.insert(1, {"command": "deleteClient", "username": username})
        tolerate = ("Role already exists", "Client not found", "Client already exists")
        answers = await self.run(commands, tolerate=tolerate)
        if any(a.get("error") == "Client already exists" for a in answers):
            raise BrokerAccountExistsError(f"the broker has a login {username!r} already")
        log.info("broker_accounts.service_added username=%s replaced=%s", username, replace)

    async def run(
        self, commands: list[dict[str, Any]], tolerate: tuple[str, ...] = ()
    ) -> list[dict[str, Any]]:
        """Send dynsec commands in one message; BrokerAccountError on an error not tolerated."""
        try:
            async with aiomqtt.Client(
                self.host,
                self.port,
                username=self.admin_user,
                password=self.admin_password,
                identifier=f"anxin-provisioning-{uuid.uuid4().hex[:8]}",
            ) as client:
                await client.subscribe(RESPONSE_TOPIC, qos=1)
                await client.publish(CONTROL_TOPIC, json.dumps({"commands": commands}), qos=1)
                async with asyncio.timeout(ANSWER_TIMEOUT_S):
                    async for message in client.messages:
                        assert isinstance(message.payload, bytes)
                        answers: list[dict[str, Any]] = json.loads(message.payload)["responses"]
                        break
        except (aiomqtt.MqttError, TimeoutError) as err:
            raise BrokerAccountError(f"dynamic-security at {self.host}:{self.port}: {err}") from err
        for answer in answers:
            error = answer.get("error")
            if error and error not in tolerate:
                raise BrokerAccountError(f"{answer.get('command')}: {error}")
        return answers


def init_dynsec(config_file: Path, admin_user: str, admin_password: str) -> None:
    """Write a fresh dynsec config with one admin (``mosquitto_ctrl dynsec init``)."""
    ctrl = shutil.which("mosquitto_ctrl")
    if ctrl is None:
        raise BrokerAccountError("mosquitto_ctrl not found (apt-get install mosquitto-clients)")
    result = subprocess.run(
        [ctrl, "dynsec", "init", str(config_file), admin_user, admin_password],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise BrokerAccountError(f"mosquitto_ctrl dynsec init: {result.stderr or result.stdout}")


def dynsec_mosquitto_conf(config_file: Path) -> str:
    """The lines that load the dynamic-security plugin with ``config_file``."""
    return f"plugin {DYNSEC_PLUGIN}\nplugin_opt_config_file {config_file}\n"
