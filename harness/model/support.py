"""Which releases start: the support document of `gateconform releases --check` (`support.json`).

One row per release checked (by default one per minor version, its newest patch), each booted
with a trivial scenario: it **starts**, **starts with substitutions** (the package index does not
serve what it pins; what stood in is named) or **cannot start**, and why. Pure data.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

import harness
from harness.model.results import Machine, now_iso

SUPPORT_SCHEMA = "gateconform.support/1"

STARTS = "starts"
STARTS_WITH_SUBSTITUTIONS = "starts with substitutions"
CANNOT_START = "cannot start"
STATUSES = (STARTS, STARTS_WITH_SUBSTITUTIONS, CANNOT_START)


class SupportRow(BaseModel):
    """One release: whether it started, on which dependencies, and what stood in for what."""

    version: str
    status: str
    #: why it cannot start (the telling line of its install or boot failure)
    why: str | None = None
    #: the trivial scenario's verdict once started (`pass`, `fail`, `error`)
    verdict: str | None = None
    #: the dependencies it started on: `today` or `as-released`
    deps: str | None = None
    #: how those were dated (as released), and why today's did not do (a retry)
    deps_note: str | None = None
    substitutions: list[str] = Field(default_factory=list)
    elapsed_s: float | None = None
    #: its results document, relative to the support folder
    results: str | None = None

    @property
    def started(self) -> bool:
        return self.status != CANNOT_START


class SupportDocument(BaseModel):
    """A support check: the releases asked for, how they were sampled, a row per release checked."""

    schema_version: str = SUPPORT_SCHEMA
    harness_version: str = harness.__version__
    started_at: str = Field(default_factory=now_iso)
    finished_at: str | None = None
    machine: Machine = Field(default_factory=Machine.current)
    gateway: str | None = None
    #: what was asked for (`1.40..newest`) and how it was sampled (`minor`: newest patch of each)
    selection: str = ""
    sample: str | None = None
    rows: list[SupportRow] = Field(default_factory=list)
    #: what the selection left out and why (minors without a listed release, compromised ones)
    notes: list[str] = Field(default_factory=list)

    @property
    def started_count(self) -> int:
        return sum(1 for row in self.rows if row.started)

    @property
    def share_started(self) -> float:
        """Share of checked releases that start (with or without substitutions), 0..1."""
        return self.started_count / len(self.rows) if self.rows else 0.0

    def count(self, status: str) -> int:
        return sum(1 for row in self.rows if row.status == status)
