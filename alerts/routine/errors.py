"""Errors of the routine detectors, under the alerts package's one root."""

from __future__ import annotations

from alerts.errors import AlertError


class RoutineError(AlertError):
    """Root of every error raised by ``alerts.routine``."""


class DataFormatError(RoutineError):
    """A recording could not be read: missing file, unknown format or no usable rows."""
