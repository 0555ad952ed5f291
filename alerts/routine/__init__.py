"""Inactivity and routine learned per person: event stream, baseline, detectors, evaluation."""

from alerts.routine.baseline import RoutineBaseline
from alerts.routine.detectors import RoutineDetector, RoutineFinding, RoutineStatus
from alerts.routine.errors import DataFormatError, RoutineError
from alerts.routine.events import SensorEvent, from_reading
from alerts.routine.loaders import Recording, load_recording

__all__ = [
    "DataFormatError",
    "Recording",
    "RoutineBaseline",
    "RoutineDetector",
    "RoutineError",
    "RoutineFinding",
    "RoutineStatus",
    "SensorEvent",
    "from_reading",
    "load_recording",
]
