"""Targets: a proxy under test and how it is started (local PyPI version, docker image, url)."""
