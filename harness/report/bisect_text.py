"""A bisect's answer in the terminal: the two releases' observations side by side, every release tested."""

from __future__ import annotations

from typing import Mapping

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from harness.model.bisect import BisectResult, side_by_side
from harness.report.terminal import deps_lines, one_line, substitution_lines

STATE_STYLE = {"good": "green", "bad": "bold red", "not applicable": "yellow", "untestable": "magenta"}


def print_bisect(result: BisectResult, out: Console, check: str | None = None,
                 timings: Mapping[str, float] | None = None) -> None:
    """The answer, the observations of the two releases side by side, and every release tested.

    `check`: the one check bisected (the side by side shows only it); `timings`: seconds per release.
    """
    timings = timings or {}
    out.print(f"[bold]bisect: {result.outcome.value}[/] — {escape(result.message)}", highlight=False)
    older, newer = result.older, result.newer
    if older is not None and newer is not None:
        table = Table(title="observations side by side (changed rows in bold)", title_justify="left")
        table.add_column("check", overflow="fold")
        table.add_column(f"{older.version} ({older.state.value})", overflow="fold")
        table.add_column(f"{newer.version} ({newer.state.value})", overflow="fold")
        for row in side_by_side(older, newer):
            if check and row.check_id != check:
                continue
            mark = "[bold]" if row.differs else "[dim]"
            table.add_row(f"{mark}{escape(row.title)}[/]", f"{mark}{escape(row.before)}[/]",
                          f"{mark}{escape(row.after)}[/]")
        out.print(table)
    tested = Table(title="releases tested (in order)", title_justify="left")
    for column in ("release", "state", "deps", "why", "time"):
        tested.add_column(column, overflow="fold")
    for verdict in result.tested:
        style = STATE_STYLE[verdict.state.value]
        deps = "as released (retried)" if verdict.deps_fallback else verdict.deps.replace("-", " ")
        tested.add_row(verdict.version, f"[{style}]{verdict.state.value}[/]", deps,
                       escape(one_line(verdict.reason, 120)), f"{timings.get(verdict.version, 0):.0f} s")
    out.print(tested)
    for line in deps_lines(result.tested) + substitution_lines(result.tested):
        out.print(escape(line), highlight=False)
