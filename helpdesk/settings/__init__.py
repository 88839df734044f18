"""Settings split by environment: base, local, production, test.

Everything that differs between deployments is read from the environment
(see docs/configuration.md).
"""
