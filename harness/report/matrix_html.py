"""The matrix HTML page: scenarios × releases, drawn from a matrix document (`matrix.json`) only.

One self-contained file in the run report's style (its CSS, header, badges and cards): per
scenario and release the verdict (PASS, FAIL n/m, ERROR, SKIP, not run), linking to that
release's report.html at the check to look at, the failing checks on hover (title) and on click
(a popover), the first release where a scenario's verdict changed highlighted, and for every
scenario that fails or errors somewhere a drill-down of its checks × releases.

Like the run report it is a pure function of the document (no clock, no file system), so
`gateconform report matrix.json --html matrix.html` re-renders it byte for byte. Links to the
per-release reports are relative: `base` is the matrix folder as seen from the page.
"""

from __future__ import annotations

import json
import os
import posixpath
from dataclasses import dataclass, field
from pathlib import Path

from harness.gateways import registry
from harness.model.matrix import NOT_RUN, CheckRow, MatrixDocument, ScenarioRow
from harness.report.matrix_text import CHANGE_MARK, cell_text
from harness.common.files import write_text
from harness.common.redact import Redactor, redact_strings
from harness.report.html import _environment
from harness.report.names import HTML_NAME
from harness.report.wording import (
    anchor_for,
    duration_text,
    issue_label,
    outcome_rank,
    seconds_between,
    timestamp_text,
)

#: Cell states, worst first: what a reader must look at comes first.
STATE_ORDER = {"fail": 0, "error": 1, NOT_RUN: 2, "skip": 3, "pass": 4}
STATE_CLASS = {"fail": "fail", "error": "error", "skip": "skip", "pass": "pass", NOT_RUN: "none"}


@dataclass
class FailingCheck:
    """A check that failed or errored on one release, as the cell's popover lists it."""

    title: str
    outcome: str
    expected: str
    observed: str
    message: str
    href: str | None


@dataclass
class MatrixCell:
    """One scenario on one release."""

    version: str
    state: str  # pass | fail | error | skip | not run
    css: str  # pass | fail | error | skip | none
    text: str  # PASS, FAIL 2/7, ERROR, SKIP, not run
    note: str  # a second line: "not applicable", "1 error", "not run" reason …
    href: str | None  # the release's report.html at the check to look at
    tooltip: str
    changed: bool
    first_change: bool
    was: str | None  # the verdict before the change (for "▲ was PASS")
    failing: list[FailingCheck] = field(default_factory=list)
    error: str | None = None  # why the scenario could not run at all (then every check errored)
    popover_id: str = ""

    @property
    def popover_label(self) -> str:
        """What the button that opens the failing checks says."""
        if self.error:
            return "why"
        noun = "failing" if self.state == "fail" else ("error" if len(self.failing) == 1 else "errors")
        return f"{len(self.failing)} {noun}"


@dataclass
class ReleaseHead:
    """One release column: its report and how the run went."""

    version: str
    proxy_version: str | None
    overall: str
    elapsed: str
    href: str | None
    error: str | None


@dataclass
class CheckCell:
    """One check on one release (drill-down)."""

    version: str
    outcome: str  # pass | fail | error | skip | not run
    css: str
    observed: str
    message: str
    href: str | None
    changed: bool
    first_change: bool
    #: the same outcome as the release before, but seen differently (a 401 that became a 403 …)
    observed_changed: bool = False


@dataclass
class CheckLine:
    check_id: str
    title: str
    expected: str
    cells: list[CheckCell]
    ever_failed: bool


@dataclass
class MatrixRow:
    """One scenario across releases."""

    id: str
    title: str
    path: str | None
    issue: str | None
    issue_label: str | None
    worst: str
    cells: list[MatrixCell]
    first_change: str | None
    change_text: str  # "skip on 1.81.11 → FAIL 3/7 on 1.81.12", "" when it never changed
    checks: list[CheckLine]
    anchor: str = ""

    @property
    def drill(self) -> bool:
        """Shown in the drill-down: it fails or errors on some release."""
        return self.worst in ("fail", "error")


@dataclass
class MatrixPage:
    overall: str
    versions: list[str]
    proxy_name: str  # the title of the gateway whose releases these are
    releases: list[ReleaseHead]
    rows: list[MatrixRow]  # worst first
    cell_counts: dict[str, int]
    changed: list[MatrixRow]
    release_errors: list[ReleaseHead]
    started_at: str
    finished_at: str
    duration: str
    jobs: int
    machine: dict
    harness_version: str
    schema_version: str

    @property
    def drilled(self) -> list[MatrixRow]:
        return [row for row in self.rows if row.drill]


def normalized(document: MatrixDocument) -> MatrixDocument:
    """`document` as its matrix.json reads back, every string redacted again (last line of defence)."""
    data = json.loads(document.model_dump_json())
    return MatrixDocument.model_validate(redact_strings(data, Redactor().redact))


