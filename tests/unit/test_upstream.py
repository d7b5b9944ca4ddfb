"""The fake upstream answers like OpenAI and records every request it gets."""

from __future__ import annotations

import base64
import json
import socket
import struct
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from harness.targets.upstream import Upstream, find_marker, marker_text


@pytest.fixture
def upstream():
    with Upstream(models=["gpt-4o", "gpt-4o-mini"]) as server:
        yield server


@pytest.fixture(scope="module")
def http():
    # one client for the module: plain http, so skip loading CA certificates (~70 ms each)
    with httpx.Client(timeout=5, verify=False) as client:
        yield client


def chat(http: httpx.Client, url: str, model: str, marker: str, **extra) -> httpx.Response:
    body = {"model": model, "messages": [{"role": "user", "content": f"hi {marker_text(marker)}"}]}
    return http.post(f"{url}/v1/chat/completions", json={**body, **extra})


def test_chat_completion_is_openai_shaped_and_recorded(upstream, http):
    response = chat(http, upstream.url, "gpt-4o", "p1")

    assert response.status_code == 200
    body = response.json()
    assert body["object"] == "chat.completion"
    assert body["model"] == "gpt-4o"
    assert body["choices"][0]["message"]["role"] == "assistant"
    assert isinstance(body["choices"][0]["message"]["content"], str)
    usage = body["usage"]
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]

    [hit] = upstream.hits("p1")
    assert (hit.model, hit.path, hit.marker) == ("gpt-4o", "/v1/chat/completions", "p1")
    assert hit.received_at > 0


def test_url_and_api_base(upstream):
    assert upstream.url == f"http://127.0.0.1:{upstream.port}"
    assert upstream.api_base == upstream.url + "/v1"


def test_marker_from_header_when_body_has_none(upstream, http):
    http.post(
        f"{upstream.url}/v1/chat/completions",
        json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]},
        headers={"x-gateconform-probe": "from-header"},
    )
    assert [h.model for h in upstream.hits("from-header")] == ["gpt-4o-mini"]


