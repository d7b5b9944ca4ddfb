"""judge() fails closed: only clear evidence passes; doubt is ERROR, never PASS or "denied"."""

from __future__ import annotations

from dataclasses import replace

import pytest

from harness.model.check import Check, Expect
from harness.model.observation import (
    SHAPE_COMPLETION,
    SHAPE_ERROR,
    SHAPE_NOT_JSON,
    SHAPE_OTHER_JSON,
    Observation,
)
from harness.model.reasons import ErrorReason
from harness.model.refusal import Refusal
from harness.model.observation import UpstreamHit
from harness.model.verdict import Outcome, error_verdict
from harness.gateways.litellm.refusals import REFUSALS
from harness.judge import judge

ALLOWED = Check("s", "svc", "chat", model="gpt-4o", expect=Expect.ALLOWED)
DENIED = Check("s", "svc", "chat", model="gpt-4o", expect=Expect.DENIED)
LIST = Check("s", "svc", "list_models", listed=frozenset({"gpt-4o-mini"}))


def hit(model: str = "gpt-4o") -> UpstreamHit:
    return UpstreamHit(model=model, path="/v1/chat/completions", marker="m1", received_at=1.0)


def chat(status, shape=None, hits=(), error_type=None, transport_error=None) -> Observation:
    message = "key not allowed to access model" if error_type else None
    return Observation(
        probe="chat", principal="svc", model="gpt-4o", status=status, shape=shape,
        upstream_hits=list(hits), error_type=error_type, error_message=message,
        transport_error=transport_error, marker="m1",
    )


COMPLETED = chat(200, SHAPE_COMPLETION, [hit()])
REFUSED = chat(401, SHAPE_ERROR, error_type="key_model_access_denied")
# What 1.108.7 answered a key generated for a team id that does not exist (measured):
# 404 {"error": {"message": "{'error': \"Team doesn't exist in db. …\"}", "type": "auth_error", …}}
TEAM_GONE = replace(chat(404, SHAPE_ERROR, error_type="auth_error"),
                    error_message="{'error': \"Team doesn't exist in db. Team=t1. Create team via `/team/new` call.\"}")

CALL_CASES = [
    # (name, check, observation, outcome, observed)
    ("allowed: 200 + upstream hit", ALLOWED, COMPLETED, Outcome.PASS, "allowed (200)"),
    ("allowed: 201 counts as 2xx", ALLOWED, chat(201, SHAPE_COMPLETION, [hit()]), Outcome.PASS, "allowed (201)"),
    ("denied: 401 error shape, no hit", DENIED, REFUSED, Outcome.PASS, "denied (401)"),
    ("denied: 403 error shape, no hit", DENIED, chat(403, SHAPE_ERROR, error_type="x"), Outcome.PASS, "denied (403)"),
    ("over-broad: 200 + hit when denied", DENIED, COMPLETED, Outcome.FAIL, "allowed (200)"),
    ("missing access: 401 when allowed", ALLOWED, REFUSED, Outcome.FAIL, "denied (401)"),
    ("200 but upstream got nothing (allowed)", ALLOWED, chat(200, SHAPE_COMPLETION), Outcome.ERROR, "200 without upstream call"),
    ("200 but upstream got nothing (denied)", DENIED, chat(200, SHAPE_COMPLETION), Outcome.ERROR, "200 without upstream call"),
    ("200 but upstream got another model", ALLOWED, chat(200, SHAPE_COMPLETION, [hit("gpt-4o-mini")]), Outcome.ERROR, "200, wrong model"),
    ("200 with malformed body", ALLOWED, chat(200, SHAPE_OTHER_JSON, [hit()]), Outcome.ERROR, "malformed 200"),
    ("200 with non-JSON body", ALLOWED, chat(200, SHAPE_NOT_JSON, [hit()]), Outcome.ERROR, "malformed 200"),
    ("denial after upstream call (denied)", DENIED, replace(REFUSED, upstream_hits=[hit()]), Outcome.ERROR, "401 after upstream call"),
    ("denial after upstream call (allowed)", ALLOWED, replace(REFUSED, upstream_hits=[hit()]), Outcome.ERROR, "401 after upstream call"),
    ("401 without error shape", DENIED, chat(401, SHAPE_NOT_JSON), Outcome.ERROR, "401, odd body"),
    ("403 with other JSON", ALLOWED, chat(403, SHAPE_OTHER_JSON), Outcome.ERROR, "403, odd body"),
    ("500 (denied)", DENIED, chat(500, SHAPE_ERROR, error_type="internal_server_error"), Outcome.ERROR, "HTTP 500"),
    ("500 after upstream call (allowed)", ALLOWED, chat(500, SHAPE_ERROR, [hit()], "x"), Outcome.ERROR, "HTTP 500"),
    ("502 (allowed)", ALLOWED, chat(502, SHAPE_NOT_JSON), Outcome.ERROR, "HTTP 502"),
    ("400 (denied)", DENIED, chat(400, SHAPE_ERROR, error_type="bad_request_error"), Outcome.ERROR, "HTTP 400"),
    ("404 (denied)", DENIED, chat(404, SHAPE_ERROR, error_type="not_found"), Outcome.ERROR, "HTTP 404"),
    # LiteLLM's auth layer answers 404 auth_error for a key whose team, access group or org is gone
    ("404 auth_error, no hit (denied)", DENIED, TEAM_GONE, Outcome.PASS, "denied (404)"),
    ("404 auth_error, no hit (allowed)", ALLOWED, TEAM_GONE, Outcome.FAIL, "denied (404)"),
    ("404 without error shape", DENIED, chat(404, SHAPE_OTHER_JSON), Outcome.ERROR, "404, odd body"),
    ("404 not JSON", DENIED, chat(404, SHAPE_NOT_JSON), Outcome.ERROR, "404, odd body"),
    ("404 auth_error after upstream call", DENIED, replace(TEAM_GONE, upstream_hits=[hit()]), Outcome.ERROR,
     "404 after upstream call"),
    ("400 auth_error (bad request)", DENIED, chat(400, SHAPE_ERROR, error_type="auth_error"), Outcome.ERROR, "HTTP 400"),
    ("400 unknown model", DENIED, chat(400, SHAPE_ERROR, error_type="invalid_request_error"), Outcome.ERROR, "HTTP 400"),
    ("429 budget_exceeded", DENIED, chat(429, SHAPE_ERROR, error_type="budget_exceeded"), Outcome.ERROR, "HTTP 429"),
    ("429 (denied)", DENIED, chat(429, SHAPE_ERROR, error_type="rate_limit"), Outcome.ERROR, "HTTP 429"),
    ("302 (allowed)", ALLOWED, chat(302, SHAPE_NOT_JSON), Outcome.ERROR, "HTTP 302"),
    ("timeout (denied)", DENIED, chat(None, transport_error="timeout after 30s (ReadTimeout)"), Outcome.ERROR, "timeout"),
    ("timeout (allowed)", ALLOWED, chat(None, transport_error="timeout after 30s (ReadTimeout)"), Outcome.ERROR, "timeout"),
    ("connection refused", DENIED, chat(None, transport_error="ConnectError: refused"), Outcome.ERROR, "no response"),
    ("not provisioned", DENIED, chat(None, transport_error="not provisioned (no key for this principal)"), Outcome.ERROR, "not provisioned"),
    ("status missing", DENIED, chat(None), Outcome.ERROR, "no response"),
]


