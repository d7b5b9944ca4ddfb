"""The route inventory: which operations of a running proxy's own OpenAPI document name a model,
and how much of it the registered probe kinds cover.

The fixtures are the `paths` of the documents LiteLLM 1.82.3 and 1.108.7 serve at
`/openapi.json` (tags and parameter names kept, everything else dropped).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.gateways.litellm.routes import EXTERNAL_NOTE, WEBSOCKET_NOTE, model_routes
from harness.model.routes import CALL, LISTING, NOT_COVERED, PASS_THROUGH, ModelRoute, coverage_of, route_key
from harness.probes import registry

FIXTURES = Path(__file__).parents[1] / "fixtures"


def document(version: str) -> dict:
    return json.loads((FIXTURES / f"openapi-litellm-{version}.json").read_text())


def routes_of(version: str) -> dict[str, ModelRoute]:
    return {route.text: route for route in model_routes(document(version))}


def test_the_inventory_of_both_releases_holds_every_way_a_model_is_named() -> None:
    old, new = routes_of("1.82.3"), routes_of("1.108.7")
    assert (len(old), len(new)) == (83, 116)
    for routes in (old, new):
        # the model in the body, in the path, in the query string; listings; pass-throughs
        assert routes["POST /v1/chat/completions"].family == CALL
        assert routes["POST /engines/{model}/chat/completions"].family == CALL
        assert routes["POST /v1beta/models/{model_name}:generateContent"].family == CALL
        assert routes["GET /utils/supported_openai_params"].family == CALL
        assert routes["POST /v1/messages"].family == CALL  # tagged differently on each release
        assert routes["GET /model_group/info"].family == LISTING
        assert routes["GET /v1/models/{model_id}"].family == LISTING
        assert routes["POST /vllm/{endpoint}"].family == PASS_THROUGH
        assert routes["GET /v1/realtime"].note == WEBSOCKET_NOTE
        assert routes["POST /mistral/{endpoint}"].note == EXTERNAL_NOTE
        # a stored object named in the path is not a model; neither are object APIs nor admin routes
        for absent in ("GET /v1/responses/{response_id}", "POST /v1/files", "POST /v1/batches", "POST /key/generate",
                       "GET /team/daily/activity", "POST /utils/transform_request", "GET /health"):
            assert absent not in routes
    # a release without a route does not have it in its inventory
    assert "GET /v2/model/info" in new and "GET /v2/model/info" not in old
    assert "POST /v1/responses/input_tokens" in new and "POST /v1/responses/input_tokens" not in old


def test_a_route_the_openai_pass_through_answers_is_named_and_never_probed() -> None:
    # 1.82.3 includes its realtime router after the OpenAI pass-through: /openai/{endpoint}
    # answers /openai/v1/realtime/client_secrets (measured: the pass-through's "Required
    # 'OPENAI_API_KEY'" 500), so a probe there would be a call to OpenAI's public API.
    old, new = routes_of("1.82.3"), routes_of("1.108.7")
    shadowed = old["POST /openai/v1/realtime/client_secrets"]
    assert shadowed.note is not None and "POST /openai/{endpoint}" in shadowed.note
    assert old["POST /v1/realtime/client_secrets"].note is None  # the same call without the prefix is probed
    assert old["POST /openai/v1/responses"].note is None  # its router comes before the pass-through
    # 1.108.7 tags it a pass-through yet serves it with its realtime router (measured: the same 403
    # for a denied model as /v1/realtime/client_secrets): the call under the /openai prefix
    aliased = new["POST /openai/v1/realtime/client_secrets"]
    assert (aliased.family, aliased.note) == (CALL, None)
    assert new["GET /openai/v1/realtime"].note == WEBSOCKET_NOTE
    assert new["POST /openai/{endpoint}"].note == EXTERNAL_NOTE
    coverage = coverage_of(old.values(), registry.covered_routes())
    assert "POST /openai/v1/realtime/client_secrets" not in coverage.covered
    assert any(u.route == "POST /openai/v1/realtime/client_secrets" and u.reason == shadowed.note
               for u in coverage.uncovered)


@pytest.mark.parametrize(("version", "covered", "total"), [("1.82.3", 62, 83), ("1.108.7", 81, 116)])
def test_every_route_the_kinds_do_not_cover_is_named_with_why(version: str, covered: int, total: int) -> None:
    coverage = coverage_of(model_routes(document(version)), registry.covered_routes(), "GET /openapi.json")
    assert (len(coverage.covered), coverage.inventory) == (covered, total)
    assert coverage.percent_text == f"{round(100 * covered / total)}% ({covered} of {total} model-bearing routes)"
    # Nothing is uncovered for want of a kind: only WebSockets, realtime calls (authenticated by a
    # client secret) and pass-throughs to a provider's public API are left, each saying so.
    assert [u.route for u in coverage.uncovered if u.reason == NOT_COVERED] == []
    assert {u.route for u in coverage.uncovered if u.family == CALL} >= {"GET /v1/realtime", "POST /v1/realtime/calls"}


def test_a_route_a_new_release_adds_to_a_family_is_noticed_as_not_covered() -> None:
    newer = document("1.108.7")
    newer["paths"]["/v1/chat/completions/batch"] = {"post": {"tags": ["chat/completions"]}}
    coverage = coverage_of(model_routes(newer), registry.covered_routes())
    uncovered = {u.route: u.reason for u in coverage.uncovered}
    assert uncovered["POST /v1/chat/completions/batch"] == NOT_COVERED


def test_routes_match_whatever_their_parameters_are_named() -> None:
    assert route_key("post", "/engines/{model}/chat/completions") == route_key("POST", "/engines/{model_name}/chat/completions")
    assert route_key("GET", "/v2/model/info?user_models_only=true") == ("GET", "/v2/model/info")
    assert route_key("POST", "/vllm/{endpoint}") in registry.covered_routes()


def test_a_document_without_paths_gives_no_routes() -> None:
    assert model_routes({}) == ()
    assert model_routes({"paths": {"/v1/chat/completions": "not an object"}}) == ()
    assert coverage_of((), registry.covered_routes()).share == 1.0
