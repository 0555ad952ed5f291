"""Hypothesis state machine over the lifecycle rules and the escalation plan of one alert."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from alerts.errors import AlertStateError
from alerts.escalation import DEFAULT_POLICY, due_steps, next_due
from alerts.lifecycle import Action, AlertState, Priority, next_state

T0 = datetime(2025, 3, 1, tzinfo=UTC)


class AlertLifecycle(RuleBasedStateMachine):
    """One alert under random actions and time steps; the model says what must hold."""

    def __init__(self) -> None:
        super().__init__()
        self.priority = Priority.HIGH
        self.state = AlertState.OPEN
        self.acked = False
        self.resolved = False
        self.now = T0
        self.taken: set[tuple[int, int]] = set()
        self.taken_after_ack: set[tuple[int, int]] = set()

    @rule(priority=st.sampled_from(list(Priority)))
    def new_episode(self, priority: Priority) -> None:
        """A trigger after resolution opens a new alert (new episode); before, it is evidence."""
        if self.state is AlertState.RESOLVED:
            self.__init__()  # type: ignore[misc]
            self.priority = priority

    @rule()
    def acknowledge(self) -> None:
        """Acknowledge: allowed unless resolved; idempotent."""
        try:
            self.state = next_state(self.state, self.priority, Action.ACKNOWLEDGE)
        except AlertStateError:
            assert self.resolved
            return
        assert not self.resolved
        self.acked = True

    @rule()
    def resolve(self) -> None:
        """Resolve: forbidden when resolved, and for high priority before an ack (latching)."""
        try:
            self.state = next_state(self.state, self.priority, Action.RESOLVE)
        except AlertStateError:
            assert self.resolved or (self.priority is Priority.HIGH and not self.acked)
            return
        assert not (self.priority is Priority.HIGH and not self.acked)
        self.resolved = True

    @precondition(lambda self: self.state is AlertState.OPEN)
    @rule(seconds=st.floats(min_value=0, max_value=900))
    def time_passes(self, seconds: float) -> None:
        """Time passes on an open alert: due steps are taken once each, in order."""
        self.now += timedelta(seconds=seconds)
        due = due_steps(DEFAULT_POLICY, self.priority, T0, self.now, self.taken)
        keys = [(s.tier, s.attempt) for s in due]
        assert len(keys) == len(set(keys))
        assert not set(keys) & self.taken  # nothing twice
        assert all(s.due_at <= self.now for s in due)
        self.taken |= set(keys)

    @invariant()
    def next_step_is_in_the_future(self) -> None:
        """After taking the due steps the next one is later than now (or there is none)."""
        if self.state is AlertState.OPEN:
            upcoming = next_due(DEFAULT_POLICY, self.priority, T0, self.taken)
            assert upcoming is None or upcoming > self.now or (not self.taken and upcoming == T0)

    @invariant()
    def state_matches_model(self) -> None:
        """The state is what the history says."""
        expected = (
            AlertState.RESOLVED
            if self.resolved
            else AlertState.ACKNOWLEDGED
            if self.acked
            else AlertState.OPEN
        )
        assert self.state is expected


AlertLifecycle.TestCase.settings = settings(max_examples=150, stateful_step_count=30, deadline=None)
TestAlertLifecycle = AlertLifecycle.TestCase
