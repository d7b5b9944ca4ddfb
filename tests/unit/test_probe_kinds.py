"""Probe kinds as a registry: today's two kinds, ids that did not move, and a new kind that
needs nothing but its own declaration.

The toy kind below (`ping`) differs from both built-in kinds on every point a later kind may
differ on: the model in the path, the marker in the query string, its own auth header, its own
answer shape and its own sentence. The runner, the judge and the reports handle it only
because it is registered.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from harness.common.redact import Redactor
from harness.compare.gate import ExpectedFailuresError, parse_expected_failures
from harness.judge import judge
from harness.model.check import Check, Expect, Judgement
from harness.model.observation import Observation, UpstreamHit
from harness.model.refusal import Refusal
from harness.model.results import RunResult, ScenarioResult
from harness.model.verdict import Outcome
from harness.oracle.explicit import checks_for
from harness.probes import chat, registry
from harness.probes.kind import BodyShape, ProbeAsk, ProbeKind, ProbeRequest
from harness.probes.run import run_probes
from harness.report.allure import labels_for
from harness.report.html import render_html
from harness.report.markdown import render_markdown
from harness.report.text import evidence_text, severity
from harness.report.view import build_view
from harness.scenario.loader import load_scenarios
from harness.store.documents import read_results
from harness.targets.base import Endpoint

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = sorted((ROOT / "tests" / "fixtures").glob("results-*.json"))


# --------------------------------------------------------------------------- today's kinds


BUILT_IN_NAMES = [kind.name for kind in registry.BUILT_IN]


def test_the_registry_holds_todays_two_kinds_first() -> None:
    assert registry.names()[:2] == ["list_models", "chat"]
    assert registry.names() == BUILT_IN_NAMES
    listing, call = registry.kind_named("list_models"), registry.kind_named("chat")
    assert (listing.judgement, listing.takes_model, listing.request_text(None)) == (
        Judgement.LISTING, False, "GET /v1/models")
    assert (call.judgement, call.takes_model, call.request_text(None)) == (
        Judgement.CALL, True, "POST /v1/chat/completions")
    assert (listing.reaches_upstream, call.reaches_upstream) == (False, True)
    assert registry.default_kind(Judgement.LISTING) is listing
    assert registry.default_kind(Judgement.CALL) is call


def test_the_chat_request_is_the_one_sent_before_the_registry() -> None:
    request = chat.KIND.request(ProbeAsk("svc", "gpt-4o", "gc-1234abcd-3"))
    assert (request.method, request.url, dict(request.params), dict(request.headers)) == (
        "POST", "/v1/chat/completions", {}, {})
    assert request.json == {
        "model": "gpt-4o",
        "messages": [{"role": "user",
                      "content": "gateconform access probe [gateconform-probe:gc-1234abcd-3]: reply with ok"}],
        "max_tokens": 5,
        "stream": False,
    }
    assert chat.KIND.auth_headers("sk-x") == {"Authorization": "Bearer sk-x"}


def _written_as_before(check: Check) -> bool:
    """An exact listing, or a call expected allowed or denied, with none of v2's sharper fields."""
    if check.probe == "list_models":
        return check.listed is not None and not any(
            (check.includes, check.excludes, check.no_wildcards, check.no_duplicates))
    return check.expect in (Expect.ALLOWED, Expect.DENIED) and not any(
        (check.served_by, check.deployments, check.denial_status, check.denial_type, check.denial_message))


def _old_id(check: Check) -> str:
    """The id formula before probe kinds were a registry."""
    return "::".join([check.scenario_id, check.principal, check.probe] + ([check.model] if check.model else []))


def _old_title(check: Check) -> str:
    if check.probe == "list_models":
        return f"{check.principal} lists exactly [{', '.join(sorted(check.listed or ())) or 'nothing'}]"
    return f"{check.principal} {'can call' if check.expect is Expect.ALLOWED else 'cannot call'} {check.model}"