def release_report(document: MatrixDocument, version: str, base: str = "") -> str | None:
    """The relative address of a release's report.html (next to its results.json), or None."""
    column = document.releases.get(version)
    if column is None or not column.results:
        return None
    folder = posixpath.dirname(column.results.replace("\\", "/"))
    return posixpath.join(base, folder, HTML_NAME)


def _skip_reason(check: CheckRow, version: str) -> str:
    """Why `check` was skipped on `version`; a document written before `skip_reasons` has only the sentence."""
    if version in check.skip_reasons:
        return check.skip_reasons[version]
    message = check.messages[version]
    return message.split("skipped: ", 1)[1] if "skipped: " in message else message


def build_matrix_page(document: MatrixDocument, base: str = "") -> MatrixPage:
    """The page's view of a matrix document (pure: same document and base, same view)."""
    document = normalized(document)
    versions = list(document.versions)
    reports = {v: release_report(document, v, base) for v in versions}
    releases = []
    for version in versions:
        column = document.releases.get(version)
        releases.append(ReleaseHead(
            version=version,
            proxy_version=column.proxy_version if column else None,
            overall=column.overall if column else NOT_RUN,
            elapsed=duration_text(column.elapsed_s) if column and column.elapsed_s else "",
            href=reports[version],
            error=column.error if column else "not in the matrix document",
        ))
    rows = [_row(document, row, versions, reports) for row in document.scenarios]
    rows.sort(key=lambda r: STATE_ORDER.get(r.worst, len(STATE_ORDER)))
    for number, row in enumerate(rows, start=1):
        row.anchor = f"m-{number}"
        for cell in row.cells:
            cell.popover_id = f"{row.anchor}-{versions.index(cell.version)}"
    # every (scenario, release) cell, by verdict
    counts = {state: 0 for state in ("fail", "error", "pass", "skip", NOT_RUN)}
    for row in rows:
        for cell in row.cells:
            counts[cell.state] = counts.get(cell.state, 0) + 1
    return MatrixPage(
        overall=document.overall,
        versions=versions,
        proxy_name=registry.default_gateway().title,  # a matrix runs the default gateway's releases
        releases=releases,
        rows=rows,
        cell_counts=counts,
        changed=[row for row in rows if row.first_change],
        release_errors=[r for r in releases if r.error],
        started_at=timestamp_text(document.started_at),
        finished_at=timestamp_text(document.finished_at),
        duration=_duration(document.started_at, document.finished_at),
        jobs=document.jobs,
        machine=document.machine.model_dump(),
        harness_version=document.harness_version,
        schema_version=document.schema_version,
    )


def _duration(start: str | None, end: str | None) -> str:
    return duration_text(seconds_between(start, end))


def _row(document: MatrixDocument, row: ScenarioRow, versions: list[str], reports: dict[str, str | None]) -> MatrixRow:
    states = [row.cells.get(v, NOT_RUN) for v in versions]
    worst = min(states, key=lambda s: STATE_ORDER.get(s, len(STATE_ORDER)), default=NOT_RUN)
    cells = [_cell(document, row, v, reports[v]) for v in versions]
    change_text = ""
    if row.first_change:
        first = next(c for c in cells if c.version == row.first_change)
        previous = _previous_version(row, first.version, versions)
        change_text = f"{first.was or '?'} on {previous or '?'} → {first.text} on {first.version}"
    return MatrixRow(
        id=row.id, title=row.title, path=row.path, issue=row.issue, issue_label=issue_label(row.issue),
        worst=worst, cells=cells, first_change=row.first_change, change_text=change_text,
        checks=_check_lines(row, versions, reports),
    )


def _previous_version(row: ScenarioRow, version: str, versions: list[str]) -> str | None:
    """The closest earlier release the scenario ran on (what a change is measured against)."""
    before = versions[: versions.index(version)]
    return next((v for v in reversed(before) if row.cells.get(v, NOT_RUN) != NOT_RUN), None)


def _previous_word(row: ScenarioRow, version: str, versions: list[str]) -> str | None:
    """The verdict on the closest earlier release that ran (what a change changed from)."""
    previous = _previous_version(row, version, versions)
    return cell_text(row, previous) if previous else None


