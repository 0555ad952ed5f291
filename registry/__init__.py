"""The system of record: care stations, homes, residents, gateways, devices, people and roles."""