def test_every_check_of_the_library_keeps_its_id_and_title() -> None:
    """A one-round scenario (today's syntax) keeps today's check ids; rounds add their own segment."""
    scenarios = load_scenarios(ROOT / "scenarios")
    files = [*(ROOT / "scenarios").rglob("*.yaml"), *(ROOT / "scenarios").rglob("*.yml")]
    assert len(scenarios) == len(files) >= 15
    one_round = [scenario for scenario in scenarios if scenario.steps is None]
    checks = [check for scenario in one_round for check in checks_for(scenario) if _written_as_before(check)]
    assert len(checks) > len(one_round)
    assert [c.id for c in checks] == [_old_id(c) for c in checks]
    assert [c.title for c in checks] == [_old_title(c) for c in checks]
    assert {c.probe for c in checks} == {"list_models", "chat"}


@pytest.mark.parametrize("fixture", FIXTURES, ids=lambda p: p.name)
def test_real_results_documents_read_back_with_the_same_ids_and_check_documents(fixture: Path) -> None:
    stored = json.loads(fixture.read_text())
    verdicts = [v for s in stored["scenarios"] for v in s["verdicts"]]
    reread = [v for s in json.loads(read_results(fixture).to_json())["scenarios"] for v in s["verdicts"]]

    assert [v["check"] for v in reread] == [v["check"] for v in verdicts]  # no `variant` key added
    assert [v["observation"] for v in reread] == [v["observation"] for v in verdicts]
    checks = [v.check for s in read_results(fixture).scenarios for v in s.verdicts]
    assert [c.id for c in checks] == [v["check_id"] for v in verdicts]
    assert [c.title for c in checks] == [v["title"] for v in verdicts]


# --------------------------------------------------------------------------- variants


def test_a_variant_is_one_more_id_segment_a_suffix_of_the_title_and_absent_until_set() -> None:
    plain = Check("scn", "svc", "chat", model="gpt-4o", expect=Expect.DENIED)
    routed = Check("scn", "svc", "chat", model="gpt-4o", expect=Expect.DENIED, variant="/chat/completions")
    listing = Check("scn", "svc", "list_models", listed=frozenset({"a"}), variant="/models")

    assert plain.id == "scn::svc::chat::gpt-4o"
    assert routed.id == "scn::svc::chat::gpt-4o::/chat/completions"
    assert listing.id == "scn::svc::list_models::/models"
    assert routed.title == "svc cannot call gpt-4o via /chat/completions"
    assert routed != plain

    result = ScenarioResult(id="scn", title="t", verdicts=[judge(plain, None, REFUSALS), judge(routed, None, REFUSALS)])
    documents = [v["check"] for v in json.loads(result.model_dump_json())["verdicts"]]
    assert "variant" not in documents[0]
    assert documents[1]["variant"] == "/chat/completions"
    assert ScenarioResult.model_validate_json(result.model_dump_json()).verdicts[1].check == routed


@pytest.mark.parametrize("variant", ["", "a::b"])
def test_a_variant_that_would_break_the_id_is_refused(variant: str) -> None:
    with pytest.raises(ValueError, match="variant"):
        Check("scn", "svc", "chat", model="m", expect=Expect.ALLOWED, variant=variant)


def test_an_observation_of_another_variant_is_not_evidence() -> None:
    routed = Check("scn", "svc", "chat", model="m", expect=Expect.ALLOWED, variant="/chat/completions")
    plain_obs = Observation(probe="chat", principal="svc", model="m", status=200, shape="completion")
    verdict = judge(routed, plain_obs, REFUSALS)
    assert verdict.outcome is Outcome.ERROR and "another probe" in verdict.message


# --------------------------------------------------------------------------- the registry's rules


def test_the_registry_refuses_a_taken_name_and_a_second_default() -> None:
    with pytest.raises(ValueError, match="registered already"):
        registry.register(chat.KIND)
    second = ProbeKind(name="chat2", judgement=Judgement.CALL, method="POST", path="/x", takes_model=True,
                       answer=chat.KIND.answer, shapes=chat.KIND.shapes, reaches_upstream=True, default=True)
    with pytest.raises(ValueError, match="'chat' is already the default kind for call checks"):
        registry.register(second)
    assert registry.names() == BUILT_IN_NAMES


