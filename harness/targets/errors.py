"""Errors a target raises when a proxy cannot be prepared, started or stopped."""

from __future__ import annotations


class TargetError(RuntimeError):
    """A target could not give a running proxy; the message says what to do about it."""


class ReleaseError(TargetError):
    """A target spec names a release that must not or cannot be used."""


class CompromisedReleaseError(ReleaseError):
    """The spec names a release known to be malicious: it is never downloaded or installed."""


class IndexUnreachableError(ReleaseError):
    """The package index could not be asked which releases it serves (network, mirror down)."""


class EnvironmentBuildError(TargetError):
    """Building the isolated environment for a gateway release failed."""


class PostgresError(TargetError):
    """The throwaway PostgreSQL server or its database could not be set up."""
