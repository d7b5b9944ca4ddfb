"""Runs set against runs: one release, a matrix of releases, a bisect, the CI gate (never draws reports)."""
