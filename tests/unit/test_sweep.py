"""The sweep: a key's denied models tried on every model-bearing route the proxy documents, and
every listing route compared with `/v1/models`; bypasses reported first, with their route.

The oracle is tested on its own; end to end, the runner drives an in-process fake proxy
(tests/fixtures/fake_litellm.py) that documents a few model-bearing routes and, when asked to,
routes chat calls by a `?model=` it never checks: a bypass only the sweep can see.
"""

from __future__ import annotations

from io import StringIO

import pytest
from rich.console import Console

from harness.engine.runner import ScenarioRunner
from harness.model.check import Check, Expect
from harness.model.routes import CALL, LISTING, PASS_THROUGH, ModelRoute
from harness.model.verdict import Outcome
from harness.oracle.explicit import checks_for
from harness.oracle.sweep import SWEEP, sweep_checks
from harness.report.markdown import render_markdown
from harness.report.terminal import print_verdicts
from harness.report.view import build_view
from harness.scenario.loader import ScenarioError, parse_scenario
from tests.fixtures.fake_litellm import FakeTargets

SCENARIO = """\
id: sweep-limited-key
title: a key limited to one model, on every route
models: [gpt-4o, gpt-4o-mini]
keys:
  - name: svc
    models: [gpt-4o-mini]
expect:
  svc:
    lists: [gpt-4o-mini]
    can_call: [gpt-4o-mini]
    cannot_call: [gpt-4o]
"""
INVENTORY = (ModelRoute("POST", "/v1/chat/completions", CALL), ModelRoute("POST", "/chat/completions", CALL),
             ModelRoute("POST", "/v1/embeddings", CALL), ModelRoute("GET", "/v1/models", LISTING),
             ModelRoute("GET", "/model_group/info", LISTING))


def _swept(text: str = SCENARIO, inventory: tuple[ModelRoute, ...] | None = INVENTORY) -> list[Check]:
    scenario = parse_scenario(text)
    return sweep_checks(scenario, checks_for(scenario), inventory)


def test_every_denied_model_is_tried_on_every_route_the_proxy_has_after_the_written_checks() -> None:
    checks = _swept()
    written = checks_for(parse_scenario(SCENARIO))
    assert checks[:len(written)] == written  # today's checks, ids and order unchanged
    assert [c.id for c in checks[len(written):]] == [
        "sweep-limited-key::svc::chat::gpt-4o::/chat/completions",
        "sweep-limited-key::svc::query_model::gpt-4o",
        "sweep-limited-key::svc::query_model::gpt-4o::/chat/completions",
        "sweep-limited-key::svc::query_over_body::gpt-4o",
        "sweep-limited-key::svc::query_over_body::gpt-4o::/chat/completions",
        "sweep-limited-key::svc::body_over_query::gpt-4o",
        "sweep-limited-key::svc::body_over_query::gpt-4o::/chat/completions",
        "sweep-limited-key::svc::embeddings::gpt-4o",
        "sweep-limited-key::svc::model_group_info",
    ]
    assert {c.oracle for c in checks[len(written):]} == {SWEEP}
    assert all(c.expect is Expect.DENIED for c in checks[len(written):] if c.model)
    assert checks[-1].agrees_with == "/v1/models"


def test_a_route_the_proxy_lacks_is_not_probed_and_without_routes_there_is_no_sweep() -> None:
    no_alias = tuple(r for r in INVENTORY if r.path != "/chat/completions")
    assert not any(c.variant == "/chat/completions" for c in _swept(inventory=no_alias))
    written = checks_for(parse_scenario(SCENARIO))
    assert _swept(inventory=None) == written  # the gateway described no routes


def test_a_route_the_gateway_notes_as_not_probed_is_not_swept() -> None:
    # e.g. a route a pass-through catch-all answers: a probe there would reach a public API
    noted = tuple(ModelRoute(r.method, r.path, r.family, "answered by a pass-through") if r.path == "/chat/completions"
                  else r for r in INVENTORY)
    assert not any(c.variant == "/chat/completions" for c in _swept(inventory=noted))
    assert any(c.variant == "/chat/completions" for c in _swept())


def test_the_azure_and_bedrock_pass_throughs_are_swept_only_where_a_scenario_asks() -> None:
    # their answer on the harness's OpenAI-compatible deployments is a 500 for any model: an ERROR
    # in every scenario's default sweep, so only a scenario that names them probes them
    inventory = INVENTORY + tuple(ModelRoute("POST", f"/{p}/{{endpoint}}", PASS_THROUGH) for p in ("azure", "bedrock", "vllm"))
    by_default = {c.variant for c in _swept(inventory=inventory) if c.probe == "passthrough"}
    assert by_default == {"/vllm/{endpoint}"} or by_default == {None}
    asked = {c.variant for c in _swept(SCENARIO + "sweep:\n  only: [passthrough]\n", inventory) if c.probe == "passthrough"}
    assert {"/azure/{endpoint}", "/bedrock/{endpoint}"} <= asked


