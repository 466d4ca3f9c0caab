"""Suites that cut across the apps: security, faults of outside services, concurrency, real browsers."""
