"""The probe kinds of the whole request surface: what each sends, how their answers are judged.

Every registered call kind names its model (in the body, the path, the query or a form) and
carries its probe's marker on every route it probes; the judge tells a bypass from a denial on
any of them, lets a companion model's call prove nothing about the checked one, and compares a
listing route with `/v1/models`. Requests go through `httpx.MockTransport` (no proxy).
"""

from __future__ import annotations

import json
from typing import Any, Callable

import httpx
import pytest

from harness.common.redact import Redactor
from harness.judge import judge
from harness.model.check import Check, Expect, Judgement
from harness.model.observation import SHAPE_ERROR, Observation, UpstreamHit
from harness.model.reasons import ErrorReason
from harness.model.refusal import Refusal
from harness.model.verdict import Outcome
from harness.probes import registry
from harness.probes.kind import ProbeAsk, ProbeKind, ProbeRequest
from harness.probes.run import run_probes
from harness.targets.base import Endpoint

REFUSALS = (Refusal(401), Refusal(403))
MARKER = "gc-test-1"
KEY = "sk-key-for-the-test-0001"


def _every_route() -> list[tuple[ProbeKind, str]]:
    return [(kind, route) for kind in registry.kinds() for route in kind.all_routes]


def _request_text(request: ProbeRequest) -> str:
    """Everything of a request a gateway reads, as one text."""
    files = " ".join(content.decode("latin-1") for _, content, _ in request.files.values())
    return " ".join([request.url, json.dumps(request.json), json.dumps(dict(request.form)), files])


@pytest.mark.parametrize(("kind", "route"), _every_route(), ids=lambda value: getattr(value, "name", value))
def test_every_kind_names_its_model_and_its_marker_on_every_route(kind: ProbeKind, route: str) -> None:
    model = "model-under-test" if kind.takes_model else None
    request = kind.request(ProbeAsk("svc", model, MARKER, kind.variant_of(route), companion="the-allowed-one"))
    assert request.method == kind.method and "{" not in request.path  # a concrete request
    if model is not None:
        assert model in _request_text(request)
    if kind.reaches_upstream:
        # where the fake upstream finds it (the runner also sends it as a header)
        assert f"[gateconform-probe:{MARKER}]" in _request_text(request)
    assert kind.title(Check("scn", "svc", kind.name, model=model, variant=kind.variant_of(route),
                            **({"expect": Expect.DENIED} if kind.judgement is Judgement.CALL
                               else {"agrees_with": "/v1/models"}))).startswith("svc ")


def test_the_query_kinds_put_each_model_where_their_name_says() -> None:
    ask = ProbeAsk("svc", "denied-one", MARKER, "/v1/completions", companion="allowed-one")
    query_only = registry.kind_named("query_model").request(ask)
    over_body = registry.kind_named("query_over_body").request(ask)
    under_query = registry.kind_named("body_over_query").request(ask)
    assert (dict(query_only.params), "model" in query_only.json) == ({"model": "denied-one"}, False)
    assert (dict(over_body.params), over_body.json["model"]) == ({"model": "denied-one"}, "allowed-one")
    assert (dict(under_query.params), under_query.json["model"]) == ({"model": "allowed-one"}, "denied-one")
    assert "prompt" in over_body.json  # a completions body on a completions route
    assert registry.kind_named("query_over_body").needs_companion


def test_a_model_in_the_path_is_the_only_model_named() -> None:
    kind = registry.kind_named("path_model")
    request = kind.request(ProbeAsk("svc", "gpt-4o", MARKER, "/engines/{model}/embeddings"))
    assert request.path == "/engines/gpt-4o/embeddings" and "model" not in request.json
    assert kind.answer_for("/engines/{model}/embeddings").name == "embedding_list"
    assert kind.answer_for(None).name == "completion"


def test_anthropic_style_kinds_send_the_key_as_x_api_key() -> None:
    assert registry.kind_named("messages").auth_headers(KEY) == {"x-api-key": KEY, "anthropic-version": "2023-06-01"}


def test_a_route_a_kind_does_not_probe_is_refused() -> None:
    with pytest.raises(ValueError, match="has no route '/nope'"):
        registry.kind_named("embeddings").route_of("/nope")


# --------------------------------------------------------------------------- judging


def _observation(kind: str, model: str | None, status: int, shape: str, hits: list[str] = (), *,
                 variant: str | None = None, **fields: Any) -> Observation:
    obs = Observation(probe=kind, principal="svc", model=model, status=status, shape=shape, variant=variant,
                      upstream_hits=[UpstreamHit(m, "/v1/x", MARKER, 0.0) for m in hits], **fields)
    return obs


def test_a_denied_model_named_in_the_query_over_an_allowed_body_model_that_reaches_the_upstream_fails() -> None:
    check = Check("scn", "svc", "query_over_body", model="gpt-4o", expect=Expect.DENIED)
    bypass = judge(check, _observation("query_over_body", "gpt-4o", 200, "completion", ["gpt-4o"],
                                       companion="gpt-4o-mini"), REFUSALS)
    assert bypass.outcome is Outcome.FAIL and bypass.observed == "allowed (200)"
    assert "named in ?model= over an allowed body model via /v1/chat/completions" in bypass.message


