"""The matrix document: scenarios × releases, folded from per-release results documents.

`build_matrix` folds the results documents of a matrix run (`harness.compare.matrix`) into the
combined document (`matrix.json`, schema `gateconform.matrix/1`):

    versions   the releases, oldest first (the column order)
    shard      in a shard's document only: {index, count, versions, scenario_order, cells} (`ShardInfo`)
    releases   version → {results (relative path), run_id, proxy_version, overall, elapsed_s, error,
                          deps (today | as-released), deps_fallback (why today's did not start)}
    scenarios  [{id, title, path, issue, cells: {version: pass|fail|error|skip|not run},
                 changes: [versions where the cell differs from the previous release],
                 errors: {version: why the scenario could not run (first line)},
                 checks: [{id, title, expected, outcomes: {version: …}, observed: {version: …},
                           messages: {version: the verdict's sentence, for fail|error|skip},
                           skip_reasons: {version: why the check was skipped},
                           changes: […]}]}]

`changes[0]` is the first release where a verdict changed; the terminal table, the Markdown and
the HTML page (`harness.report.matrix_html`) mark it. Everything in it comes from the per-release results documents, so a matrix can be
rebuilt from them without any proxy.
"""

from __future__ import annotations

from typing import Mapping, Sequence

from pydantic import BaseModel, Field

import harness
from harness.model.results import Machine, RunResult, ScenarioResult, now_iso

MATRIX_SCHEMA = "gateconform.matrix/1"
NOT_RUN = "not run"


# --------------------------------------------------------------------------- the document


class CheckRow(BaseModel):
    """One check across releases."""

    id: str
    title: str
    expected: str
    outcomes: dict[str, str] = Field(default_factory=dict)
    observed: dict[str, str] = Field(default_factory=dict)
    changes: list[str] = Field(default_factory=list)
    #: why it failed, errored or was skipped, per release (a pass says nothing more than `observed`)
    messages: dict[str, str] = Field(default_factory=dict)
    #: why it was skipped, per release, as the check says it (empty in documents written before it)
    skip_reasons: dict[str, str] = Field(default_factory=dict)


class ScenarioRow(BaseModel):
    """One scenario across releases."""

    id: str
    title: str
    path: str | None = None
    issue: str | None = None
    cells: dict[str, str] = Field(default_factory=dict)
    changes: list[str] = Field(default_factory=list)
    checks: list[CheckRow] = Field(default_factory=list)
    #: the first line of why the scenario could not run on a release (its proxy did not start …)
    errors: dict[str, str] = Field(default_factory=dict)

    @property
    def first_change(self) -> str | None:
        """The first release whose verdict differs from the release before it."""
        return self.changes[0] if self.changes else None


class ReleaseColumn(BaseModel):
    """One release: where its results document is and how it went."""

    version: str
    results: str | None = None  # relative to the matrix folder
    run_id: str | None = None
    proxy_version: str | None = None
    overall: str = NOT_RUN
    elapsed_s: float | None = None
    error: str | None = None  # why the release could not be tested (install or boot)
    #: the dependencies its verdicts come from: `today` or `as-released` (absent in older documents)
    deps: str | None = None
    #: set when today's dependencies did not start and it was retried as released: why
    deps_fallback: str | None = None
    #: what was installed in place of what the release pins (absent: installed as published)
    substitutions: list[str] | None = None


class ShardInfo(BaseModel):
    """What one shard of a matrix ran (`matrix --shard K/N`), so `gateconform merge` can join the shards.

    `versions` and `scenario_order` are the whole matrix's (every shard has the same), `cells`
    the (release → scenario ids) slice this shard ran.
    """

    index: int  # K, from 1
    count: int  # N
    versions: list[str] = Field(default_factory=list)
    scenario_order: list[str] = Field(default_factory=list)
    cells: dict[str, list[str]] = Field(default_factory=dict)

    @property
    def label(self) -> str:
        """`2/4`."""
        return f"{self.index}/{self.count}"

    def holds(self, version: str, scenario_id: str) -> bool:
        """Whether this shard ran `scenario_id` on `version`."""
        return scenario_id in self.cells.get(version, ())


