"""Which releases start: boot each chosen release with a trivial scenario and say how it went.

`gateconform releases --check A..B --sample minor` runs this: one proxy per release (a matrix of
one scenario, `run_matrix`, dependencies `auto`: today's, then as released), then one row per
release in a `SupportDocument`: **starts**, **starts with substitutions** (what stood in for
what the index does not serve is named) or **cannot start**, with the telling line of why.

The scenario is the smallest that shows a proxy really works: a key limited to one of two
models can call it and is denied the other (provisioning, the database, routing to the
upstream and the key's limits all take part).
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from harness.compare.matrix import run_matrix
from harness.compare.release_run import DEPS_AUTO, ReleaseRun, did_not_start
from harness.engine.events import EventSink
from harness.model.results import now_iso
from harness.model.scenario import Scenario
from harness.model.support import (
    CANNOT_START,
    STARTS,
    STARTS_WITH_SUBSTITUTIONS,
    SupportDocument,
    SupportRow,
)

TRIVIAL_SCENARIO = """\
id: release-starts
title: The proxy starts and limits a key to its models
models: [gpt-4o-mini, gpt-4o]
keys:
  - name: limited
    models: [gpt-4o-mini]
expect:
  limited:
    can_call: [gpt-4o-mini]
    cannot_call: [gpt-4o]
"""


def trivial_scenario() -> Scenario:
    """The scenario every checked release boots with (the default gateway's vocabulary)."""
    from harness.scenario.loader import parse_scenario

    return parse_scenario(TRIVIAL_SCENARIO, path="release-starts.yaml")


def support_row(run: ReleaseRun, results: str | None = None) -> SupportRow:
    """How one release went: started (with substitutions or not) or not, and why."""
    result = run.result
    why = did_not_start(result)
    if why is not None:
        status = CANNOT_START
    else:
        status = STARTS_WITH_SUBSTITUTIONS if result.substitutions else STARTS
    notes = [note for note in (result.deps_dating, result.deps_fallback) if note]
    return SupportRow(
        version=run.version,
        status=status,
        why=why,
        verdict=None if why is not None else (result.scenarios[0].overall if result.scenarios else None),
        deps=run.deps,
        deps_note="; ".join(notes) or None,
        substitutions=list(result.substitutions or []),
        elapsed_s=round(run.elapsed_s, 1),
        results=results,
    )


def run_support_check(
    versions: Sequence[str],
    folder: Path,
    jobs: int,
    events: EventSink,
    *,
    gateway: str,
    selection: str = "",
    sample: str | None = None,
    notes: Sequence[str] = (),
    deps: str = DEPS_AUTO,
) -> SupportDocument:
    """Boot every release of `versions` with the trivial scenario (`jobs` at a time); the support document.

    Each release's results document is written under `<folder>/<version>/`; the document itself
    is the caller's to write (`store.documents.write_support`).
    """
    document = SupportDocument(gateway=gateway, selection=selection, sample=sample, notes=list(notes))
    finished = run_matrix(versions, [trivial_scenario()], folder, jobs, events, deps)
    for version in versions:
        run = finished.runs.get(version)
        if run is None:
            continue
        results = f"{version}/results.json" if run.results_path is not None else None
        document.rows.append(support_row(run, results))
    document.finished_at = now_iso()
    return document