def test_streaming_sends_sse_chunks_then_done(upstream, http):
    response = chat(http, upstream.url, "gpt-4o", "s1", stream=True, stream_options={"include_usage": True})

    assert response.headers["content-type"].startswith("text/event-stream")
    events = [line[len("data: "):] for line in response.text.splitlines() if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    assert text
    assert chunks[-1]["usage"]["total_tokens"] > 0
    assert len(upstream.hits("s1")) == 1


def test_embeddings_float_and_base64(upstream, http):
    as_floats = http.post(
        f"{upstream.url}/v1/embeddings", json={"model": "emb", "input": ["a", f"b {marker_text('e1')}"]}
    ).json()
    assert [d["index"] for d in as_floats["data"]] == [0, 1]
    assert all(isinstance(x, float) for x in as_floats["data"][0]["embedding"])

    as_b64 = http.post(
        f"{upstream.url}/v1/embeddings", json={"model": "emb", "input": "a", "encoding_format": "base64"}
    ).json()
    raw = base64.b64decode(as_b64["data"][0]["embedding"])
    assert len(struct.unpack(f"<{len(raw) // 4}f", raw)) == len(as_floats["data"][0]["embedding"])
    assert [(h.model, h.path) for h in upstream.hits("e1")] == [("emb", "/v1/embeddings")]


def test_models_listing_and_unknown_paths_are_recorded(upstream, http):
    listing = http.get(f"{upstream.url}/v1/models").json()
    assert [m["id"] for m in listing["data"]] == ["gpt-4o", "gpt-4o-mini"]

    missing = http.post(f"{upstream.url}/v1/nope", json={"model": "x"})
    # A server error, never a 4xx a gateway might pass on looking like a refusal.
    assert missing.status_code == 501
    assert "no fake for POST /v1/nope" in missing.json()["error"]["message"]

    assert [(h.path, h.model) for h in upstream.all_hits()] == [("/v1/models", None), ("/v1/nope", "x")]


def test_non_json_body_is_a_400_and_still_recorded(upstream, http):
    response = http.post(f"{upstream.url}/v1/chat/completions", content=b"not json")
    assert response.status_code == 400
    assert len(upstream.all_hits()) == 1


def test_concurrent_requests_are_all_recorded(upstream):
    markers = [f"c{i}" for i in range(64)]
    with httpx.Client(timeout=10, verify=False) as client, ThreadPoolExecutor(max_workers=32) as pool:
        def call(marker: str) -> int:
            body = {"model": "gpt-4o", "messages": [{"role": "user", "content": marker_text(marker)}]}
            return client.post(f"{upstream.url}/v1/chat/completions", json=body).status_code

        statuses = list(pool.map(call, markers))

    assert statuses == [200] * len(markers)
    assert sorted(h.marker for h in upstream.all_hits()) == sorted(markers)
    assert all(len(upstream.hits(m)) == 1 for m in markers)


def test_reset_forgets_hits(upstream, http):
    chat(http, upstream.url, "gpt-4o", "r1")
    upstream.reset()
    assert upstream.all_hits() == [] and upstream.hits("r1") == []


def test_stop_frees_the_port_even_with_keepalive_connections():
    server = Upstream().start()
    port = server.port
    client = httpx.Client(verify=False)  # keeps its connection open, as LiteLLM does
    assert client.post(f"{server.url}/v1/chat/completions", json={"model": "m", "messages": []}).status_code == 200

    server.stop()
    server.stop()  # idempotent

    with pytest.raises(httpx.TransportError):
        client.post(f"http://127.0.0.1:{port}/v1/chat/completions", json={"model": "m"}, timeout=1)
    client.close()
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind(("127.0.0.1", port))  # would raise if the port were still held


def test_marker_helpers():
    assert find_marker(f"x {marker_text('gc-1a.2_b')} y") == "gc-1a.2_b"
    assert find_marker("no marker here") is None
    with pytest.raises(ValueError):
        marker_text("has space")


def test_a_call_through_a_deployments_base_url_is_recorded_with_that_deployment(upstream, http):
    from harness.targets.upstream import deployment_base

    wildcard = deployment_base(upstream.url, "openai/*")
    assert wildcard == f"{upstream.url}/gc-deployment/openai%2F%2A"
    response = chat(http, wildcard, "gpt-5", "d1")
    chat(http, upstream.url, "gpt-4o", "d2")  # outside any deployment: recorded without one, as before

    assert response.status_code == 200 and response.json()["object"] == "chat.completion"
    [through], [plain] = upstream.hits("d1"), upstream.hits("d2")
    assert (through.model, through.path, through.deployment) == ("gpt-5", "/v1/chat/completions", "openai/*")
    assert plain.deployment is None and "deployment" not in upstream.records("d2")[0]
# --------------------------------------------------------------------------- every API shape

# The probe kind whose answer each route of the fake must give (what a gateway hands a client
# when it passes the provider's answer through), and how a request to it looks.
_SHAPES = {
    "/chat/completions": "completion", "/completions": "text_completion", "/embeddings": "embedding_list",
    "/responses": "response", "/responses/compact": "response", "/responses/input_tokens": "token_count",
    "/messages": "message", "/messages/count_tokens": "token_count", "/images/generations": "image_list",
    "/images/edits": "image_list", "/moderations": "moderation", "/audio/speech": "audio",
    "/audio/transcriptions": "transcription", "/videos": "video", "/realtime/client_secrets": "client_secret",
    "/realtime/transcription_sessions": "client_secret", "/rerank": "reranking", "/ocr": "ocr_pages",
}


@pytest.mark.parametrize("route", sorted(_SHAPES))
def test_every_api_route_answers_its_shape_and_records_the_model_and_marker(upstream, http, route):
    from harness.model.observation import Observation
    from harness.probes import shapes
    from harness.targets.upstream_answers import ROUTES

    assert set(ROUTES) == set(_SHAPES)  # every route the fake speaks is tested here
    text = f"probe {marker_text('m-' + route.strip('/').replace('/', '-'))}"
    if route in ("/images/edits", "/audio/transcriptions"):  # multipart forms, as the OpenAI SDK sends them
        response = http.post(f"{upstream.url}/v1{route}", data={"model": "m1", "prompt": text},
                             files={"file": ("f.bin", b"\x00\x01", "application/octet-stream")})
    elif route.startswith("/realtime"):
        response = http.post(f"{upstream.url}/v1{route}", json={"session": {"model": "m1", "instructions": text}})
    else:
        response = http.post(f"{upstream.url}/v1{route}", json={"model": "m1", "input": text, "prompt": text})

    assert response.status_code == 200
    [hit] = upstream.all_hits()
    assert (hit.model, hit.path, hit.marker) == ("m1", f"/v1{route}", "m-" + route.strip("/").replace("/", "-"))
    shape = next(s for s in vars(shapes).values() if getattr(s, "name", None) == _SHAPES[route])
    if shape.read_raw is not None:
        assert shape.read_raw(response.content, response.headers["content-type"])
    else:
        assert shape.read(response.json(), Observation("k", "p", "m1"))


def test_a_route_the_fake_does_not_speak_is_a_server_error_never_a_refusal(upstream, http):
    for method, body in (("GET", None), ("POST", {"model": "m1"})):
        response = http.request(method, f"{upstream.url}/v1/assistants", json=body)
        assert response.status_code == 501
        assert response.json()["error"]["type"] == "not_implemented"