@pytest.mark.parametrize(
    "check,observation,outcome,observed", [c[1:] for c in CALL_CASES], ids=[c[0] for c in CALL_CASES]
)
def test_call_rules(check, observation, outcome, observed):
    verdict = judge(check, observation, refusals=REFUSALS)
    assert verdict.outcome is outcome, verdict.message
    assert verdict.observed == observed
    assert verdict.expected == check.expect.value
    assert verdict.observation is observation
    assert verdict.check_id == check.id and verdict.title == check.title


@pytest.mark.parametrize(
    "check,observation", [c[1:3] for c in CALL_CASES if c[3] is Outcome.ERROR],
    ids=[c[0] for c in CALL_CASES if c[3] is Outcome.ERROR],
)
def test_errors_never_claim_allowed_or_denied(check, observation):
    verdict = judge(check, observation, refusals=REFUSALS)
    assert not verdict.observed.startswith(("allowed", "denied"))
    assert "observed allowed" not in verdict.message and "observed denied" not in verdict.message


def test_messages_read_like_sentences():
    assert judge(DENIED, COMPLETED, refusals=REFUSALS).message == (
        "svc cannot call gpt-4o: expected denied, observed allowed (HTTP 200, upstream received 1 request)"
    )
    assert judge(ALLOWED, REFUSED, refusals=REFUSALS).message == (
        "svc can call gpt-4o: expected allowed, observed denied "
        "(HTTP 401, upstream received nothing; key_model_access_denied: key not allowed to access model)"
    )
    assert judge(DENIED, replace(REFUSED, upstream_hits=[hit(), hit()]), refusals=REFUSALS).message.startswith(
        "svc cannot call gpt-4o: expected denied, but HTTP 401 came after the upstream was called"
    )
    timeout = judge(ALLOWED, chat(None, transport_error="timeout after 30s (ReadTimeout)"), refusals=REFUSALS)
    assert timeout.message == (
        "svc can call gpt-4o: expected allowed, but timeout after 30s (ReadTimeout), "
        "so access is unknown (upstream received nothing)"
    )


def test_a_non_refusal_says_what_would_have_counted():
    verdict = judge(DENIED, chat(404, SHAPE_ERROR, error_type="not_found_error"), refusals=REFUSALS)
    assert verdict.message.startswith(
        "svc cannot call gpt-4o: expected denied, but HTTP 404 is neither allowed (2xx) "
        "nor a refusal (401/403, or 404 auth_error)"
    )


