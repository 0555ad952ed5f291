"""Ingest: the cloud consumer (MQTT in, validate, quarantine, dedupe, batch, ack) and the stores."""
