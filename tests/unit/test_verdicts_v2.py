"""The sharper expectations, judged: which deployment served a call, calls the docs leave open,
the kind of a denial, listing inclusions, exclusions and properties, and admin calls accepted or
refused — all failing closed as before."""

from __future__ import annotations

from dataclasses import replace

import pytest

from harness.gateways.litellm.refusals import REFUSALS
from harness.judge import judge
from harness.model.check import Check, Expect
from harness.model.observation import SHAPE_ADMIN_ANSWER, SHAPE_COMPLETION, SHAPE_ERROR, Observation, UpstreamHit
from harness.model.reasons import ErrorReason
from harness.model.verdict import Outcome


def hit(model: str = "claude", deployment: str | None = "east") -> UpstreamHit:
    return UpstreamHit(model=model, path="/v1/chat/completions", marker="m1", received_at=1.0, deployment=deployment)


def chat(status: int, hits=(), shape=None, error_type=None, message=None) -> Observation:  # type: ignore[no-untyped-def]
    shape = shape or (SHAPE_COMPLETION if status < 300 else SHAPE_ERROR)
    return Observation(probe="chat", principal="svc", model="claude", status=status, shape=shape,
                       upstream_hits=list(hits), error_type=error_type, error_message=message, marker="m1")


CALL = Check("s", "svc", "chat", model="claude", expect=Expect.ALLOWED, deployments=frozenset({"east", "west"}))
SERVED_EAST = replace(CALL, served_by=frozenset({"east"}))
EITHER = replace(CALL, expect=Expect.EITHER, served_by=frozenset({"east"}), because="docs leave it open")
DENIED_403 = Check("s", "svc", "chat", model="claude", expect=Expect.DENIED, denial_status=403,
                   denial_type="key_model_access_denied", denial_message="not allowed")
REFUSED_403 = chat(403, error_type="key_model_access_denied", message="key not allowed to access model claude")


@pytest.mark.parametrize(("check", "obs", "outcome", "observed"), [
    (CALL, chat(200, [hit(deployment="west")]), Outcome.PASS, "allowed (200)"),
    (SERVED_EAST, chat(200, [hit()]), Outcome.PASS, "allowed, served by east (200)"),
    (SERVED_EAST, chat(200, [hit(deployment="west")]), Outcome.FAIL, "allowed, served by west (200)"),
    # a deployment outside the name's own is not this call: fail closed
    (CALL, chat(200, [hit(deployment="gpt-4o")]), Outcome.ERROR, "200, wrong model"),
    # an upstream that records no deployment: the model's name decides, as before
    (replace(CALL, deployments=None), chat(200, [hit(deployment=None)]), Outcome.PASS, "allowed (200)"),
    (EITHER, REFUSED_403, Outcome.PASS, "denied (403)"),
    (EITHER, chat(200, [hit()]), Outcome.PASS, "allowed, served by east (200)"),
    (EITHER, chat(200, [hit(deployment="west")]), Outcome.FAIL, "allowed, served by west (200)"),
    (EITHER, chat(500), Outcome.ERROR, "HTTP 500"),
    (DENIED_403, REFUSED_403, Outcome.PASS, "denied (403)"),
    (DENIED_403, chat(401, error_type="key_model_access_denied", message="key not allowed"), Outcome.FAIL,
     "denied, but with HTTP 401, not 403 (401)"),
    (DENIED_403, chat(403, error_type="auth_error", message="nope"), Outcome.FAIL,
     "denied, but of type auth_error, not key_model_access_denied; its message does not match /not allowed/ (403)"),
    (DENIED_403, chat(200, [hit(deployment="claude")]), Outcome.FAIL, "allowed (200)"),
])
def test_call_checks(check: Check, obs: Observation, outcome: Outcome, observed: str) -> None:
    verdict = judge(check, obs, REFUSALS)
    assert (verdict.outcome, verdict.observed) == (outcome, observed), verdict.message