def _cell(document: MatrixDocument, row: ScenarioRow, version: str, report: str | None) -> MatrixCell:
    state = row.cells.get(version, NOT_RUN)
    text = cell_text(row, version)
    failing = []
    for check in sorted(row.checks, key=lambda c: outcome_rank(c.outcomes.get(version, NOT_RUN))):
        outcome = check.outcomes.get(version, NOT_RUN)
        if outcome in ("fail", "error"):
            failing.append(FailingCheck(
                title=check.title, outcome=outcome, expected=check.expected,
                observed=check.observed.get(version, ""), message=check.messages.get(version, ""),
                href=f"{report}#{anchor_for(check.id)}" if report else None,
            ))
    checks_run = [c for c in row.checks if c.outcomes.get(version, NOT_RUN) != NOT_RUN]
    note, tooltip = "", ""
    if state == "fail":
        errors = sum(1 for f in failing if f.outcome == "error")
        note = f"{errors} error{'s' if errors != 1 else ''}" if errors else ""
        tooltip = f"{text} on {version}: {len(failing) - errors} of {len(row.checks)} checks failed"
    elif state == "error":
        reason = row.errors.get(version) or (failing[0].message if failing else "")
        note = "did not run" if row.errors.get(version) else f"{len(failing)}/{len(row.checks)} could not tell"
        tooltip = f"ERROR on {version}: {reason}" if reason else f"ERROR on {version}"
    elif state == "skip":
        reason = next((_skip_reason(c, version) for c in row.checks if version in c.messages), "")
        note = "not applicable"
        tooltip = f"SKIP on {version}, not applicable: {reason}" if reason else f"SKIP on {version}: not applicable"
    elif state == "pass":
        skipped = sum(1 for c in checks_run if c.outcomes.get(version) == "skip")
        note = f"{skipped} skipped" if skipped else ""
        tooltip = f"PASS on {version}: {len(checks_run) - skipped} of {len(row.checks)} checks passed"
    else:
        column = document.releases.get(version)
        reason = column.error if column and column.error else "the scenario has no result on this release"
        tooltip = f"not run on {version}: {reason}"
    if failing and not row.errors.get(version):
        tooltip += "".join(
            f"\n{'✗' if f.outcome == 'fail' else '!'} {f.title}: expected {f.expected}, saw {f.observed}"
            for f in failing
        )
    changed = version in row.changes
    first = version == row.first_change
    was = _previous_word(row, version, list(document.versions)) if changed else None
    if changed:
        tooltip += f"\n{CHANGE_MARK} {'first change' if first else 'changed'}: was {was} on the release before"
    target = failing[0] if failing else None
    if report and target is None and checks_run:
        href = f"{report}#{anchor_for(checks_run[0].id)}"
    elif target is not None:
        href = target.href
    else:
        href = report
    return MatrixCell(
        version=version, state=state, css=STATE_CLASS.get(state, "none"), text=text, note=note,
        href=href, tooltip=tooltip, changed=changed, first_change=first, was=was, failing=failing,
        error=row.errors.get(version),
    )


def _check_lines(row: ScenarioRow, versions: list[str], reports: dict[str, str | None]) -> list[CheckLine]:
    lines = []
    for check in row.checks:
        cells: list[CheckCell] = []
        for version in versions:
            outcome = check.outcomes.get(version, NOT_RUN)
            observed = check.observed.get(version, "")
            if outcome == "skip":
                observed = "skipped"
            elif outcome == NOT_RUN:
                observed = NOT_RUN
            report = reports[version]
            cells.append(CheckCell(
                version=version, outcome=outcome, css=STATE_CLASS.get(outcome, "none"), observed=observed,
                message=check.messages.get(version, ""),
                href=f"{report}#{anchor_for(check.id)}" if report and outcome != NOT_RUN else None,
                changed=version in check.changes, first_change=bool(check.changes) and version == check.changes[0],
            ))
            ran = [c for c in cells[:-1] if c.outcome != NOT_RUN]
            here = cells[-1]
            if ran and here.outcome == ran[-1].outcome and here.outcome != NOT_RUN and here.observed != ran[-1].observed:
                here.observed_changed = True
        lines.append(CheckLine(
            check_id=check.id, title=check.title, expected=check.expected, cells=cells,
            ever_failed=any(c.outcome in ("fail", "error") for c in cells),
        ))
    return lines


def render_matrix_html(document: MatrixDocument, base: str = "") -> str:
    """The matrix page of `document`; the same document and base always give the same text.

    `base` is the matrix folder relative to where the page is written ("" when it is written
    into that folder, as `gateconform matrix` does).
    """
    return _environment().get_template("matrix.html.j2").render(m=build_matrix_page(document, base))


def write_matrix_html(document: MatrixDocument, path: Path, matrix_folder: Path | None = None) -> Path:
    """Write the page to `path` (all or nothing); its links to each release's report.html are relative.

    `matrix_folder` is where matrix.json and the per-release folders are (default: next to
    `path`, as `gateconform matrix` writes it).
    """
    path = Path(path)
    base = ""
    if matrix_folder is not None:
        relative = os.path.relpath(Path(matrix_folder).resolve(), path.resolve().parent)
        base = "" if relative == "." else Path(relative).as_posix()
    return write_text(path, render_matrix_html(document, base))
