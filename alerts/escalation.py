"""Pure escalation rules: which tier is told when, and the reminders until someone acknowledges.

Tier 1 is the on-duty staff, tier 2 a second staff member or the manager, tier 3 the family
contacts in order, tier 4 a hotline (96156) or emergency services. A step is (tier, attempt):
attempt 0 is the tier's first message, attempt n its n-th reminder. Reminders go to every tier
told so far and repeat every ``reminder_s`` until the next tier is due (or, after the last tier,
up to ``max_reminders``). Technical alarms take one step (tier 0) to their own audiences.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from alerts.lifecycle import Priority

TIER_AUDIENCES: dict[int, tuple[str, ...]] = {
    1: ("staff",),
    2: ("manager",),
    3: ("family",),
    4: ("hotline",),
}
TECHNICAL_TIER = 0


@dataclass(frozen=True, slots=True)
class Policy:
    """A station's escalation policy: tier offsets in seconds from raising, per priority."""

    high_offsets_s: tuple[float, ...] = (0.0, 60.0, 180.0, 600.0)
    medium_offsets_s: tuple[float, ...] = (0.0, 180.0, 600.0)
    low_offsets_s: tuple[float, ...] = (0.0,)
    reminder_s: float = 120.0  # how long a told person may stay silent before being told again
    max_reminders: int = 10  # after the last tier; bounded so a forgotten alert stops calling
    technical_audiences: tuple[str, ...] = (
        "installer",
        "staff",
    )  # family: configurable, not default

    def offsets(self, priority: Priority) -> tuple[float, ...]:
        """The tier offsets of a priority (technical alarms: one step at 0)."""
        if priority is Priority.HIGH:
            return self.high_offsets_s
        if priority is Priority.MEDIUM:
            return self.medium_offsets_s
        if priority is Priority.LOW:
            return self.low_offsets_s
        return (0.0,)


DEFAULT_POLICY = Policy()


@dataclass(frozen=True, slots=True)
class Step:
    """One escalation step: who (audiences) is told at ``due_at``."""

    tier: int
    attempt: int
    due_at: datetime
    audiences: tuple[str, ...]


def steps(policy: Policy, priority: Priority, raised_at: datetime) -> Iterator[Step]:
    """Every step of an alert's escalation, in time order (finite)."""
    if priority is Priority.TECHNICAL:
        yield Step(TECHNICAL_TIER, 0, raised_at, policy.technical_audiences)
        return
    offsets = policy.offsets(priority)
    told: tuple[str, ...] = ()
    for index, offset in enumerate(offsets):
        tier = index + 1
        told = told + TIER_AUDIENCES.get(tier, ())
        start = raised_at + timedelta(seconds=offset)
        yield Step(tier, 0, start, TIER_AUDIENCES.get(tier, ()))
        if priority is Priority.LOW or policy.reminder_s <= 0:
            continue
        last = index == len(offsets) - 1
        end = None if last else raised_at + timedelta(seconds=offsets[index + 1])
        attempt = 1
        while attempt <= policy.max_reminders:
            due = start + timedelta(seconds=policy.reminder_s * attempt)
            if end is not None and due >= end:
                break
            yield Step(tier, attempt, due, told)
            attempt += 1


def due_steps(
    policy: Policy,
    priority: Priority,
    raised_at: datetime,
    now: datetime,
    taken: Collection[tuple[int, int]],
) -> list[Step]:
    """The steps due by ``now`` that were not taken yet."""
    return [
        s
        for s in steps(policy, priority, raised_at)
        if s.due_at <= now and (s.tier, s.attempt) not in taken
    ]


def next_due(
    policy: Policy,
    priority: Priority,
    raised_at: datetime,
    taken: Collection[tuple[int, int]],
) -> datetime | None:
    """When the first step not taken yet is due; None when the escalation has run out."""
    pending = [
        s.due_at for s in steps(policy, priority, raised_at) if (s.tier, s.attempt) not in taken
    ]
    return min(pending) if pending else None


def parse_offsets(text: str) -> tuple[float, ...]:
    """ "0,60,180" -> (0.0, 60.0, 180.0) (a policy row's column)."""
    return tuple(float(part) for part in text.split(",") if part.strip())
