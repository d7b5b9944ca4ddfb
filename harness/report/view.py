"""What every report shows, computed once from a results document.

The HTML page, the Markdown summary and the terminal agree on ordering (failures first) and
on the matrix (principal × model, one part per probe) because they all read this view. It is
a pure function of the document: no clock, no environment, no randomness, so rendering the
same results.json twice gives the same bytes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import yaml

from harness.gateways import registry
from harness.scenario import bounded_yaml
from harness.model.check import Check, Judgement
from harness.common.redact import Redactor, redact_strings
from harness.probes.registry import reaches_upstream
from harness.model.results import RunResult, ScenarioResult
from harness.model.verdict import Verdict
from harness.model.routes import RouteCoverage
from harness.report.routes_view import RouteRow, attention_rank, is_bypass, route_of, route_rows
from harness.report.wording import (  # noqa: F401 - renderers take these from the view too
    OUTCOME_ORDER, anchor_for, duration_text, evidence_note, install_notes, issue_label, outcome_rank,
    seconds_between, shown_overall, timestamp_text,
)

NOT_CHECKED = "none"  # a matrix part with no check behind it


@dataclass
class Part:
    """One probe in one matrix cell: is the model listed / can it be called."""

    probe: str  # "listed" or "call"
    state: str  # pass | fail | error | skip | none
    expected: str  # "listed", "not listed", "allowed", "denied", or "" when not checked
    observed: str  # what was seen, in the same words; "" when not seen
    anchor: str | None = None  # evidence id
    tooltip: str = ""


@dataclass
class Cell:
    """One principal × model cell: its listing part and its call part."""

    listed: Part
    call: Part


@dataclass
class Row:
    principal: str
    cells: list[Cell]


@dataclass
class Column:
    model: str
    # a name the proxy listed that no expectation mentions (e.g. `all-proxy-models`)
    listed_only: bool = False


@dataclass
class Hit:
    model: str
    path: str
    marker: str
    received_at: str


@dataclass
class Evidence:
    """Everything behind one verdict, ready to print."""

    anchor: str
    check_id: str
    title: str
    outcome: str
    message: str
    expected: str
    observed: str
    principal: str
    probe: str  # how the request reads: "GET /v1/models" or "POST /v1/chat/completions"
    model: str | None
    oracle: str
    upstream_evidence: bool = False  # the probe's kind reaches the upstream: its hits are evidence
    status: int | None = None
    elapsed_ms: float | None = None
    error_type: str | None = None
    error_message: str | None = None
    transport_error: str | None = None
    skip_reason: str | None = None
    listed_models: list[str] | None = None
    hits: list[Hit] = field(default_factory=list)
    body: str = ""  # redacted excerpt, JSON pretty-printed when it parses
    body_is_json: bool = False
    bypass: bool = False  # a denied call that got through on this route (`routes_view.is_bypass`)
    #: a derived check: its rule chain, and (rule id, docs URL) of each rule it rests on
    derivation: str | None = None
    doc_links: list[tuple[str, str]] = field(default_factory=list)

    @property
    def origin(self) -> str:
        """Where the expectation came from, in words: written, derived from the docs, or the sweep."""
        return {"scenario": "written in the scenario", "derived": "derived from the documented rules",
                "sweep": "the sweep (another route of a written or derived denial)"}.get(self.oracle, self.oracle)


@dataclass
class ScenarioView:
    id: str
    title: str
    overall: str
    counts: dict[str, int]
    issue: str | None
    issue_label: str | None
    path: str | None
    source: str | None
    error: str | None
    elapsed: str
    columns: list[Column]
    rows: list[Row]
    evidence: list[Evidence]  # bypasses first, then failures
    not_expressed: list[str] = field(default_factory=list)  # what the scenario says it cannot check
    anchor: str = ""  # HTML id of the scenario's section, by its place in the report
    routes: list[RouteRow] = field(default_factory=list)  # the route dimension, bypasses first
    #: the oracle mode when not explicit, the cases the docs leave open, the contradictions found
    oracle: str | None = None
    undetermined: list[dict] = field(default_factory=list)
    contradictions: list[dict] = field(default_factory=list)
    rules: dict[str, dict] = field(default_factory=dict)

    @property
    def derived_count(self) -> int:
        """How many of its checks were derived from the documented rules."""
        return sum(1 for e in self.evidence if e.oracle == "derived")

    @property
    def failing(self) -> list[Evidence]:
        """Checks that failed or errored, failures first."""
        return [e for e in self.evidence if e.outcome in ("fail", "error")]

    @property
    def error_headline(self) -> str:
        """The first line of the scenario's error (the rest is a log tail)."""
        return (self.error or "").strip().splitlines()[0] if self.error and self.error.strip() else ""


