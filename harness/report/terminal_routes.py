"""The route dimension on the terminal: one line per principal × model, the coverage at the end.

The sweep adds a check per route; the terminal keeps the written checks in its tables and sums
the routes up (`svc cannot call gpt-4o on 62 routes: 2 bypass, 57 pass, 3 error`), then names
every route that did not come out as expected, bypasses first. Every run ends with its route
coverage and the model-bearing routes no probe kind covers, grouped by why.
"""

from __future__ import annotations

from itertools import groupby
from typing import Callable

from rich.console import Console
from rich.markup import escape

from harness.model.routes import RouteCoverage
from harness.report.routes_view import BYPASS, RouteRow

_STYLE = {BYPASS: "bold red", "fail": "bold red", "error": "bold magenta", "skip": "yellow", "pass": "green"}
_ROUTES_SHOWN = 12  # per state and row; the reports list them all


def row_title(row: RouteRow) -> str:
    """`svc cannot call gpt-4o on every route`, `svc's listings as /v1/models`."""
    if row.model is None:
        return f"{row.principal}'s listings on every route {row.expected}"
    if row.expected in ("denied", "allowed"):
        verb = "can call" if row.expected == "allowed" else "cannot call"
        return f"{row.principal} {verb} {row.model} on every route"
    return f"{row.principal}'s listing of {row.model} {row.expected}"


def row_state(row: RouteRow) -> str:
    """The row's verdict word: `bypass` when any route let a denied model through."""
    return BYPASS if row.bypasses else row.state


def print_route_findings(rows: list[RouteRow], out: Console, cut: Callable[[str], str]) -> None:
    """One line per row with a route not as expected: the routes by state, bypasses first (`cut`
    keeps a line readable)."""
    for row in rows:
        wrong = [r for r in row.routes if r.bypass or r.state in ("fail", "error")]
        if not wrong:
            continue
        parts = []
        for word, group in groupby(wrong, key=lambda r: BYPASS if r.bypass else r.state):
            routes = list(group)
            shown = ", ".join(f"{r.route} ({r.observed})" for r in routes[:_ROUTES_SHOWN])
            more = f" and {len(routes) - _ROUTES_SHOWN} more" if len(routes) > _ROUTES_SHOWN else ""
            parts.append(f"{word} on {shown}{more}")
        style = _STYLE[row_state(row)]
        out.print(f"[{style}]✗ {row_state(row).upper()}[/] {escape(cut(row_title(row) + ': ' + '; '.join(parts)))}",
                  highlight=False)


def print_coverage(coverage: RouteCoverage | None, out: Console) -> None:
    """`route coverage: 76% (63 of 83 model-bearing routes)`, then the uncovered routes by reason."""
    if coverage is None:
        out.print("route coverage: unknown (the proxy described no routes)", highlight=False)
        return
    out.print(f"[bold]route coverage[/]: {escape(coverage.percent_text)}", highlight=False)
    by_reason = sorted(coverage.uncovered, key=lambda u: u.reason)
    for reason, group in groupby(by_reason, key=lambda u: u.reason):
        routes = ", ".join(u.route for u in group)
        out.print(f"  not covered — {escape(reason)}: {escape(routes)}", highlight=False, soft_wrap=True)
