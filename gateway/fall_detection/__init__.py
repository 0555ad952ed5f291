"""Edge fall detection from a body-worn accelerometer: rule stage, classifier, streaming detector."""

from __future__ import annotations


class FallDetectionError(Exception):
    """Root of every error raised by ``gateway.fall_detection``."""


class TrialFormatError(FallDetectionError):
    """A recording file could not be read as a trial."""


class ModelFileError(FallDetectionError):
    """A model file is missing, malformed or of an unsupported version."""


class TrainingDataError(FallDetectionError):
    """The training trials cannot fit a model (e.g. no falls or no ADL candidates)."""