@dataclass
class ReportView:
    run_id: str
    target: str
    target_kind: str | None
    proxy_version: str | None
    proxy_name: str  # the title of the target's gateway, as in "<proxy_name> 1.82.3"
    image_digest: str | None
    #: what the reader must know about weaker evidence (a url run without a recording upstream)
    evidence_note: str | None
    #: what was installed other than the release as published (`wording.install_notes`)
    install_notes: list[str]
    harness_version: str
    schema_version: str
    started_at: str
    finished_at: str
    duration: str
    machine: dict[str, Any]
    overall: str
    counts: dict[str, int]
    scenario_counts: dict[str, int]
    scenarios: list[ScenarioView]  # failures first
    coverage: RouteCoverage | None = None  # how much of the proxy's model-bearing surface was probed

    @property
    def failing(self) -> list[tuple[ScenarioView, Evidence]]:
        """Every failed or errored check of the run, bypasses first, then failures."""
        found = [(s, e) for s in self.scenarios for e in s.failing]
        return sorted(found, key=lambda pair: (0 if pair[1].bypass else 1, outcome_rank(pair[1].outcome)))

    @property
    def bypasses(self) -> list[tuple[ScenarioView, Evidence]]:
        """Every denied call that got through, with its scenario."""
        return [(s, e) for s in self.scenarios for e in s.evidence if e.bypass]

    @property
    def attention(self) -> list[tuple[ScenarioView, Evidence | None]]:
        """What a reader must look at: each failed or errored check, failures first, except
        that a scenario that could not run at all is one entry (its checks share one error)."""
        found: list[tuple[ScenarioView, Evidence | None]] = []
        for scenario, evidence in self.failing:
            if scenario.error is None:
                found.append((scenario, evidence))
            elif not any(s is scenario for s, _ in found):
                found.append((scenario, None))
        return found

    @property
    def total_checks(self) -> int:
        return sum(self.counts.values())


def build_view(result: RunResult) -> ReportView:
    """The report view of a results document (pure: same document, same view)."""
    result = normalized(result)
    scenarios = sorted(
        (_scenario_view(s) for s in result.scenarios), key=lambda s: outcome_rank(s.overall)
    )
    for number, scenario in enumerate(scenarios, start=1):
        scenario.anchor = f"s-{number}"
    scenario_counts = {name: 0 for name in OUTCOME_ORDER}
    for scenario in scenarios:
        scenario_counts[scenario.overall] = scenario_counts.get(scenario.overall, 0) + 1
    return ReportView(
        run_id=result.run_id,
        target=result.target,
        target_kind=result.target_kind,
        proxy_version=result.proxy_version,
        proxy_name=registry.title_of(result.target),
        image_digest=result.image_digest,
        evidence_note=evidence_note(result.evidence),
        install_notes=install_notes(result.proxy_version, result.substitutions, result.deps_dating),
        harness_version=result.harness_version,
        schema_version=result.schema_version,
        started_at=timestamp_text(result.started_at),
        finished_at=timestamp_text(result.finished_at),
        duration=duration_text(seconds_between(result.started_at, result.finished_at)),
        machine=result.machine.model_dump(),
        overall=shown_overall(result.overall, result.counts),
        counts=dict(result.counts),
        scenario_counts=scenario_counts,
        scenarios=scenarios,
        coverage=result.routes,
    )