def test_a_scenario_narrows_widens_or_turns_off_its_sweep() -> None:
    narrowed = _swept(SCENARIO + "sweep:\n  only: [embeddings, /chat/completions]\n")
    assert {(c.probe, c.variant) for c in narrowed if c.oracle == SWEEP} == {
        ("embeddings", None), ("chat", "/chat/completions"), ("query_model", "/chat/completions"),
        ("query_over_body", "/chat/completions"), ("body_over_query", "/chat/completions")}
    widened = _swept(SCENARIO + "sweep:\n  can_call: true\n")
    assert Check("sweep-limited-key", "svc", "embeddings", model="gpt-4o-mini", expect=Expect.ALLOWED,
                 oracle=SWEEP) in widened
    assert not any(c.probe == "query_over_body" and c.expect is Expect.ALLOWED for c in widened)
    assert _swept(SCENARIO + "sweep: false\n") == checks_for(parse_scenario(SCENARIO))


def test_a_key_that_can_call_nothing_is_not_probed_with_a_companion_model() -> None:
    text = SCENARIO.replace("    can_call: [gpt-4o-mini]\n", "")
    probes = {c.probe for c in _swept(text)}
    assert "query_model" in probes and "query_over_body" not in probes and "body_over_query" not in probes


def test_an_unknown_sweep_entry_is_named_with_its_line() -> None:
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(SCENARIO + "sweep:\n  only: [embedings]\n", "x.yaml")
    assert str(caught.value) == ("x.yaml:13: sweep.only[0]: unknown probe kind or route 'embedings' "
                                 "(did you mean 'embeddings'?)")


# --------------------------------------------------------------------------- end to end, offline


def _run(text: str = SCENARIO, **fake: object):  # type: ignore[no-untyped-def]
    targets = FakeTargets(surface=True, **fake)
    with ScenarioRunner("litellm==9.9.9", target_factory=targets) as runner:
        result = runner.run_all([parse_scenario(text)])
    return result, targets


def test_a_model_named_in_the_query_next_to_an_allowed_body_model_is_a_bypass_named_with_its_route() -> None:
    result, targets = _run(query_overrides_body=True)
    (scenario,) = result.scenarios
    outcomes = {v.check_id: v.outcome for v in scenario.verdicts}
    assert outcomes["sweep-limited-key::svc::chat::gpt-4o"] is Outcome.PASS  # the body model is checked
    assert outcomes["sweep-limited-key::svc::query_over_body::gpt-4o"] is Outcome.FAIL
    assert outcomes["sweep-limited-key::svc::query_over_body::gpt-4o::/chat/completions"] is Outcome.FAIL
    assert outcomes["sweep-limited-key::svc::body_over_query::gpt-4o"] is Outcome.PASS  # refused: body checked
    assert outcomes["sweep-limited-key::svc::embeddings::gpt-4o"] is Outcome.PASS
    assert outcomes["sweep-limited-key::svc::model_group_info"] is Outcome.PASS
    assert [hit.model for hit in targets.proxies[0].upstream.all_hits()].count("gpt-4o") == 2

    view = build_view(result)
    assert [e.title for _, e in view.bypasses] == [
        "svc cannot call gpt-4o named in ?model= over an allowed body model via /v1/chat/completions",
        "svc cannot call gpt-4o named in ?model= over an allowed body model via /chat/completions"]
    assert view.failing[0][1].bypass  # bypasses lead every list of failures
    (row,) = [r for r in view.scenarios[0].routes if r.model == "gpt-4o"]
    assert row.summary == "9 routes: 2 bypass, 7 pass"

    markdown = render_markdown(result)
    assert ("| 🚨 bypass | sweep-limited-key | svc cannot call gpt-4o named in ?model= over an allowed body model "
            "via /v1/chat/completions | `POST /v1/chat/completions?model=gpt-4o` | denied | allowed (200) |") in markdown
    assert "Route coverage: 100% (5 of 5 model-bearing routes)" in markdown

    out = StringIO()
    print_verdicts(result, Console(file=out, width=200))
    text = " ".join(out.getvalue().split())
    assert "✗ BYPASS svc cannot call gpt-4o on every route: bypass on POST /v1/chat/completions?model=gpt-4o" in text
    assert text.endswith("route coverage: 100% (5 of 5 model-bearing routes)")
    assert result.routes is not None and result.routes.share == 1.0


