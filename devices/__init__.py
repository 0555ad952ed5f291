"""Device catalog, the MQTT wire contract (topics, payloads, codec) and the home simulators.

This package imports no other Anxin package: gateway and cloud share only what is here.
"""
