"""Encode and decode wire messages: JSON, readable with mosquitto_sub; anything else is refused.

``decode`` raises DecodeError with a short ``reason`` (``json``, ``schema``, ``topic``,
``gateway_mismatch``) so that ingest can quarantine the message with it instead of dropping it.
"""

from __future__ import annotations

import json
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from devices.errors import DecodeError
from devices.payloads import (
    AckMessage,
    CommandMessage,
    EventMessage,
    ReadingsMessage,
    StatusMessage,
)
from devices.topics import Channel, parse_topic

MAX_PAYLOAD_BYTES = 1_048_576  # one message may not take more memory than this in ingest

UplinkMessage = ReadingsMessage | EventMessage | StatusMessage
DownlinkMessage = AckMessage | CommandMessage

_MODELS: dict[Channel, type[BaseModel]] = {
    Channel.READINGS: ReadingsMessage,
    Channel.EVENTS: EventMessage,
    Channel.STATUS: StatusMessage,
    Channel.ACK: AckMessage,
    Channel.COMMANDS: CommandMessage,
}

M = TypeVar("M", bound=BaseModel)


def encode(message: BaseModel) -> bytes:
    """Serialise a payload model to compact JSON bytes."""
    return message.model_dump_json(exclude_none=True).encode()


def decode_as(model: type[M], payload: bytes) -> M:
    """Parse ``payload`` as ``model``; DecodeError('json' | 'schema' | 'size') otherwise."""
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise DecodeError("size", f"{len(payload)} bytes > {MAX_PAYLOAD_BYTES}")
    try:
        raw = json.loads(payload)
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise DecodeError("json", str(err)) from err
    try:
        return model.model_validate(raw)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise DecodeError("schema", f"{where}: {first['msg']}") from err


def decode_uplink(topic_name: str, payload: bytes) -> tuple[str, UplinkMessage]:
    """Decode an uplink message; the gateway id in the payload must match the topic's."""
    parsed = parse_topic(topic_name)
    model = _MODELS[parsed.channel]
    if parsed.channel not in (Channel.READINGS, Channel.EVENTS, Channel.STATUS):
        raise DecodeError("topic", f"{parsed.channel.value} is not an uplink channel")
    message = decode_as(model, payload)
    assert isinstance(message, ReadingsMessage | EventMessage | StatusMessage)
    if message.gw != parsed.gateway_id:
        raise DecodeError(
            "gateway_mismatch", f"payload gw {message.gw!r} on topic of {parsed.gateway_id!r}"
        )
    return parsed.gateway_id, message
