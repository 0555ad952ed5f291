"""Detectors, the alert lifecycle and the live feed of alert changes."""
