"""The route dimension of a report: per principal × model, which routes allowed or denied it.

The sweep tries each model a key must not reach on every model-bearing route, and compares every
listing route with `GET /v1/models`; a scenario then has many checks per principal and model.
This view groups them: one row per principal × model × expectation, its routes with their
outcomes, bypasses first. A *bypass* is a denied call that was answered with a 2xx and reached
the upstream (or, for a kind that never reaches the upstream, was answered at all): the key got
through on that route. Pure functions of the results document, like `harness.report.view`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from harness.model.check import Expect, Judgement
from harness.model.verdict import Outcome, Verdict
from harness.judge import serves
from harness.probes.registry import find, reaches_upstream
from harness.report.wording import anchor_for, outcome_rank

#: The headline word of a bypass, where a report names the kind of a failure.
BYPASS = "bypass"


def is_bypass(verdict: Verdict) -> bool:
    """A denied call that got through: FAIL, a 2xx, and the upstream received the checked model
    (kinds that never reach the upstream: the 2xx answer itself)."""
    check, obs = verdict.check, verdict.observation
    if verdict.outcome is not Outcome.FAIL or check.judgement is not Judgement.CALL or check.expect is not Expect.DENIED:
        return False
    if obs is None or obs.status is None or not 200 <= obs.status < 300:
        return False
    if not reaches_upstream(check.probe):
        return True
    return any(serves(hit, check) for hit in obs.upstream_hits)  # a deployment of the checked model


def attention_rank(verdict: Verdict) -> tuple[int, int]:
    """Sort key: bypasses first, then failures, errors, skips, passes."""
    return (0 if is_bypass(verdict) else 1, outcome_rank(verdict.outcome.value))


def route_of(verdict: Verdict) -> str:
    """The route a check probed, as its kind words its request: `POST /v1/chat/completions?model=gpt-4o`."""
    url = verdict.observation.url if verdict.observation is not None else None
    url = url or verdict.check.variant
    kind = find(verdict.check.probe)
    return kind.request_text(url) if kind is not None else (url or verdict.check.probe)


@dataclass
class RouteOutcome:
    """One route of a row: how the check on it came out."""

    route: str
    state: str  # pass | fail | error | skip
    observed: str
    anchor: str
    bypass: bool = False


@dataclass
class RouteRow:
    """Every route one principal's expectation about one model was checked on."""

    principal: str
    model: str | None  # None for the listings of a principal
    expected: str  # "denied", "allowed", "as /v1/models"
    routes: list[RouteOutcome] = field(default_factory=list)

    @property
    def state(self) -> str:
        """The worst outcome of its routes (a bypass counts as a failure)."""
        return min((r.state for r in self.routes), key=outcome_rank, default="skip")

    @property
    def bypasses(self) -> list[RouteOutcome]:
        return [r for r in self.routes if r.bypass]

    def count(self, state: str) -> int:
        return sum(1 for r in self.routes if r.state == state)

    @property
    def summary(self) -> str:
        """`62 routes: 2 bypass, 57 pass, 3 error`."""
        parts = [f"{len(self.bypasses)} {BYPASS}"] if self.bypasses else []
        for state in ("fail", "error", "skip", "pass"):
            number = self.count(state) - (len(self.bypasses) if state == "fail" else 0)
            if number:
                parts.append(f"{number} {state}")
        return f"{len(self.routes)} route{'s' if len(self.routes) != 1 else ''}: {', '.join(parts)}"


def route_rows(verdicts: list[Verdict]) -> list[RouteRow]:
    """The route dimension of a scenario's verdicts: rows with a bypass first, then by outcome;
    only rows checked on more than one route (a single route is the matrix's own cell)."""
    rows: dict[tuple[str, str | None, str], RouteRow] = {}
    for verdict in verdicts:
        check = verdict.check
        model = check.model
        if check.judgement is Judgement.CALL:
            expected = check.expect.value if check.expect is not None else "?"
        elif check.agrees_with is not None:
            expected, model = f"as {check.agrees_with}", None  # one row for all of a principal's listings
        else:
            continue  # a written `lists` check: the matrix shows it
        key = (check.principal_segment, model, expected)
        row = rows.setdefault(key, RouteRow(check.principal_segment, model, expected))
        row.routes.append(RouteOutcome(route_of(verdict), verdict.outcome.value, verdict.observed,
                                       anchor_for(verdict.check_id), is_bypass(verdict)))
    for row in rows.values():
        row.routes.sort(key=lambda r: (0 if r.bypass else 1, outcome_rank(r.state)))
    found = [row for row in rows.values() if len(row.routes) > 1]
    return sorted(found, key=lambda row: (0 if row.bypasses else 1, outcome_rank(row.state)))