def test_a_check_of_an_unregistered_kind_is_not_probed_and_judged_an_error() -> None:
    check = Check("scn", "svc", "pong", model="m", expect=Expect.DENIED)
    sent: list[httpx.Request] = []
    transport = httpx.MockTransport(lambda request: sent.append(request) or httpx.Response(500))

    observations = run_probes(_endpoint(_FakeUpstream()), {"svc": SVC_KEY}, [check], Redactor(),
                              settle_s=0, transport=transport)
    verdict = judge(check, observations.get(check.id), REFUSALS)

    assert observations == {} and sent == []
    assert verdict.outcome is Outcome.ERROR
    assert verdict.message == "svc cannot call m: no probe kind named 'pong' is registered"


# --------------------------------------------------------------------------- a new kind


def _read_pong(body: dict[str, Any], obs: Observation) -> bool:
    return isinstance(body.get("pong"), str)


PONG = BodyShape("pong", "a pong", _read_pong, layout='{"pong": str}')


@dataclass(frozen=True)
class PingKind(ProbeKind):
    """`GET /v1/ping/{model}?probe=<marker>` with the key in `x-api-key`: can the key ping the model."""

    def request(self, ask: ProbeAsk) -> ProbeRequest:
        return ProbeRequest("GET", f"/v1/ping/{ask.model}", params={"probe": ask.marker},
                            headers={"x-toy": ask.variant or "plain"})

    def auth_headers(self, key: str) -> dict[str, str]:
        return {"x-api-key": key}

    def title(self, check: Check) -> str:
        verb = "can ping" if check.expect is Expect.ALLOWED else "cannot ping"
        return f"{check.principal} {verb} {check.model}"


PING = PingKind(name="ping", judgement=Judgement.CALL, method="GET", path="/v1/ping/{model}", takes_model=True,
                answer=PONG, shapes=(PONG,), reaches_upstream=True)

SVC_KEY = "sk-svc-generated-1111bbbb"
PINGABLE = {"toy-a"}
REFUSALS = (Refusal(401),)


class _FakeUpstream:
    """Records what the fake gateway forwards, by marker (what `Endpoint.upstream` offers)."""

    def __init__(self) -> None:
        self.recorded: list[UpstreamHit] = []
        self.url = "http://upstream.invalid"

    def hits(self, marker: str) -> list[UpstreamHit]:
        return [hit for hit in self.recorded if hit.marker == marker]

    def all_hits(self) -> list[UpstreamHit]:
        return list(self.recorded)


def _gateway(upstream: _FakeUpstream, seen: list[httpx.Request]) -> httpx.MockTransport:
    """A gateway that lets `svc` ping `toy-a` (forwarding it upstream) and refuses the rest."""

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        model = re.fullmatch(r"/v1/ping/([^/]+)", request.url.path).group(1)  # type: ignore[union-attr]
        if request.headers.get("x-api-key") == SVC_KEY and model in PINGABLE:
            upstream.recorded.append(UpstreamHit(model, "/ping", request.url.params["probe"], time.time()))
            return httpx.Response(200, json={"pong": model})
        return httpx.Response(401, json={"error": {"message": "not allowed", "type": "auth_error"}})

    return httpx.MockTransport(handle)


def _endpoint(upstream: _FakeUpstream) -> Endpoint:
    return Endpoint("http://gateway.invalid", "sk-master-0000aaaa", upstream, "0.0.0-toy", "toy gateway")


@pytest.fixture
def ping() -> Any:
    with registry.registered(PING):
        yield PING
    assert registry.names() == BUILT_IN_NAMES


