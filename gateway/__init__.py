"""The edge agent that runs in a home: device adapters, edge fall detection, the outbox, the uplink."""
