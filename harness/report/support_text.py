"""Which releases start, as a Markdown table (`support.md`, the README's table) and in the terminal."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from harness.model.support import CANNOT_START, STARTS, STARTS_WITH_SUBSTITUTIONS, SupportDocument, SupportRow
from harness.report.terminal import one_line

STATUS_STYLE = {STARTS: "green", STARTS_WITH_SUBSTITUTIONS: "yellow", CANNOT_START: "bold red"}


def summary(document: SupportDocument) -> str:
    """`55 of 57 releases start (96 %): 52 as published, 3 with substitutions; 2 cannot start`."""
    total = len(document.rows)
    share = f" ({document.share_started * 100:.0f} %)" if total else ""
    return (f"{document.started_count} of {total} release(s) start{share}: "
            f"{document.count(STARTS)} as published, {document.count(STARTS_WITH_SUBSTITUTIONS)} with substitutions; "
            f"{document.count(CANNOT_START)} cannot start")


def details(row: SupportRow) -> str:
    """What to know about one release: why it cannot start, or its verdict, dependencies and substitutions."""
    if row.status == CANNOT_START:
        parts = [f"why: {row.why or 'unknown'}"]
    else:
        parts = [f"trivial scenario {(row.verdict or 'not judged').upper()}"]
    if row.deps == "as-released":
        parts.append(f"dependencies as released{f' ({row.deps_note})' if row.deps_note else ''}")
    if row.substitutions:
        parts.append("substitutions: " + "; ".join(row.substitutions))
    return "; ".join(parts)


def markdown(document: SupportDocument) -> str:
    """The support table in Markdown: one row per release, then the summary and what was left out."""
    sampled = f", one per {document.sample} (its newest release)" if document.sample else ""
    lines = [
        f"Releases {document.selection or 'checked'}{sampled}, each booted with a trivial scenario "
        f"(a key limited to one of two models calls it and is denied the other).",
        "",
        "| release | outcome | details |",
        "|---|---|---|",
    ]
    for row in document.rows:
        lines.append(f"| {row.version} | {row.status} | {_cell(details(row))} |")
    lines += ["", summary(document) + "."]
    lines += [f"- {note}" for note in document.notes]
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    return one_line(text, 400).replace("|", "\\|")


def print_support(document: SupportDocument, out: Console) -> None:
    """The support table in the terminal, then the summary and notes."""
    table = Table(title="which releases start", title_justify="left")
    for column in ("release", "outcome", "details", "time"):
        table.add_column(column, overflow="fold")
    for row in document.rows:
        style = STATUS_STYLE.get(row.status, "")
        table.add_row(row.version, f"[{style}]{row.status}[/]", escape(one_line(details(row), 240)),
                      f"{row.elapsed_s or 0:.0f} s")
    out.print(table)
    out.print(summary(document), highlight=False)
    for note in document.notes:
        out.print(f"note: {escape(note)}", highlight=False)