class MatrixDocument(BaseModel):
    """The combined results of a matrix run (of one shard of it, when `shard` is set)."""

    schema_version: str = MATRIX_SCHEMA
    harness_version: str = harness.__version__
    started_at: str = Field(default_factory=now_iso)
    finished_at: str | None = None
    machine: Machine = Field(default_factory=Machine.current)
    jobs: int = 1
    versions: list[str] = Field(default_factory=list)
    releases: dict[str, ReleaseColumn] = Field(default_factory=dict)
    scenarios: list[ScenarioRow] = Field(default_factory=list)
    #: set in a shard's document: which slice of the matrix it ran (absent: the whole matrix)
    shard: ShardInfo | None = None

    @property
    def overall(self) -> str:
        """fail if any cell failed, else error if any cell errored or a release did not run, else pass.

        A shard's document counts only its own cells (the others are other shards' to run).
        """
        shard = self.shard
        cells = [cell for row in self.scenarios for version, cell in row.cells.items()
                 if shard is None or shard.holds(version, row.id)]
        if "fail" in cells:
            return "fail"
        if "error" in cells or NOT_RUN in cells or not cells:
            return "error"
        return "pass"


def scenario_cell(scenario: ScenarioResult) -> str:
    """One word for a scenario on one release: fail > error > pass; all skipped is `skip`."""
    if scenario.verdicts and all(v.outcome.value == "skip" for v in scenario.verdicts):
        return "skip"
    return scenario.overall


def change_points(values: Sequence[tuple[str, str]]) -> list[str]:
    """Versions whose value differs from the previous version's (`not run` cells are ignored)."""
    changes: list[str] = []
    previous: str | None = None
    for version, value in values:
        if value == NOT_RUN:
            continue
        if previous is not None and value != previous:
            changes.append(version)
        previous = value
    return changes


def build_matrix(
    versions: Sequence[str],
    runs: Mapping[str, RunResult],
    results_paths: Mapping[str, str] | None = None,
    elapsed: Mapping[str, float] | None = None,
    jobs: int = 1,
    started_at: str | None = None,
) -> MatrixDocument:
    """Fold per-release results documents into the combined matrix (pure: no proxy, no files)."""
    document = MatrixDocument(jobs=jobs, versions=list(versions))
    if started_at is not None:
        document.started_at = started_at
    rows: dict[str, ScenarioRow] = {}
    check_rows: dict[tuple[str, str], CheckRow] = {}
    for version in versions:
        run = runs.get(version)
        document.releases[version] = _release_column(version, run, results_paths, elapsed)
        for scenario in run.scenarios if run is not None else []:
            row = rows.setdefault(scenario.id, ScenarioRow(id=scenario.id, title=scenario.title, path=scenario.path,
                                                           issue=scenario.issue))
            row.cells[version] = scenario_cell(scenario)
            if scenario.error and scenario.error.strip():
                row.errors[version] = scenario.error.strip().splitlines()[0]
            for verdict in scenario.verdicts:
                key = (scenario.id, verdict.check_id)
                check = check_rows.get(key)
                if check is None:
                    check = check_rows[key] = CheckRow(id=verdict.check_id, title=verdict.title,
                                                       expected=verdict.expected)
                    row.checks.append(check)
                check.outcomes[version] = verdict.outcome.value
                check.observed[version] = verdict.observed
                if verdict.outcome.value != "pass":
                    check.messages[version] = verdict.message
                if verdict.outcome.value == "skip" and verdict.check.skip_reason:
                    check.skip_reasons[version] = verdict.check.skip_reason
    for row in rows.values():
        _fill_and_mark(row.cells, versions)
        row.changes = change_points([(v, row.cells[v]) for v in versions])
        for check in row.checks:
            _fill_and_mark(check.outcomes, versions)
            check.changes = change_points([(v, check.outcomes[v]) for v in versions])
    document.scenarios = list(rows.values())
    document.finished_at = now_iso()
    return document


def _fill_and_mark(cells: dict[str, str], versions: Sequence[str]) -> None:
    for version in versions:
        cells.setdefault(version, NOT_RUN)


def _release_column(
    version: str, run: RunResult | None, paths: Mapping[str, str] | None, elapsed: Mapping[str, float] | None
) -> ReleaseColumn:
    if run is None:
        return ReleaseColumn(version=version, error="no results (the release was not run)")
    errors = [s.error for s in run.scenarios if s.error]
    return ReleaseColumn(
        version=version,
        results=(paths or {}).get(version),
        run_id=run.run_id,
        proxy_version=run.proxy_version,
        overall=run.overall,
        elapsed_s=round((elapsed or {}).get(version, 0.0), 1) or None,
        error=errors[0].splitlines()[0] if errors else None,
        deps=run.deps,
        deps_fallback=run.deps_fallback,
        substitutions=run.substitutions,
    )