def test_a_registered_kind_is_probed_judged_and_reported_without_knowing_it(ping: ProbeKind) -> None:
    allowed = Check("toy", "svc", "ping", model="toy-a", expect=Expect.ALLOWED)
    denied = Check("toy", "svc", "ping", model="toy-b", expect=Expect.DENIED)
    regression = Check("toy", "svc", "ping", model="toy-a", expect=Expect.DENIED, variant="twice")
    upstream, seen = _FakeUpstream(), []

    observations = run_probes(_endpoint(upstream), {"svc": SVC_KEY}, [allowed, denied, regression], Redactor(),
                              settle_s=0, transport=_gateway(upstream, seen))
    verdicts = [judge(check, observations[check.id], REFUSALS) for check in (allowed, denied, regression)]

    # the runner sent what the kind asked for: model in the path, marker in the query, its own headers
    assert sorted(r.url.path for r in seen) == ["/v1/ping/toy-a", "/v1/ping/toy-a", "/v1/ping/toy-b"]
    assert {r.headers["x-api-key"] for r in seen} == {SVC_KEY} and "authorization" not in seen[0].headers
    assert sorted(r.headers["x-toy"] for r in seen) == ["plain", "plain", "twice"]
    assert all(r.url.params["probe"] == r.headers["x-gateconform-probe"] for r in seen)
    obs = observations[allowed.id]
    assert (obs.probe, obs.shape, obs.url) == ("ping", "pong", f"/v1/ping/toy-a?probe={obs.marker}")
    assert [(h.model, h.marker) for h in obs.upstream_hits] == [("toy-a", obs.marker)]
    assert observations[regression.id].variant == "twice"

    # the judge used the kind's answer shape and the call rule
    assert [v.outcome for v in verdicts] == [Outcome.PASS, Outcome.PASS, Outcome.FAIL]
    assert [v.title for v in verdicts] == ["svc can ping toy-a", "svc cannot ping toy-b", "svc cannot ping toy-a"]
    assert verdicts[2].check_id == "toy::svc::ping::toy-a::twice"
    assert verdicts[2].message == ("svc cannot ping toy-a: expected denied, observed allowed "
                                   "(HTTP 200, upstream received 1 request)")

    # the reports: matrix cells, evidence, texts, labels
    run = RunResult.new("toy gateway", run_id="toy-run")
    run.scenarios.append(ScenarioResult(id="toy", title="Toy", verdicts=verdicts))
    view = build_view(run)
    (scenario,) = view.scenarios
    assert [c.model for c in scenario.columns] == ["toy-a", "toy-b"]
    assert [(cell.call.state, cell.listed.state) for cell in scenario.rows[0].cells] == [
        ("fail", "none"), ("pass", "none")]
    failing = scenario.failing[0]
    assert (failing.title, failing.probe, failing.upstream_evidence) == (
        "svc cannot ping toy-a", f"GET /v1/ping/toy-a?probe={observations[regression.id].marker}", True)
    assert "upstream requests: 1" in evidence_text(verdicts[2])
    assert severity(verdicts[2]) == "critical"
    assert ("tag", "ping") in labels_for("toy gateway", "toy", "Toy", verdicts[2])
    assert "svc cannot ping toy-a" in render_markdown(run)
    assert "received 1 request" in render_html(run)


def test_a_registered_kinds_2xx_without_its_shape_is_an_error(ping: ProbeKind) -> None:
    check = Check("toy", "svc", "ping", model="toy-a", expect=Expect.ALLOWED)
    obs = Observation(probe="ping", principal="svc", model="toy-a", status=200, shape="completion")
    verdict = judge(check, obs, REFUSALS)
    assert verdict.outcome is Outcome.ERROR
    assert verdict.message.startswith('svc can ping toy-a: expected allowed, but HTTP 200 came with a body '
                                      'that is not a pong ({"pong": str})')


def test_known_failure_lists_accept_the_ids_of_registered_kinds_only() -> None:
    text = "- check: toy::svc::ping::toy-a::twice\n  why: a toy\n"
    with pytest.raises(ExpectedFailuresError, match="unknown probe 'ping'"):
        parse_expected_failures(text, "known.yaml")
    with registry.registered(PING):
        (entry,) = parse_expected_failures(text, "known.yaml").entries
    assert entry.matches("toy::svc::ping::toy-a::twice")