def _scenario_view(scenario: ScenarioResult) -> ScenarioView:
    verdicts = list(scenario.verdicts)
    evidence = [_evidence(v, scenario.rules) for v in sorted(verdicts, key=attention_rank)]
    columns = _columns(scenario, verdicts)
    # One row per principal and round (`svc@after`); admin checks are in the evidence, not the matrix.
    principals = list(dict.fromkeys(v.check.principal_segment for v in verdicts
                                    if v.check.judgement is not Judgement.ADMIN))
    rows = [Row(p, [_cell(p, c.model, verdicts) for c in columns]) for p in principals]
    return ScenarioView(
        id=scenario.id,
        title=scenario.title,
        overall=shown_overall(scenario.overall, scenario.counts),
        counts=dict(scenario.counts),
        issue=scenario.issue,
        issue_label=issue_label(scenario.issue),
        path=scenario.path,
        source=scenario.source,
        error=scenario.error,
        elapsed=duration_text(scenario.elapsed_ms / 1000 if scenario.elapsed_ms is not None else None),
        columns=columns,
        rows=rows,
        evidence=evidence,
        not_expressed=list(scenario.not_expressed or ()),
        routes=route_rows(verdicts),
        oracle=scenario.oracle,
        undetermined=list(scenario.undetermined or ()),
        contradictions=list(scenario.contradictions or ()),
        rules=dict(scenario.rules or {}),
    )


def _declared_models(scenario: ScenarioResult) -> list[str]:
    """The world's models, in order: as the document records them, or (a document written before
    it did) read from the scenario YAML the document keeps."""
    if scenario.models is not None:
        return list(scenario.models)
    return _scenario_models(scenario.source)


def _scenario_models(source: str | None) -> list[str]:
    """The `models:` of the scenario YAML kept in the document (the world's models, in order)."""
    if not source:
        return []
    try:  # a results document is user input too: read its YAML within the same limits
        root = bounded_yaml.compose(source)
        data = bounded_yaml.construct(root) if root is not None else None
    except yaml.YAMLError:  # invalid, or beyond a limit
        return []
    models = data.get("models") if isinstance(data, dict) else None
    names: list[str] = []
    for entry in models if isinstance(models, list) else ():
        name = entry.get("name") if isinstance(entry, dict) else entry
        if isinstance(name, str):
            names.append(name)
    return names


def _columns(scenario: ScenarioResult, verdicts: list[Verdict]) -> list[Column]:
    """The world's models, then any other model a check names, then names only the proxy listed."""
    expected: list[str] = _declared_models(scenario)
    for verdict in verdicts:
        check = verdict.check
        if check.judgement is Judgement.LISTING:
            expected.extend(sorted((check.listed or frozenset()) | (check.includes or frozenset())))
        elif check.model:
            expected.append(check.model)
    names = list(dict.fromkeys(expected))
    extras: set[str] = set()
    for verdict in verdicts:
        obs = verdict.observation
        if verdict.check.judgement is Judgement.LISTING and obs is not None and obs.listed_models:
            extras.update(name for name in obs.listed_models if name not in names)
    return [Column(name) for name in names] + [Column(name, listed_only=True) for name in sorted(extras)]


def _worst(verdicts: list[Verdict]) -> Verdict | None:
    return min(verdicts, key=lambda v: outcome_rank(v.outcome.value), default=None)


def _cell(principal: str, model: str, verdicts: list[Verdict]) -> Cell:
    mine = [v for v in verdicts if v.check.principal_segment == principal]
    # A cell has a listing part and a call part: the worst of each judgement's verdicts (the
    # listing part: the written listing expectations; listings compared with another route are
    # the route dimension's).
    listing = _worst([v for v in mine if v.check.judgement is Judgement.LISTING and v.check.agrees_with is None])
    call = _worst([v for v in mine if v.check.judgement is Judgement.CALL and v.check.model == model])
    return Cell(listed=_listed_part(listing, principal, model), call=_call_part(call, principal, model))


