"""The Markdown summary: what to paste into a GitHub issue or PR comment.

Target and counts, the failing checks as a short table naming the route of each (bypasses
first), then per scenario that did not pass its verdict sentences, the command to rerun it and
its YAML folded in `<details>`, and last the route coverage with the routes no probe covers.
"""

from __future__ import annotations

import html
import re
import shlex

from harness.report.routes_view import BYPASS
from harness.report.view import Evidence, ReportView, ScenarioView, build_view
from harness.model.results import RunResult

_ICON = {"pass": "✅", "fail": "❌", "error": "⚠️", "skip": "⏭️", BYPASS: "🚨"}
_TABLE_LIMIT = 50  # rows of the failing-checks table; an issue comment has to stay readable


def _text(text: str) -> str:
    """One line of prose; `<` escaped so GitHub does not read it as an HTML tag."""
    return " ".join(str(text).split()).replace("<", "&lt;")


def _cell(text: str) -> str:
    """Text safe inside a Markdown table cell (one line, no column breaks)."""
    return _text(text).replace("\\", "\\\\").replace("|", "\\|")


def _code(text: str) -> str:
    """Inline code that survives backticks in `text`."""
    ticks = "`" * (max((len(run) for run in re.findall(r"`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{ticks}{pad}{text}{pad}{ticks}"


def _fence(text: str, lang: str = "") -> str:
    """A fenced block longer than any backtick run inside `text`."""
    fence = "`" * max(3, max((len(run) for run in re.findall(r"`{3,}", text)), default=0) + 1)
    return f"{fence}{lang}\n{text.rstrip()}\n{fence}"


def _details(summary: str, body: str) -> list[str]:
    # Blank lines around the body let GitHub render Markdown inside <details>.
    return [f"<details><summary>{summary}</summary>", "", body, "", "</details>", ""]


def render_markdown(result: RunResult) -> str:
    """The summary of `result` as GitHub-flavoured Markdown (deterministic)."""
    view = build_view(result)
    lines = _header(view)
    lines += _failing_table(view)
    for scenario in view.scenarios:
        if scenario.overall in ("fail", "error"):
            lines += _scenario_section(scenario, view)
    lines += _passed_list(view)
    lines += _coverage(view)
    return "\n".join(lines).rstrip() + "\n"


def _label(evidence: Evidence) -> str:
    """`🚨 bypass`, `❌ fail`, `⚠️ error`."""
    word = BYPASS if evidence.bypass else evidence.outcome
    return f"{_ICON[word]} {word}"


def _header(view: ReportView) -> list[str]:
    proxy = f"{view.proxy_name} {view.proxy_version}" if view.proxy_version else "proxy version unknown"
    counts = view.counts
    parts = [f"**{counts['fail']} failed**" if counts["fail"] else "0 failed",
             f"**{counts['error']} errors**" if counts["error"] else "0 errors",
             f"{counts['pass']} passed", f"{counts['skip']} skipped"]
    n = len(view.scenarios)
    meta = [f"run {_code(view.run_id)}", view.started_at, f"gateconform {view.harness_version}"]
    if view.image_digest:
        meta.insert(1, f"image {_code(view.image_digest)}")
    note = [f"> ⚠️ {_text(view.evidence_note)}", ""] if view.evidence_note else []
    return [
        f"### gateconform: {_ICON.get(view.overall, '')} {view.overall.upper()} on {_code(view.target)} ({proxy})",
        "",
        f"{', '.join(parts)} — {view.total_checks} checks in {n} scenario{'s' if n != 1 else ''}",
        "",
        *note,
        f"<sub>{' · '.join(m for m in meta if m)}</sub>",
        "",
        *[f"> {note}\n" for note in view.install_notes],
    ]


def _failing_table(view: ReportView) -> list[str]:
    failing = view.failing
    if not failing:
        if view.overall == "pass":
            return ["Every check passed.", ""]
        return []
    lines = ["| | scenario | check | route | expected | observed |", "|---|---|---|---|---|---|"]
    for scenario, evidence in failing[:_TABLE_LIMIT]:
        lines.append(
            f"| {_label(evidence)} | {_cell(scenario.id)} | {_cell(evidence.title)} | {_cell(_code(evidence.probe))} "
            f"| {_cell(evidence.expected)} | {_cell(evidence.observed)} |"
        )
    if len(failing) > _TABLE_LIMIT:
        lines.append(f"\n…and {len(failing) - _TABLE_LIMIT} more (see report.html)")
    return lines + [""]


def _scenario_section(scenario: ScenarioView, view: ReportView) -> list[str]:
    lines = [f"#### {_ICON[scenario.overall]} {_text(scenario.title)}", ""]
    facts = [_code(scenario.id)]
    if scenario.issue:
        facts.append(f"[{scenario.issue_label}]({scenario.issue})")
    lines += [" · ".join(facts), ""]
    if scenario.not_expressed:
        lines += [f"Not checked by this scenario (it says so): {_text('; '.join(scenario.not_expressed))}", ""]
    if scenario.error:
        lines += _details("The scenario could not run (error and log tail)", _fence(scenario.error, "text"))
    for evidence in scenario.failing:
        route = f" ({_code(evidence.probe)})" if evidence.status is not None else ""  # a request was made
        lines.append(f"- {_ICON[BYPASS if evidence.bypass else evidence.outcome]} {_text(evidence.message)}{route}")
        if evidence.derivation:
            lines.append(f"  - derived: {_text(evidence.derivation)} ({_doc_links(evidence.doc_links)})")
    if scenario.failing:
        lines.append("")
    lines += _oracle_lines(scenario)
    if scenario.path:
        command = f"gateconform run {shlex.quote(scenario.path)} --target {shlex.quote(view.target)}"
        lines += ["Rerun:", "", _fence(command, "bash"), ""]
    if scenario.source:
        # Inside an HTML element GitHub does not render Markdown: use <code>, escaped.
        name = f" (<code>{html.escape(scenario.path)}</code>)" if scenario.path else ""
        lines += _details(f"Scenario YAML{name}", _fence(scenario.source, "yaml"))
    return lines


def _doc_links(links: list[tuple[str, str]]) -> str:
    """`docs: [team-step](url), …`: the rules a derived check rests on, each linked to its page."""
    shown = [f"[{rule}]({url})" if url else _code(rule) for rule, url in dict.fromkeys(links)]
    return "docs: " + ", ".join(shown) if shown else "no rule"


def _oracle_lines(scenario: ScenarioView) -> list[str]:
    """The oracle mode, the contradictions (findings about the docs or the scenario), the open cases."""
    if scenario.oracle is None:
        return []
    lines = [f"Oracle: {_code(scenario.oracle)} — {scenario.derived_count} derived checks, "
             f"{len(scenario.undetermined)} undetermined, {len(scenario.contradictions)} contradictions", ""]
    for found in scenario.contradictions:
        lines.append(f"- ⚖️ {_code(found['check_id'])}: written {_text(found['written'])}, the docs derive "
                     f"{_text(found['derived'])} ({_text(found['summary'])})")
    if scenario.contradictions:
        lines.append("")
    if scenario.undetermined:
        items = "\n".join(f"- {_code(_case(case))}: {_text(case['reason'] or '')}" for case in scenario.undetermined)
        lines += _details(f"{len(scenario.undetermined)} cases the docs leave open (no check)", items)
    return lines


def _case(case: dict) -> str:
    who = case["principal"] + (f"@{case['round']}" if case.get("round") else "")
    return f"{who} {case['model']}" if case.get("model") else f"{who} listing"


def _passed_list(view: ReportView) -> list[str]:
    rest = [s for s in view.scenarios if s.overall not in ("fail", "error")]
    if not rest:
        return []
    items = [f"{_ICON[s.overall]} {_code(s.id)}" for s in rest]
    return [f"Also run: {', '.join(items)}", ""]


def _coverage(view: ReportView) -> list[str]:
    """`Route coverage: 76% (63 of 83 model-bearing routes)`, the uncovered routes folded."""
    coverage = view.coverage
    if coverage is None:
        return []
    lines = [f"Route coverage: {coverage.percent_text}", ""]
    if coverage.uncovered:
        items = "\n".join(f"- {_code(u.route)} ({u.family}): {_text(u.reason)}" for u in coverage.uncovered)
        lines += _details(f"{len(coverage.uncovered)} model-bearing routes no probe kind covers", items)
    return lines
