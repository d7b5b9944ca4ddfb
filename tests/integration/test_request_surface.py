"""The request surface on a real LiteLLM 1.82.3: a key limited to one model, probed on the routes
where a model can be named other than in a chat body.

One proxy serves every test of this module (a module-scoped runner; every scenario declares the
same three models, so they share it) to keep CI fast. What is asserted is what a user reads in
the verdicts:
- a denied model in `?model=` next to an allowed body model reaches the upstream (BerriAI/litellm#41810:
  a bypass on 1.82.3), the reverse order is refused;
- a model named only in the path (`/openai/deployments/{model}/chat/completions`) is refused when
  denied and served when allowed;
- `/v1/embeddings` and Anthropic's `/v1/messages` refuse a denied model;
- a sweep with no narrowing runs, and the run reports the proxy's route coverage.
"""

from __future__ import annotations

import pytest

from harness.engine.runner import ScenarioRunner, make_target
from harness.model.results import ScenarioResult
from harness.model.verdict import Outcome, Verdict
from harness.scenario.loader import parse_scenario
from harness.targets.processes import running_children

pytestmark = pytest.mark.integration

TARGET = "litellm==1.82.3"

WORLD = """\
models: [gpt-4o, gpt-4o-mini, claude-sonnet]
keys:
  - name: narrow
    models: [gpt-4o-mini]
expect:
  narrow:
    can_call: [gpt-4o-mini]
    cannot_call: [gpt-4o]
"""


@pytest.fixture(scope="module")
def runner():  # type: ignore[no-untyped-def]
    """One runner, hence one proxy, for the whole module; nothing of it left running afterwards."""
    started = []

    def factory(spec, log):  # type: ignore[no-untyped-def]
        target = make_target(spec, log)
        started.append(target)
        return target

    with ScenarioRunner(TARGET, target_factory=factory) as shared:
        yield shared
    assert len(started) == 1, "every scenario of this module shares one proxy"
    assert running_children(started[0].run_id) == []


def run(runner: ScenarioRunner, name: str, sweep: str) -> dict[str, Verdict]:
    """Run the limited key's scenario with `sweep` and return its verdicts by check id."""
    scenario = parse_scenario(f"id: surface-{name}\ntitle: {name}\n{WORLD}{sweep}")
    result: ScenarioResult = runner.run(scenario)
    assert result.error is None, result.error
    return {verdict.check_id: verdict for verdict in result.verdicts}


def test_a_query_model_next_to_a_body_model_is_checked_in_both_orders(runner: ScenarioRunner) -> None:
    verdicts = run(runner, "query", "sweep:\n  only: [query_over_body, body_over_query]\n")

    # allowed gpt-4o-mini in the body, denied gpt-4o in ?model=: served with gpt-4o (the bypass)
    bypass = verdicts["surface-query::narrow::query_over_body::gpt-4o"]
    assert bypass.outcome is Outcome.FAIL, bypass.message
    assert bypass.observed == "allowed (200)"
    assert [hit.model for hit in bypass.observation.upstream_hits] == ["gpt-4o"]
    assert "/v1/chat/completions" in bypass.title
    # the reverse: denied gpt-4o in the body under an allowed ?model=: refused, nothing upstream
    refused = verdicts["surface-query::narrow::body_over_query::gpt-4o"]
    assert refused.outcome is Outcome.PASS, refused.message
    assert refused.observed == "denied (401)"
    assert refused.observation.upstream_hits == []
    # the same on the other chat route and on the completions routes
    for route in ("/chat/completions", "/v1/completions", "/completions"):
        assert verdicts[f"surface-query::narrow::query_over_body::gpt-4o::{route}"].outcome is Outcome.FAIL
        assert verdicts[f"surface-query::narrow::body_over_query::gpt-4o::{route}"].outcome is Outcome.PASS
    assert not [v.message for v in verdicts.values() if v.outcome is Outcome.ERROR]


def test_a_model_named_only_in_the_path_is_refused_when_denied_and_served_when_allowed(
        runner: ScenarioRunner) -> None:
    route = "/openai/deployments/{model}/chat/completions"
    verdicts = run(runner, "path", f"sweep:\n  only: ['{route}']\n  can_call: true\n")

    # the kind's first route: its checks carry no variant
    denied = verdicts["surface-path::narrow::path_model::gpt-4o"]
    assert denied.outcome is Outcome.PASS, denied.message
    assert denied.observed == "denied (401)"
    assert denied.observation.url == "/openai/deployments/gpt-4o/chat/completions"
    allowed = verdicts["surface-path::narrow::path_model::gpt-4o-mini"]
    assert allowed.outcome is Outcome.PASS, allowed.message
    assert [hit.model for hit in allowed.observation.upstream_hits] == ["gpt-4o-mini"]
    assert {v.check.probe for v in verdicts.values() if v.check.oracle == "sweep"} == {"path_model"}


def test_embeddings_and_anthropic_messages_refuse_a_denied_model(runner: ScenarioRunner) -> None:
    verdicts = run(runner, "families", "sweep:\n  only: [/v1/embeddings, /v1/messages]\n")

    for kind in ("embeddings", "messages"):
        verdict = verdicts[f"surface-families::narrow::{kind}::gpt-4o"]
        assert verdict.outcome is Outcome.PASS, verdict.message
        assert verdict.observed == "denied (401)"
        assert verdict.observation.upstream_hits == []
        assert verdict.observation.url == f"/v1/{kind}"


def test_the_sweep_runs_on_every_route_and_the_run_reports_route_coverage(runner: ScenarioRunner) -> None:
    verdicts = run(runner, "sweep", "")  # no `sweep:`: on by default for cannot_call

    swept = [v for v in verdicts.values() if v.check.oracle == "sweep"]
    routes = {v.check.variant or v.observation.url for v in swept if v.observation is not None}
    assert len(routes) >= 40, sorted(routes)
    assert not [v.message for v in swept if v.outcome is Outcome.ERROR]
    # 1.82.3's ?model= bypass is the sweep's only failure for this key
    failing = {v.check.probe for v in swept if v.outcome is Outcome.FAIL}
    assert failing == {"query_over_body"}

    coverage = runner.routes
    assert coverage is not None and coverage.source == "GET /openapi.json"
    assert coverage.inventory == 83
    assert "POST /v1/chat/completions" in coverage.covered and "POST /v1/messages" in coverage.covered
    # what is not covered is named with why (WebSockets, client-secret calls, public-API pass-throughs)
    uncovered = {u.route: u.reason for u in coverage.uncovered}
    assert "GET /v1/realtime" in uncovered and "POST /openai/{endpoint}" in uncovered
    assert all(reason for reason in uncovered.values())
    assert coverage.percent_text.endswith(f"of {coverage.inventory} model-bearing routes)")