def _listed_part(verdict: Verdict | None, principal: str, model: str) -> Part:
    if verdict is None:
        return Part("listed", NOT_CHECKED, "", "", tooltip=f"{principal}: listing of {model} not checked")
    expected = _listing_expects(verdict.check, model)
    if expected is None:
        return Part("listed", NOT_CHECKED, "", "", tooltip=f"{principal}: listing of {model} not checked")
    obs = verdict.observation
    observed = ""
    if obs is not None and obs.listed_models is not None:
        observed = "listed" if model in obs.listed_models else "not listed"
    outcome = verdict.outcome.value
    if outcome in ("pass", "fail"):
        # The check is about the whole list; each model's part is right or wrong on its own.
        state = "pass" if observed == expected else "fail"
    else:
        state = outcome
        observed = "skipped" if outcome == "skip" else (verdict.observed or "error")
    tooltip = f"{principal}: {model} expected {expected}" + (f", observed {observed}" if observed else "")
    return Part("listed", state, expected, observed, anchor_for(verdict.check_id), tooltip)


def _listing_expects(check: Check, model: str) -> str | None:
    """`listed`, `not listed`, or None when the listing check says nothing about `model`."""
    if model in (check.includes or ()) or model in (check.listed or ()):
        return "listed"
    if model in (check.excludes or ()) or check.listed is not None:
        return "not listed"
    return None


def _call_part(verdict: Verdict | None, principal: str, model: str) -> Part:
    if verdict is None:
        return Part("call", NOT_CHECKED, "", "", tooltip=f"{principal}: calling {model} not checked")
    check = verdict.check
    expected = check.expect.value if check.expect is not None else "?"
    outcome = verdict.outcome.value
    if outcome == "skip":
        observed = "skipped"
    elif outcome in ("pass", "fail"):
        observed = verdict.observed  # "allowed (200)" / "denied (401)"
    else:
        observed = verdict.observed or "error"
    tooltip = f"{principal} → {model}: expected {expected}, observed {observed}"
    return Part("call", outcome, expected, observed, anchor_for(verdict.check_id), tooltip)


def _body(excerpt: str) -> tuple[str, bool]:
    if not excerpt:
        return "", False
    try:
        parsed = json.loads(excerpt)
    except ValueError:
        return excerpt, False
    return json.dumps(parsed, indent=2, ensure_ascii=False, sort_keys=False), True


def _hit_time(received_at: float) -> str:
    try:
        return datetime.fromtimestamp(received_at, timezone.utc).strftime("%H:%M:%S.%f")[:-3] + " UTC"
    except (OverflowError, OSError, ValueError):
        return str(received_at)


def _evidence(verdict: Verdict, rules: dict | None = None) -> Evidence:
    check = verdict.check
    obs = verdict.observation
    evidence = Evidence(
        anchor=anchor_for(verdict.check_id),
        check_id=verdict.check_id,
        title=verdict.title,
        outcome=verdict.outcome.value,
        message=verdict.message,
        expected=verdict.expected,
        observed=verdict.observed,
        principal=check.principal,
        probe=route_of(verdict),
        model=check.model,
        oracle=check.oracle,
        upstream_evidence=reaches_upstream(check.probe),
        skip_reason=check.skip_reason,
        bypass=is_bypass(verdict),
        derivation=check.derivation,
        doc_links=[(rule, (rules or {}).get(rule, {}).get("url", "")) for rule in check.rules or ()],
    )
    if obs is not None:
        evidence.status = obs.status
        # A probe that never sent a request (not provisioned) has no meaningful time.
        evidence.elapsed_ms = obs.elapsed_ms if obs.status is not None or obs.elapsed_ms else None
        evidence.error_type = obs.error_type
        evidence.error_message = obs.error_message
        evidence.transport_error = obs.transport_error
        evidence.listed_models = obs.listed_models
        evidence.hits = [
            Hit(hit.model or "?", hit.path, hit.marker or "", _hit_time(hit.received_at))
            for hit in obs.upstream_hits
        ]
        evidence.body, evidence.body_is_json = _body(obs.body_excerpt)
    return evidence


def normalized(result: RunResult) -> RunResult:
    """`result` as a reader of its results.json sees it, with every string redacted again.

    Reports render from this, so a run's reports and a later `gateconform report` of its
    results.json are byte-identical (in memory a set has process-dependent order; read back
    it is a sorted list). Redacting each string (never the rendered markup, where a masked
    token could swallow a closing tag) is the last line of defence, for secrets and machine
    paths alike: the document is redacted already, and redaction is idempotent.
    """
    data = json.loads(result.to_json(indent=None))
    return RunResult.model_validate(redact_strings(data, Redactor().redact))