def test_a_model_the_scenarios_own_check_saw_allowed_is_not_swept_again() -> None:
    # svc is over-broad: its team lets it call gpt-4o, so every route would repeat that finding
    text = SCENARIO.replace("    models: [gpt-4o-mini]\n", "    models: [gpt-4o-mini, gpt-4o]\n")
    result, targets = _run(text)
    verdicts = {v.check_id: v for v in result.scenarios[0].verdicts}
    assert verdicts["sweep-limited-key::svc::chat::gpt-4o"].outcome is Outcome.FAIL
    skipped = verdicts["sweep-limited-key::svc::embeddings::gpt-4o"]
    assert skipped.outcome is Outcome.SKIP
    assert skipped.check.skip_reason == ("not swept: POST /v1/chat/completions already lets svc call gpt-4o "
                                         "(the sweep looks for routes that let through what that route denies)")
    assert not any(hit.path == "/v1/embeddings" for hit in targets.proxies[0].upstream.all_hits())


@pytest.mark.slow  # a pytest subprocess
def test_through_pytest_each_swept_key_is_one_test_that_fails_on_a_bypass_naming_its_route(tmp_path) -> None:
    import os
    import subprocess
    import sys
    import xml.etree.ElementTree as ET
    from pathlib import Path

    from harness.store.documents import write_results
    from tests.fixtures.fake_runner import ENV

    result, _ = _run(query_overrides_body=True)
    recorded = write_results(result, tmp_path / "recorded.json")
    scenarios = tmp_path / "scenarios"
    scenarios.mkdir()
    (scenarios / "sweep.yaml").write_text(SCENARIO)
    done = subprocess.run(
        [sys.executable, "-m", "pytest", str(scenarios), "-p", "tests.fixtures.fake_runner", "-p",
         "tests.fixtures.fake_releases", "-p", "no:cacheprovider", "--target", "litellm==1.82.3", "-q",
         f"--junitxml={tmp_path / 'junit.xml'}"],
        cwd=Path(__file__).parents[2], capture_output=True, text=True, timeout=120,
        env={**os.environ, ENV: str(recorded), "GATECONFORM_CACHE_DIR": str(tmp_path / "cache")})
    assert done.returncode == 1, done.stdout + done.stderr
    cases = {c.get("name"): c for c in ET.parse(tmp_path / "junit.xml").getroot().iter("testcase")}
    assert cases["svc cannot call gpt-4o"].find("failure") is None  # the written check holds
    failure = cases["svc on every model-bearing route"].find("failure")
    assert failure is not None
    assert "BYPASS POST /v1/chat/completions?model=gpt-4o: svc cannot call gpt-4o named in ?model=" in failure.text
    assert "expectation: " in failure.text and "sweep.yaml:8 (expect.svc)" in failure.text


def test_each_round_of_a_timeline_is_swept_with_its_own_expectations() -> None:
    timeline = """\
id: sweep-rounds
title: a key whose limits change between rounds
models: [gpt-4o, gpt-4o-mini]
keys:
  - name: svc
    models: [gpt-4o-mini]
steps:
  - round: before
    expect:
      svc: {can_call: [gpt-4o-mini], cannot_call: [gpt-4o]}
  - update: {key: svc, models: [gpt-4o]}
  - round: after
    expect:
      svc: {can_call: [gpt-4o], cannot_call: [gpt-4o-mini]}
"""
    swept = [c for c in _swept(timeline) if c.oracle == SWEEP and c.probe == "embeddings"]
    assert [(c.principal_segment, c.model) for c in swept] == [("svc@before", "gpt-4o"), ("svc@after", "gpt-4o-mini")]
    assert len({c.id for c in _swept(timeline)}) == len(_swept(timeline))


def test_a_denied_model_served_by_one_of_its_deployments_is_a_bypass() -> None:
    from harness.model.observation import Observation, UpstreamHit
    from harness.model.verdict import Verdict
    from harness.report.routes_view import is_bypass

    check = Check("s", "svc", "embeddings", model="claude", expect=Expect.DENIED, variant="/embeddings",
                  oracle=SWEEP, deployments=frozenset({"claude-east", "claude-west"}))
    obs = Observation("embeddings", "svc", "claude", status=200,
                      upstream_hits=[UpstreamHit("claude-3-west", "/v1/embeddings", "m1", 0.0, "claude-west")])
    assert is_bypass(Verdict(check, Outcome.FAIL, "allowed", obs, "denied", "allowed (200)"))
