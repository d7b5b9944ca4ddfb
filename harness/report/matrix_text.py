"""The matrix for people: a terminal table and Markdown, scenarios × releases.

Each cell is the scenario's verdict on that release (PASS, FAIL n/m, ERROR, SKIP); a cell whose
verdict differs from the release before it is marked ▲, and the first such release of a row is
"where it changed". Only `MatrixDocument` is read, never a proxy. The HTML page is
`harness.report.matrix_html`, which shares these cell words.
"""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from harness.model.matrix import NOT_RUN, MatrixDocument, ScenarioRow
from harness.report.terminal import OUTCOME_STYLE, deps_lines, substitution_lines

CHANGE_MARK = "▲"
#: A change line names at most this many checks (the Markdown detail table has them all).
MAX_CHECKS_NAMED = 4
_STYLE = {**OUTCOME_STYLE, NOT_RUN: "dim"}


def cell_text(row: ScenarioRow, version: str) -> str:
    """`FAIL 3/7` (failed checks / checks), `PASS`, `SKIP`, `ERROR`, `not run`."""
    cell = row.cells.get(version, NOT_RUN)
    if cell == "fail":
        failed = sum(1 for check in row.checks if check.outcomes.get(version) == "fail")
        return f"FAIL {failed}/{len(row.checks)}"
    return cell if cell == NOT_RUN else cell.upper()


def terminal_table(document: MatrixDocument) -> Table:
    """Scenarios × releases, changed cells marked and reversed, one footer line per release."""
    table = Table(title="scenarios × releases", title_justify="left")
    table.add_column("scenario", overflow="fold")
    for version in document.versions:
        table.add_column(version, justify="center", no_wrap=True)
    for row in document.scenarios:
        cells = []
        for version in document.versions:
            style = _STYLE.get(row.cells.get(version, NOT_RUN), "")
            text = cell_text(row, version)
            if version == row.first_change:
                cells.append(f"[{style} reverse]{CHANGE_MARK} {text}[/]")
            elif version in row.changes:
                cells.append(f"[{style}]{CHANGE_MARK} {text}[/]")
            else:
                cells.append(f"[{style}]{text}[/]")
        table.add_row(escape(row.id), *cells)
    table.add_row("[dim]time[/]", *[f"[dim]{_seconds(document, v)}[/]" for v in document.versions])
    return table


def _seconds(document: MatrixDocument, version: str) -> str:
    elapsed = document.releases[version].elapsed_s if version in document.releases else None
    return f"{elapsed:.0f} s" if elapsed else "–"


def change_lines(document: MatrixDocument) -> list[str]:
    """One sentence per scenario whose verdict changed, naming the first release where it did."""
    lines = []
    for row in document.scenarios:
        if not row.changes:
            continue
        index = document.versions.index(row.first_change or "")
        before = document.versions[:index]
        previous = next((v for v in reversed(before) if row.cells.get(v) != NOT_RUN), None)
        was = row.cells.get(previous, "?") if previous else "?"
        checks = [c.title for c in row.checks if row.first_change in c.changes]
        shown = checks[:MAX_CHECKS_NAMED] + ([f"{len(checks) - MAX_CHECKS_NAMED} more"]
                                             if len(checks) > MAX_CHECKS_NAMED else [])
        detail = f" ({'; '.join(shown)})" if checks else ""
        lines.append(
            f"{row.id}: {was} on {previous} → {row.cells[row.first_change or '']} on {row.first_change}{detail}"
        )
    return lines


def release_errors(document: MatrixDocument) -> list[str]:
    """Releases that could not be tested, with the first line of why."""
    return [f"{c.version}: {c.error}" for c in document.releases.values() if c.error]


def print_matrix(document: MatrixDocument, out: Console, **_: object) -> None:
    """The matrix on the terminal: the table, where verdicts changed, what could not be tested, and
    which releases ran with dependencies as released."""
    out.print(terminal_table(document))
    for line in change_lines(document):
        out.print(f"changed: {escape(line)}", highlight=False)
    for line in release_errors(document):
        out.print(f"[bold magenta]could not test[/] {escape(line)}", highlight=False)
    for line in deps_lines(document.releases.values()) + substitution_lines(document.releases.values()):
        out.print(escape(line), highlight=False)


def markdown(document: MatrixDocument) -> str:
    """The matrix as Markdown: the table, where verdicts changed, and per-check detail of changes."""
    versions = document.versions
    lines = [
        "# gateconform matrix",
        "",
        f"{len(document.scenarios)} scenario(s) × {len(versions)} release(s), "
        f"{document.started_at} – {document.finished_at or '?'}, {document.jobs} at a time on "
        f"{document.machine.cores or '?'} cores. {CHANGE_MARK} = the verdict differs from the release before; "
        "**bold** = the first release where it changed.",
        "",
        "| scenario | " + " | ".join(versions) + " |",
        "|---|" + "---|" * len(versions),
    ]
    for row in document.scenarios:
        cells = []
        for version in versions:
            text = cell_text(row, version)
            if version == row.first_change:
                text = f"**{CHANGE_MARK} {text}**"
            elif version in row.changes:
                text = f"{CHANGE_MARK} {text}"
            cells.append(text)
        lines.append(f"| `{row.id}` | " + " | ".join(cells) + " |")
    lines.append("| time | " + " | ".join(_seconds(document, v) for v in versions) + " |")
    changes = change_lines(document)
    if changes:
        lines += ["", "## Where verdicts changed", ""] + [f"- {line}" for line in changes]
    errors = release_errors(document)
    if errors:
        lines += ["", "## Releases that could not be tested", ""] + [f"- {line}" for line in errors]
    substituted = substitution_lines(document.releases.values())
    if substituted:
        lines += ["", "## Releases installed with substitutions", ""] + [f"- {line}" for line in substituted]
    lines += _changed_checks_markdown(document)
    return "\n".join(lines) + "\n"


def _changed_checks_markdown(document: MatrixDocument) -> list[str]:
    """Per scenario with a change: each check whose outcome changed, observed per release."""
    out: list[str] = []
    for row in document.scenarios:
        changed = [check for check in row.checks if check.changes]
        if not changed:
            continue
        out += ["", f"### `{row.id}`", "", "| check | expected | " + " | ".join(document.versions) + " |",
                "|---|---|" + "---|" * len(document.versions)]
        for check in changed:
            cells = [_outcome_text(check.outcomes.get(v, NOT_RUN), check.observed.get(v, ""))
                     for v in document.versions]
            cells = [f"**{c}**" if v in check.changes else c for c, v in zip(cells, document.versions)]
            out.append(f"| {check.title} | {check.expected} | " + " | ".join(_md(c) for c in cells) + " |")
    return out


def _outcome_text(outcome: str, observed: str) -> str:
    """`fail: allowed (200)`; `skipped` and `not run` alone (their observed text says nothing more)."""
    if outcome in ("skip", NOT_RUN):
        return "skipped" if outcome == "skip" else NOT_RUN
    return f"{outcome}: {observed}" if observed else outcome


def _md(text: str) -> str:
    return text.replace("|", "\\|")