def test_refusals_are_the_gateways_data():
    only_403 = [Refusal(403)]
    assert judge(DENIED, REFUSED, refusals=only_403).outcome is Outcome.ERROR
    assert judge(DENIED, TEAM_GONE, refusals=only_403).outcome is Outcome.ERROR
    assert judge(DENIED, chat(403, SHAPE_ERROR, error_type="x"), refusals=only_403).outcome is Outcome.PASS


def listing(models, status=200, shape="model_list") -> Observation:
    return Observation(probe="list_models", principal="svc", model=None, status=status,
                       shape=shape, listed_models=models)


LIST_CASES = [
    ("exact", LIST, listing(["gpt-4o-mini"]), Outcome.PASS, "[gpt-4o-mini]"),
    ("exact, duplicates noted", LIST, listing(["gpt-4o-mini", "gpt-4o-mini"]), Outcome.PASS, "[gpt-4o-mini]"),
    ("extra", LIST, listing(["gpt-4o", "gpt-4o-mini"]), Outcome.FAIL, "[gpt-4o, gpt-4o-mini]"),
    ("missing", LIST, listing([]), Outcome.FAIL, "[]"),
    ("expected empty, got empty", replace(LIST, listed=frozenset()), listing([]), Outcome.PASS, "[]"),
    ("non-200", LIST, listing(None, status=401, shape=SHAPE_ERROR), Outcome.ERROR, "HTTP 401"),
    ("500", LIST, listing(None, status=500, shape=SHAPE_NOT_JSON), Outcome.ERROR, "HTTP 500"),
    ("odd body", LIST, listing(None, shape=SHAPE_OTHER_JSON), Outcome.ERROR, "odd 200"),
    ("timeout", LIST, replace(listing(None, status=None, shape=None), transport_error="timeout after 1s"), Outcome.ERROR, "timeout"),
]


@pytest.mark.parametrize(
    "check,observation,outcome,observed", [c[1:] for c in LIST_CASES], ids=[c[0] for c in LIST_CASES]
)
def test_listing_rules(check, observation, outcome, observed):
    verdict = judge(check, observation, refusals=REFUSALS)
    assert verdict.outcome is outcome, verdict.message
    assert verdict.observed == observed


def test_listing_failure_names_missing_and_extra_models():
    verdict = judge(LIST, listing(["gpt-4o", "claude-sonnet"]), refusals=REFUSALS)
    assert verdict.outcome is Outcome.FAIL
    assert "missing: gpt-4o-mini; extra: gpt-4o, claude-sonnet" in verdict.message
    assert verdict.expected == "[gpt-4o-mini]"
    assert "extra" not in judge(LIST, listing([]), refusals=REFUSALS).message


def test_skip_reason_skips_whatever_was_observed():
    check = replace(DENIED, skip_reason="access-group entities need LiteLLM >= 1.80")
    for observation in (None, COMPLETED, chat(500)):
        verdict = judge(check, observation, refusals=REFUSALS)
        assert verdict.outcome is Outcome.SKIP
        assert "access-group entities" in verdict.message


def test_missing_or_mismatched_observation_is_error():
    assert judge(ALLOWED, None, refusals=REFUSALS).outcome is Outcome.ERROR
    assert judge(ALLOWED, listing(["gpt-4o"]), refusals=REFUSALS).outcome is Outcome.ERROR
    assert judge(ALLOWED, replace(COMPLETED, principal="other"), refusals=REFUSALS).outcome is Outcome.ERROR


def test_error_verdict_for_failed_provisioning():
    verdict = error_verdict(ALLOWED, "provisioning failed: team 'platform' could not be created",
                            error_reason=ErrorReason.SCENARIO_NOT_RUN)
    assert verdict.outcome is Outcome.ERROR
    assert verdict.message == "svc can call gpt-4o: provisioning failed: team 'platform' could not be created"


def unobserved(status, shape=None, error_type=None) -> Observation:  # type: ignore[no-untyped-def]
    """What a probe sees on a proxy with no recording upstream behind it (a url target without one)."""
    return replace(chat(status, shape, error_type=error_type), upstream_observed=False)


@pytest.mark.parametrize(("check", "observation", "outcome", "observed"), [
    (ALLOWED, unobserved(200, SHAPE_COMPLETION), Outcome.PASS, "allowed (200)"),
    (DENIED, unobserved(200, SHAPE_COMPLETION), Outcome.FAIL, "allowed (200)"),
    (DENIED, unobserved(401, SHAPE_ERROR, "auth_error"), Outcome.PASS, "denied (401)"),
    (ALLOWED, unobserved(500, SHAPE_ERROR), Outcome.ERROR, "HTTP 500"),
    (ALLOWED, unobserved(200, SHAPE_OTHER_JSON), Outcome.ERROR, "malformed 200"),
])
def test_without_a_recording_upstream_the_answer_alone_decides_and_says_so(check, observation, outcome, observed):  # type: ignore[no-untyped-def]
    verdict = judge(check, observation, refusals=REFUSALS)
    assert (verdict.outcome, verdict.observed) == (outcome, observed)
    if outcome is not Outcome.ERROR:
        assert "upstream not observed: the proxy's answer alone" in verdict.message
