"""Payload models of wire contract v1 (pydantic, because this is the edge of the system).

Every uplink message carries (gw, boot, seq): the gateway, the id of the gateway's current boot and
a sequence number that grows by one per message within that boot. Together they identify a message
so that a redelivery is recognised. Events also carry a stable ``id`` chosen when the event was
first seen, which survives re-sending from the outbox after a reboot.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

PROTOCOL_VERSION = 1
MAX_READINGS_PER_MESSAGE = 5_000  # bounds the memory one message can take in ingest

GatewayId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.-]{1,64}$")]
DeviceId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.:-]{1,64}$")]
BootId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Header(_Strict):
    """Fields every uplink message carries."""

    v: Literal[1] = 1
    gw: GatewayId
    boot: BootId
    seq: int = Field(ge=0)
    sent_at: AwareDatetime  # the gateway's clock when the message was (re)sent


class ReadingIn(_Strict):
    """One sample from one device."""

    dev: DeviceId
    m: str = Field(min_length=1, max_length=32)  # measurement key from devices.catalog
    val: float
    t: AwareDatetime  # device time of the sample


class ReadingsMessage(Header):
    """Bulk lane: a batch of readings."""

    readings: list[ReadingIn] = Field(min_length=1, max_length=MAX_READINGS_PER_MESSAGE)


class EventKind(StrEnum):
    """Urgent things that happen in a home."""

    FALL = "fall"  # confirmed by the edge detector (no cancel, lying still)
    CALL_BUTTON = "call_button"  # the resident pressed the SOS button
    CANCEL = "cancel"  # "I'm OK": the resident cancelled a pre-alert or a call
    PRE_ALERT = "pre_alert"  # a suspected fall waiting for confirmation or cancel
    TEST_ALARM = "test_alarm"  # an end-to-end test started by an installer or the weekly test
    DATA_GAP = "data_gap"  # technical: the gateway's outbox ran out of room and dropped readings


class EventMessage(Header):
    """Urgent lane: one event per message."""

    id: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{8,64}$")]
    kind: EventKind
    dev: DeviceId
    t: AwareDatetime  # when the event happened, gateway clock
    data: dict[str, Any] = Field(default_factory=dict)


class GatewayState(StrEnum):
    """Retained status of a gateway."""

    ONLINE = "online"
    OFFLINE = "offline"


class StatusMessage(_Strict):
    """Retained status; the offline form is the gateway's last will."""

    v: Literal[1] = 1
    gw: GatewayId
    boot: BootId
    state: GatewayState
    t: AwareDatetime
    outbox_depth: int = Field(default=0, ge=0)
    uptime_s: float = Field(default=0.0, ge=0)
    clock_offset_s: float | None = None  # gateway clock minus platform clock (from acks), if known


class AckMessage(_Strict):
    """Downlink: ingest has durably stored the messages with these sequence numbers of ``boot``."""

    v: Literal[1] = 1
    boot: BootId
    seqs: list[int] = Field(min_length=1)
    t: AwareDatetime


class CommandKind(StrEnum):
    """What the platform can ask a gateway to do."""

    PAIR_DEVICE = "pair_device"
    TEST_ALARM = "test_alarm"
    CONFIG = "config"


class CommandMessage(_Strict):
    """Downlink: a command for the gateway."""

    v: Literal[1] = 1
    id: str = Field(min_length=8, max_length=64)
    kind: CommandKind
    args: dict[str, Any] = Field(default_factory=dict)
    t: datetime
