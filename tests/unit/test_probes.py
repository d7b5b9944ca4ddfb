"""run_probes() against a tiny fake gateway written here (a unit test of the probe code).

The fake gateway imitates LiteLLM's answers: it lists models per key, forwards allowed chat
calls to the real fake `Upstream`, and refuses others with LiteLLM's error shape. A few
model names trigger misbehaviour (500, slowness, a call to the upstream after a denial).
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from harness.model.check import Check, Expect
from harness.probes.run import EXCERPT_LIMIT, NOT_PROVISIONED, run_probes
from harness.common.redact import Redactor
from harness.targets.base import Endpoint
from harness.targets.upstream import Upstream
from harness.model.verdict import Outcome
from harness.gateways.litellm.refusals import REFUSALS
from harness.judge import judge

MASTER = "sk-master-key-0000aaaa"
SVC_KEY = "sk-svc-generated-1111bbbb"
ODD_KEY = "sk-odd-generated-2222cccc"
ALLOWED_MODELS = {SVC_KEY: ["gpt-4o-mini", "leaky"] + [f"m{i}" for i in range(12)]}


class FakeGateway:
    """Just enough of a gateway to exercise the probes."""

    def __init__(self, upstream: Upstream) -> None:
        self.upstream = upstream
        self.requests: list[tuple[str, str]] = []  # (method, path)
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # else keep-alive responses stall ~40 ms

            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:
                gateway.requests.append(("GET", self.path))
                key = self.headers.get("Authorization", "").removeprefix("Bearer ")
                if key == ODD_KEY:
                    self.send(200, {"data": [{"name": "no id here"}]})
                elif key in ALLOWED_MODELS:
                    self.send(200, {"object": "list", "data": [{"id": m} for m in ("gpt-4o-mini", "gpt-4o")]})
                else:
                    self.deny(key)

            def do_POST(self) -> None:
                gateway.requests.append(("POST", self.path))
                raw = self.rfile.read(int(self.headers["Content-Length"]))
                body = json.loads(raw)
                key = self.headers.get("Authorization", "").removeprefix("Bearer ")
                model = body["model"]
                if model == "boom":
                    self.send(500, {"error": {"message": "upstream exploded", "type": "internal_server_error"}})
                elif model == "huge":
                    self.send(200, {"padding": "x" * 10_000})
                elif model == "slow":
                    time.sleep(0.6)
                    self.send(200, {})
                elif model == "late":
                    # denies at once, then reaches the upstream anyway (a background retry)
                    threading.Timer(0.05, gateway.forward, args=(body,)).start()
                    self.deny(key)
                elif key in ALLOWED_MODELS and model in ALLOWED_MODELS[key]:
                    response = gateway.forward(body)
                    if model == "leaky":  # calls the upstream, then denies
                        self.deny(key)
                    else:
                        self.send(response.status_code, response.json())
                else:
                    self.deny(key)

            def deny(self, key: str) -> None:
                # LiteLLM echoes (part of) the key in some messages: the probe must redact it.
                self.send(401, {"error": {"message": f"key not allowed to access model. Received key = {key}",
                                          "type": "key_model_access_denied", "param": "model", "code": "401"}})

            def send(self, status: int, document: dict) -> None:
                payload = json.dumps(document).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.client = httpx.Client(timeout=5, verify=False)  # plain http; skip loading CA certs

    def forward(self, body: dict) -> httpx.Response:
        return self.client.post(f"{self.upstream.api_base}/chat/completions", json=body)

    def close(self) -> None:
        self.client.close()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def gateway():
    with Upstream() as upstream:
        gateway = FakeGateway(upstream)
        yield gateway
        gateway.close()


@pytest.fixture
def endpoint(gateway):
    return Endpoint(gateway.url, MASTER, gateway.upstream, "0.0.0-fake", "fake gateway")


def chat(model: str, expect: Expect = Expect.ALLOWED, principal: str = "svc", **kw) -> Check:
    return Check("scn", principal, "chat", model=model, expect=expect, **kw)


def listing(principal: str = "svc", models=("gpt-4o-mini",)) -> Check:
    return Check("scn", principal, "list_models", listed=frozenset(models))


def probe(endpoint, checks, keys=None, **kw):
    kw.setdefault("settle_s", 0)
    return run_probes(endpoint, keys if keys is not None else {"svc": SVC_KEY}, checks, Redactor(), **kw)


def test_allowed_call_reaches_upstream_with_its_marker(endpoint):
    check = chat("gpt-4o-mini")
    obs = probe(endpoint, [check])[check.id]

    assert obs.status == 200 and obs.shape == "completion" and obs.transport_error is None
    assert [(h.model, h.marker) for h in obs.upstream_hits] == [("gpt-4o-mini", obs.marker)]
    assert obs.elapsed_ms > 0
    assert judge(check, obs, refusals=REFUSALS).outcome is Outcome.PASS


def test_denied_call_has_error_fields_and_no_hits(endpoint):
    check = chat("gpt-4o", Expect.DENIED)
    obs = probe(endpoint, [check])[check.id]

    assert obs.status == 401
    assert obs.error_type == "key_model_access_denied"
    assert obs.upstream_hits == []
    assert judge(check, obs, refusals=REFUSALS).outcome is Outcome.PASS


def test_keys_are_redacted_in_excerpts_and_messages(endpoint):
    check = chat("gpt-4o", Expect.DENIED)
    obs = probe(endpoint, [check])[check.id]

    assert SVC_KEY not in obs.body_excerpt and SVC_KEY not in (obs.error_message or "")
    assert "sk-…bbbb" in obs.error_message


def test_listing_one_request_per_principal_shared_by_its_checks(gateway, endpoint):
    first, second = listing(), Check("other-scn", "svc", "list_models", listed=frozenset())
    observations = probe(endpoint, [first, second])

    assert observations[first.id] is observations[second.id]
    assert observations[first.id].listed_models == ["gpt-4o-mini", "gpt-4o"]
    assert gateway.requests == [("GET", "/v1/models")]


def test_chat_request_carries_marker_and_small_max_tokens(gateway, endpoint):
    check = chat("gpt-4o-mini")
    obs = probe(endpoint, [check])[check.id]
    assert gateway.requests == [("POST", "/v1/chat/completions")]
    assert obs.url == "/v1/chat/completions"
    assert obs.marker and obs.upstream_hits[0].marker == obs.marker


def test_odd_listing_body_gives_no_listed_models(endpoint):
    check = listing(principal="odd")
    obs = probe(endpoint, [check], keys={"odd": ODD_KEY})[check.id]
    assert obs.status == 200 and obs.listed_models is None
    assert judge(check, obs, refusals=REFUSALS).outcome is Outcome.ERROR


def test_missing_principal_is_not_provisioned_not_a_crash(endpoint):
    call, lister = chat("gpt-4o-mini", principal="ghost"), listing(principal="ghost")
    observations = probe(endpoint, [call, lister])

    for check in (call, lister):
        assert observations[check.id].transport_error == NOT_PROVISIONED
        assert observations[check.id].status is None
        assert judge(check, observations[check.id], refusals=REFUSALS).outcome is Outcome.ERROR


def test_skipped_checks_are_not_probed(endpoint):
    skipped = chat("gpt-4o-mini", skip_reason="not supported by this version")
    assert probe(endpoint, [skipped]) == {}
    assert endpoint.upstream.all_hits() == []


def test_server_error_and_huge_body(endpoint):
    boom, huge = chat("boom"), chat("huge")
    observations = probe(endpoint, [boom, huge])

    assert observations[boom.id].status == 500
    assert observations[boom.id].error_message == "upstream exploded"
    assert len(observations[huge.id].body_excerpt) <= EXCERPT_LIMIT
    assert observations[huge.id].body_excerpt.endswith("more chars]")
    assert judge(huge, observations[huge.id], refusals=REFUSALS).outcome is Outcome.ERROR


def test_timeout_is_a_transport_error(endpoint):
    check = chat("slow")
    obs = probe(endpoint, [check], timeout=0.2)[check.id]
    assert obs.status is None and obs.transport_error.startswith("timeout")


def test_connection_refused_is_a_transport_error():
    with Upstream() as upstream:
        dead = Endpoint("http://127.0.0.1:9", MASTER, upstream, "x", "dead")
        check = chat("gpt-4o-mini")
        obs = probe(dead, [check], timeout=1)[check.id]
    assert obs.status is None and "Connect" in obs.transport_error


def test_hit_after_a_denial_is_still_attributed(endpoint):
    leaky, late = chat("leaky", Expect.DENIED), chat("late", Expect.DENIED)
    observations = probe(endpoint, [leaky, late], settle_s=0.15)

    for check in (leaky, late):
        obs = observations[check.id]
        assert obs.status == 401 and len(obs.upstream_hits) == 1, check.model
        assert judge(check, obs, refusals=REFUSALS).outcome is Outcome.ERROR


def test_concurrent_probes_each_get_exactly_their_own_hit(endpoint):
    checks = [chat(f"m{i}") for i in range(12)]
    observations = probe(endpoint, checks, concurrency=6)

    assert list(observations) == [c.id for c in checks]  # deterministic order
    markers = {obs.marker for obs in observations.values()}
    assert len(markers) == len(checks)
    for check in checks:
        obs = observations[check.id]
        assert [(h.model, h.marker) for h in obs.upstream_hits] == [(check.model, obs.marker)]


def test_master_and_generated_keys_are_registered_with_the_redactor(endpoint):
    redactor = Redactor()
    run_probes(endpoint, {"svc": SVC_KEY}, [], redactor, settle_s=0)
    assert redactor.secrets == {MASTER, SVC_KEY}