def test_the_gateway_serving_the_allowed_companion_is_no_access_to_the_checked_model() -> None:
    check = Check("scn", "svc", "body_over_query", model="gpt-4o", expect=Expect.DENIED)
    served = judge(check, _observation("body_over_query", "gpt-4o", 200, "completion", ["gpt-4o-mini"],
                                       companion="gpt-4o-mini"), REFUSALS)
    assert served.outcome is Outcome.PASS and served.observed == "served gpt-4o-mini (200)"
    # ... but another model than the companion is not explained away
    stranger = judge(check, _observation("body_over_query", "gpt-4o", 200, "completion", ["claude"],
                                         companion="gpt-4o-mini"), REFUSALS)
    assert stranger.outcome is Outcome.ERROR and stranger.error_reason is ErrorReason.WRONG_MODEL


def test_a_kind_that_does_not_reach_the_upstream_is_allowed_by_its_answer() -> None:
    denied = Check("scn", "svc", "token_counter", model="gpt-4o", expect=Expect.DENIED)
    answered = judge(denied, _observation("token_counter", "gpt-4o", 200, "token_total"), REFUSALS)
    refused = judge(denied, _observation("token_counter", "gpt-4o", 403, SHAPE_ERROR,
                                         error_type="key_model_access_denied"), REFUSALS)
    assert (answered.outcome, refused.outcome) == (Outcome.FAIL, Outcome.PASS)


def test_each_route_of_a_kind_has_its_own_answer() -> None:
    check = Check("scn", "svc", "responses", model="m", expect=Expect.ALLOWED, variant="/v1/responses/input_tokens")
    counted = judge(check, _observation("responses", "m", 200, "token_count", ["m"],
                                        variant="/v1/responses/input_tokens"), REFUSALS)
    wrong = judge(check, _observation("responses", "m", 200, "response", ["m"],
                                      variant="/v1/responses/input_tokens"), REFUSALS)
    assert counted.outcome is Outcome.PASS
    assert wrong.outcome is Outcome.ERROR and "not a token count" in wrong.message


def _agreement(kind: str, model: str | None = None, variant: str | None = None) -> Check:
    return Check("scn", "svc", kind, model=model, variant=variant, agrees_with="/v1/models", oracle="sweep")


def test_a_listing_route_agrees_with_what_v1_models_lists() -> None:
    check = _agreement("model_info", variant="/v2/model/info")
    same = judge(check, _observation("model_info", None, 200, "model_info_list", variant="/v2/model/info",
                                     listed_models=["a"], reference_models=["a"]), REFUSALS)
    more = judge(check, _observation("model_info", None, 200, "model_info_list", variant="/v2/model/info",
                                     listed_models=["a", "b"], reference_models=["a"]), REFUSALS)
    assert same.outcome is Outcome.PASS and same.expected == "as /v1/models: [a]"
    assert more.outcome is Outcome.FAIL and "extra: b" in more.message
    assert more.title == "svc lists what /v1/models lists via /v2/model/info"


def test_a_listing_route_that_refuses_the_key_is_skipped_and_one_without_a_reference_is_an_error() -> None:
    check = _agreement("model_group_info")
    refused = judge(check, _observation("model_group_info", None, 401, SHAPE_ERROR, error_type="auth_error",
                                        reference_models=["a"], url="/model_group/info"), REFUSALS)
    assert refused.outcome is Outcome.SKIP and "GET /model_group/info refuses this key" in refused.message
    lost = judge(check, _observation("model_group_info", None, 200, "model_group_list", listed_models=["a"]), REFUSALS)
    assert lost.outcome is Outcome.ERROR and lost.error_reason is ErrorReason.NO_REFERENCE_LISTING


def test_a_key_refused_by_v1_models_is_judged_by_whether_the_other_route_refuses_it_too() -> None:
    """A blocked key: /v1/models refuses it (401), so the other listing routes have nothing to agree with."""
    check = _agreement("model_group_info")
    blocked = {"reference_status": 401, "reference_error_type": "auth_error",
               "reference_error_message": "Authentication Error, Key is blocked."}
    refused_too = judge(check, _observation("model_group_info", None, 401, SHAPE_ERROR, error_type="auth_error",
                                            url="/model_group/info", **blocked), REFUSALS)
    assert refused_too.outcome is Outcome.SKIP and "/v1/models refuses this key (HTTP 401 auth_error" in refused_too.message
    leaks = judge(check, _observation("model_group_info", None, 200, "model_group_list", listed_models=["a"],
                                      **blocked), REFUSALS)
    assert leaks.outcome is Outcome.FAIL and leaks.observed == "listed [a]" and "Key is blocked" in leaks.message
    empty = judge(check, _observation("model_group_info", None, 200, "model_group_list", listed_models=[], **blocked),
                  REFUSALS)
    assert empty.outcome is Outcome.SKIP
    # fail closed: a reference that broke (5xx) or a compared route that broke is still an ERROR
    outage = judge(check, _observation("model_group_info", None, 200, "model_group_list", listed_models=["a"],
                                       reference_status=500, reference_error_type="internal_error"), REFUSALS)
    assert outage.outcome is Outcome.ERROR and outage.error_reason is ErrorReason.NO_REFERENCE_LISTING
    broke = judge(check, _observation("model_group_info", None, 502, SHAPE_ERROR, error_type="bad_gateway",
                                      **blocked), REFUSALS)
    assert broke.outcome is Outcome.ERROR