def test_a_name_nothing_serves_is_an_error_when_the_upstream_is_called_anyway() -> None:
    unserved = Check("s", "svc", "chat", model="gpt-5", expect=Expect.DENIED, deployments=frozenset())
    verdict = judge(unserved, replace(chat(200, [hit("gpt-5", "openai/*")]), model="gpt-5"), REFUSALS)
    assert (verdict.outcome, verdict.error_reason) == (Outcome.ERROR, ErrorReason.WRONG_MODEL)
    assert "gpt-5 (deployment openai/*)" in verdict.message


LISTING = Check("s", "svc", "list_models", includes=frozenset({"a"}), excludes=frozenset({"all-proxy-models"}),
                no_wildcards=True, no_duplicates=True)


def listed(*names: str) -> Observation:
    return Observation(probe="list_models", principal="svc", model=None, status=200, shape="model_list",
                       listed_models=list(names))


def test_a_listing_with_what_it_must_include_and_nothing_it_must_not_passes() -> None:
    verdict = judge(LISTING, listed("a", "b"), REFUSALS)
    assert verdict.outcome is Outcome.PASS
    assert verdict.message == ("svc lists a; does not list all-proxy-models; lists no wildcard ids and no duplicates: "
                               "the listing is as expected (HTTP 200)")


def test_every_listing_property_broken_is_named() -> None:
    verdict = judge(LISTING, listed("openai/*", "b", "b", "all-proxy-models"), REFUSALS)
    assert verdict.outcome is Outcome.FAIL
    assert ("not listed: a; listed though excluded: all-proxy-models; wildcard ids: openai/*; "
            "listed more than once: b") in verdict.message
    assert verdict.expected == "includes [a]; excludes [all-proxy-models]; no wildcards; no duplicates"


def test_an_exact_listing_reads_as_before() -> None:
    exact = Check("s", "svc", "list_models", listed=frozenset({"a"}))
    assert judge(exact, listed("a"), REFUSALS).message == "svc lists exactly [a]: listed exactly the expected models (HTTP 200)"


ACCEPT = Check("s", "update-key-svc", "admin", expect=Expect.ACCEPTED)
REFUSE = Check("s", "create-key-outside", "admin", expect=Expect.REFUSED)


def answer(status: int | None, message: str | None = None, transport_error: str | None = None) -> Observation:
    return Observation(probe="admin", principal="x", model=None, status=status,
                       shape=SHAPE_ERROR if message else SHAPE_ADMIN_ANSWER, error_message=message,
                       error_type="bad_request_error" if message else None, transport_error=transport_error,
                       url="POST /key/update")


@pytest.mark.parametrize(("check", "obs", "outcome", "observed"), [
    (ACCEPT, answer(200), Outcome.PASS, "accepted (200)"),
    (REFUSE, answer(400, "Model not in team's models"), Outcome.PASS, "refused (400)"),
    (ACCEPT, answer(403, "team admins only"), Outcome.FAIL, "refused (403)"),
    (REFUSE, answer(200), Outcome.FAIL, "accepted (200)"),
    (REFUSE, answer(500, "boom"), Outcome.ERROR, "HTTP 500"),  # a crash is not a refusal
    (ACCEPT, answer(None, transport_error="timeout after 30s (ReadTimeout)"), Outcome.ERROR, "timeout"),
])
def test_admin_checks(check: Check, obs: Observation, outcome: Outcome, observed: str) -> None:
    verdict = judge(check, replace(obs, principal=check.principal), REFUSALS)
    assert (verdict.outcome, verdict.observed) == (outcome, observed), verdict.message


def test_an_unexpected_refusal_fails_with_the_proxys_answer_as_evidence() -> None:
    verdict = judge(ACCEPT, replace(answer(403, "team admins only"), principal=ACCEPT.principal), REFUSALS)
    assert verdict.message == ("update-key-svc is accepted by the admin API: expected accepted, observed refused "
                               "(HTTP 403; bad_request_error: team admins only)")
