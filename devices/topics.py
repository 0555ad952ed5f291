"""MQTT topics of wire contract v1: one subtree per gateway so that a broker ACL can pin it (%u)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from devices.errors import DecodeError

ROOT = "anxin/v1"


class Channel(StrEnum):
    """The last topic level: what kind of message travels there and in which direction."""

    READINGS = "readings"  # up, QoS 1: a batch of readings (bulk lane)
    EVENTS = "events"  # up, QoS 1: one urgent event per message (fall, call button, cancel)
    STATUS = "status"  # up, QoS 1, retained: online/offline (last will) and heartbeat
    ACK = "ack"  # down, QoS 1: ingest has durably stored these message ids
    COMMANDS = "cmd"  # down, QoS 1: pair device, config, test alarm


UPLINK = (Channel.READINGS, Channel.EVENTS, Channel.STATUS)
DOWNLINK = (Channel.ACK, Channel.COMMANDS)


def topic(gateway_id: str, channel: Channel) -> str:
    """The topic of ``channel`` for one gateway, e.g. ``anxin/v1/gw-0001/events``."""
    return f"{ROOT}/{gateway_id}/{channel.value}"


def subscription(channel: Channel, share_group: str | None = None) -> str:
    """The wildcard filter for ``channel`` of every gateway, optionally as an MQTT 5 shared group."""
    base = f"{ROOT}/+/{channel.value}"
    return f"$share/{share_group}/{base}" if share_group else base


@dataclass(frozen=True, slots=True)
class ParsedTopic:
    """A topic split into its gateway id and channel."""

    gateway_id: str
    channel: Channel


def parse_topic(name: str) -> ParsedTopic:
    """Split a v1 topic; DecodeError('topic') when it is not one."""
    parts = name.split("/")
    if len(parts) != 4 or f"{parts[0]}/{parts[1]}" != ROOT or not parts[2]:
        raise DecodeError("topic", f"not an {ROOT} topic: {name!r}")
    try:
        channel = Channel(parts[3])
    except ValueError:
        raise DecodeError("topic", f"unknown channel {parts[3]!r}") from None
    return ParsedTopic(parts[2], channel)