def test_a_retrieved_model_is_listed_and_a_missing_one_is_not() -> None:
    for model, status, listed, outcome in [("a", 200, ["a"], Outcome.PASS), ("b", 404, None, Outcome.PASS),
                                           ("a", 404, None, Outcome.FAIL), ("b", 200, ["b"], Outcome.FAIL)]:
        obs = _observation("retrieve_model", model, status, "model_object" if listed else "other_json",
                           listed_models=listed, reference_models=["a"],
                           error_message=None if listed else "model not found")
        verdict = judge(_agreement("retrieve_model", model), obs, REFUSALS)
        assert verdict.outcome is outcome, (model, status)
    assert _agreement("retrieve_model", "a").title == "svc lists a only if /v1/models does via /v1/models/{model_id}"


# --------------------------------------------------------------------------- sending


class _Recorder:
    def __init__(self) -> None:
        self.recorded: list[UpstreamHit] = []
        self.url = "http://upstream.invalid"

    def hits(self, marker: str) -> list[UpstreamHit]:
        return [hit for hit in self.recorded if hit.marker == marker]

    def all_hits(self) -> list[UpstreamHit]:
        return list(self.recorded)


def _probe(checks: list[Check], answer: Callable[[httpx.Request], httpx.Response]) -> tuple[dict[str, Observation], list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answer(request)

    endpoint = Endpoint("http://gateway.invalid", "sk-master-0000aaaa", _Recorder(), "0", "fake")
    observations = run_probes(endpoint, {"svc": KEY}, checks, Redactor(), settle_s=0,
                              transport=httpx.MockTransport(handle))
    return observations, seen


def test_a_companion_is_the_principals_first_allowed_model() -> None:
    checks = [Check("scn", "svc", "chat", model="mini", expect=Expect.ALLOWED),
              Check("scn", "svc", "query_over_body", model="big", expect=Expect.DENIED, oracle="sweep")]
    observations, seen = _probe(checks, lambda request: httpx.Response(403, json={"error": {"message": "no", "type": "x"}}))
    over_body = next(r for r in seen if r.url.params.get("model") == "big")
    assert json.loads(over_body.content)["model"] == "mini"
    assert observations[checks[1].id].companion == "mini"


def test_a_listing_is_compared_with_v1_models_even_when_no_check_asks_for_it() -> None:
    check = _agreement("model_group_info")

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v1/models":
            return httpx.Response(200, json={"data": [{"id": "a"}]})
        return httpx.Response(200, json={"data": [{"model_group": "a"}, {"model_group": "b"}]})

    observations, seen = _probe([check], answer)
    assert sorted(r.url.path for r in seen) == ["/model_group/info", "/v1/models"]
    verdict = judge(check, observations[check.id], REFUSALS)
    assert verdict.outcome is Outcome.FAIL and "extra: b" in verdict.message


def test_forms_streams_and_audio_are_sent_and_read() -> None:
    checks = [Check("scn", "svc", "audio", model="whisper", expect=Expect.ALLOWED, variant="/v1/audio/transcriptions"),
              Check("scn", "svc", "audio", model="tts", expect=Expect.ALLOWED),
              Check("scn", "svc", "generate_content", model="g", expect=Expect.ALLOWED,
                    variant="/v1beta/models/{model_name}:streamGenerateContent")]

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("transcriptions"):
            assert request.headers["content-type"].startswith("multipart/form-data")
            assert b'name="model"' in request.content and b"whisper" in request.content
            return httpx.Response(200, json={"text": "ok"})
        if request.url.path.endswith("speech"):
            return httpx.Response(200, content=b"\xff\xfb\x90", headers={"content-type": "audio/mpeg"})
        event = json.dumps({"candidates": [{"content": {"parts": [{"text": "ok"}]}}]})
        return httpx.Response(200, text=f"data: {event}\n\n", headers={"content-type": "text/event-stream"})

    observations, _ = _probe(checks, answer)
    shapes = [observations[c.id].shape for c in checks]
    assert shapes == ["transcription", "audio", "generated_content"]
    assert observations[checks[1].id].body_excerpt == "<3 bytes of audio/mpeg>"


def test_a_connection_closed_before_any_answer_is_tried_once_more() -> None:
    check = Check("scn", "svc", "chat", model="m", expect=Expect.DENIED)
    tries: list[int] = []

    def answer(request: httpx.Request) -> httpx.Response:
        tries.append(1)
        if len(tries) == 1:
            raise httpx.RemoteProtocolError("Server disconnected without sending a response.")
        return httpx.Response(401, json={"error": {"message": "no", "type": "auth_error"}})

    observations, _ = _probe([check], answer)
    assert len(tries) == 2 and observations[check.id].status == 401
