"""The run's verdicts in the terminal: one compact table per scenario, failures first, then counts.

A scenario's table lists its written checks and sums up the sweep's per principal × model (one row
each, `harness.report.terminal_routes`); every route not as expected is named below it, bypasses
first. The run ends with its counts and its route coverage.
"""

from __future__ import annotations

from typing import Iterable

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from harness.gateways import registry
from harness.model.reasons import ErrorReason
from harness.model.results import RunResult
from harness.report.wording import evidence_note, install_notes, shown_overall
from harness.oracle.sweep import SWEEP
from harness.report.routes_view import route_rows
from harness.report.terminal_routes import print_coverage, print_route_findings, row_state, row_title

OUTCOME_STYLE = {"fail": "bold red", "error": "bold magenta", "skip": "yellow", "pass": "green"}
_OUTCOME_ORDER = {"fail": 0, "error": 1, "skip": 2, "pass": 3}


def shorten(text: str, limit: int = 300) -> str:
    """Keep the terminal readable (a wildcard key can list 200 models); reports keep it all."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… (+{len(text) - limit} characters, in full in the reports)"


def print_verdicts(result: RunResult, out: Console) -> None:
    """One compact table per scenario, scenarios and checks with failures first, then counts.

    A scenario that could not run (the target did not install or start) prints its error once,
    and once only across scenarios sharing it; its checks' rows say ERROR and repeat nothing.
    """
    out.print(escape(f"target {result.target} — {_proxy_description(result)}"), style="bold")
    note = evidence_note(result.evidence)
    if note:
        out.print(escape(note), style="yellow", highlight=False)
    for note in install_notes(result.proxy_version, result.substitutions, result.deps_dating):
        out.print(escape(note), highlight=False)
    # nothing but skips reads SKIP (as in the progress lines and the reports), though it passes a gate
    scenarios = sorted(result.scenarios, key=lambda s: _OUTCOME_ORDER.get(shown_overall(s.overall, s.counts), 9))
    first_with_error: dict[str, str] = {}  # error text → the scenario it was printed under
    for scenario in scenarios:
        shown = shown_overall(scenario.overall, scenario.counts)
        table = Table(title=escape(f"{scenario.id} — {shown.upper()}"), title_justify="left")
        for column in ("verdict", "check", "expected", "observed"):
            table.add_column(column, overflow="fold")
        verdicts = sorted(scenario.verdicts, key=lambda v: _OUTCOME_ORDER.get(v.outcome.value, 9))
        written = [v for v in verdicts if v.check.oracle != SWEEP]
        rows = route_rows(list(scenario.verdicts))
        for verdict in written:
            outcome = verdict.outcome.value
            table.add_row(
                f"[{OUTCOME_STYLE[outcome]}]{outcome.upper()}[/]",
                escape(verdict.title + (" · derived" if verdict.check.oracle == "derived" else "")),
                escape(shorten(verdict.expected)), escape(shorten(verdict.observed)),
            )
        for row in rows:
            state = row_state(row)
            table.add_row(f"[{OUTCOME_STYLE.get(state, 'bold red')}]{state.upper()}[/]", escape(row_title(row)),
                          escape(row.expected), escape(row.summary))
        out.print(table)
        if scenario.error:
            first = first_with_error.setdefault(scenario.error, scenario.id)
            said = scenario.error if first == scenario.id else f"the same error as {first} (above)"
            out.print(f"[bold magenta]{escape(scenario.id)}[/]: {escape(said)}", highlight=False)
        print_route_findings(rows, out, lambda text: shorten(text, 900))
        _print_oracle(scenario, out)
        for verdict in written:
            if verdict.outcome.value not in ("fail", "error"):
                continue
            if verdict.error_reason is ErrorReason.SCENARIO_NOT_RUN:
                continue  # the scenario's error, said once just above
            style = OUTCOME_STYLE[verdict.outcome.value]
            out.print(f"[{style}]✗[/] {escape(shorten(verdict.message))}", highlight=False)
    counts = result.counts
    summary = ", ".join(f"{counts.get(name, 0)} {name}" for name in ("pass", "fail", "error", "skip"))
    out.print(f"[bold]{result.overall.upper()}[/]: {summary}")
    print_coverage(result.routes, out)


def _print_oracle(scenario: object, out: Console) -> None:
    """The oracle mode of a derived or both run: counts, each contradiction, each open case in short."""
    mode = getattr(scenario, "oracle", None)
    if mode is None:
        return
    undetermined = getattr(scenario, "undetermined", None) or []
    contradictions = getattr(scenario, "contradictions", None) or []
    derived = sum(1 for v in getattr(scenario, "verdicts", []) if v.check.oracle == "derived")
    out.print(escape(f"oracle {mode}: {derived} derived checks, {len(undetermined)} undetermined, "
                     f"{len(contradictions)} contradictions"), highlight=False)
    for found in contradictions:
        out.print(escape(f"  contradiction {found['check_id']}: written {found['written']}, derived "
                         f"{found['derived']} ({shorten(found['summary'], 300)})"), style="yellow", highlight=False)
    for case in undetermined:
        who = case["principal"] + (f"@{case['round']}" if case.get("round") else "")
        out.print(escape(f"  undetermined {who} {case.get('model') or 'listing'}: {shorten(case['reason'] or '', 200)}"),
                  highlight=False)


def _proxy_description(result: RunResult) -> str:
    """`<gateway title> 1.82.3`, or what happened when no proxy reported a version."""
    if result.proxy_version:
        return f"{registry.title_of(result.target)} {result.proxy_version}"
    if any(s.error_reason is not None and s.error_reason.target_did_not_run for s in result.scenarios):
        return "no proxy started (the target did not install or start; see below)"
    return "proxy version not reported"


def one_line(text: str, limit: int = 160) -> str:
    """`text` on one line (white space folded), cut to `limit` characters."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def substitution_lines(releases: Iterable[object]) -> list[str]:
    """`1.110.2 with substitutions: …`, one line per release installed other than as published."""
    return [note for release in releases
            for note in install_notes(getattr(release, "version", None), getattr(release, "substitutions", None), None)]


def deps_lines(releases: Iterable[object]) -> list[str]:
    """One line per release tested with dependencies as released (and why), for the terminal."""
    lines = []
    for release in releases:
        if getattr(release, "deps", None) != "as-released":
            continue
        fallback = getattr(release, "deps_fallback", None)
        why = f" (retried: today's did not start: {one_line(fallback, 120)})" if fallback else ""
        lines.append(f"dependencies as released: {getattr(release, 'version', '?')}{why}")
    return lines
