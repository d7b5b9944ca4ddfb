"""A proxy that stops answering ends its scenario in ERROR verdicts that say so, in bounded time.

No real proxy here: a socket that accepts connections and never answers (what a SIGSTOPped
proxy looks like from outside), and a tiny LiteLLM look-alike that answers the admin API and
then falls silent once probing begins. Small limits keep each test to a second or two; without
the watch, each of these scenarios would sit out 30 s admin and probe timeouts one by one.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Iterator

import httpx
import pytest

from harness.engine import runner
from harness.common.abandonable import ConnectionGuard
from harness.engine.watch import ProxyWatch, WatchLimits
from harness.model.reasons import ErrorReason, NotRunReason
from harness.report.progress import as_lines
from harness.model.results import ScenarioResult
from harness.scenario.loader import parse_scenario
from harness.targets.base import Endpoint
from harness.model.verdict import Outcome

LIMITS = WatchLimits(
    liveness_every_s=0.1, liveness_timeout_s=0.2, unresponsive_after_s=0.6,
    deadline_s=20, teardown_s=2, progress_every_s=0.2, abandon_grace_s=1,
)
SILENCE = "the proxy stopped answering: no answer to GET /health/liveliness for 0.6 s"
BOUND_S = 8  # a scenario on a silent proxy must end well within this (else: about 30 s or more)

SCENARIO = """
id: hang
title: a proxy that hangs
models: [gpt-4o, gpt-4o-mini]
teams:
  - name: platform
    models: [gpt-4o-mini]
keys:
  - name: svc
    team: platform
expect:
  svc:
    lists: [gpt-4o-mini]
    can_call: [gpt-4o-mini]
    cannot_call: [gpt-4o]
"""


class NoUpstream:
    """The fake provider's recorder, with nothing recorded (the probes never get that far)."""

    url = "http://127.0.0.1:9"

    def hits(self, marker: str) -> list:
        return []

    def all_hits(self) -> list:
        return []


@pytest.fixture
def silent_socket() -> Iterator[str]:
    """A port whose kernel accepts connections that nobody ever reads or answers."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(256)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    sock.close()


class LiteLLMLookAlike:
    """Answers health, /openapi.json and the admin routes provisioning uses, until `go_silent()`:
    from then on no request (health included) gets an answer. `silent_on` names paths whose
    first request makes it go silent; `hang_paths` never answer, while health still does."""

    def __init__(self, silent_on: tuple[str, ...] = (), hang_paths: tuple[str, ...] = ()) -> None:
        self.silent = threading.Event()
        self.release = threading.Event()  # lets hanging handler threads end at test teardown
        self.paths: list[str] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                self.answer()

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                self.answer()

            def do_DELETE(self) -> None:
                self.answer()

            def answer(self) -> None:
                path = self.path.split("?")[0]
                fake.paths.append(path)
                if path in silent_on:
                    fake.silent.set()
                if fake.silent.is_set() or path in hang_paths:
                    fake.release.wait(30)
                    return
                body = {
                    "/health/liveliness": "I'm alive!",
                    "/openapi.json": {"paths": {"/v1/access_group": {}}},
                    "/team/new": {"team_id": "team-1"},
                    "/key/generate": {"key": "sk-generated-0000abcd", "token": "hashed-1"},
                    "/v1/models": {"object": "list", "data": [{"id": "gpt-4o-mini"}]},
                }.get(path, {"deleted": True})
                payload = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


class FakeTarget:
    label = "fake"

    def __init__(self, endpoint: Endpoint) -> None:
        self.endpoint = endpoint

    def start(self, models: object) -> Endpoint:
        return self.endpoint

    def stop(self) -> None:
        pass


def run_scenario(monkeypatch: pytest.MonkeyPatch, base_url: str, limits: WatchLimits = LIMITS,
                 scenarios: int = 1) -> tuple[list[ScenarioResult], list[str], float]:
    """Run the scenario `scenarios` times on the proxy at `base_url`; (results, log, seconds).

    Runs in a thread so that a harness without the watch fails this test after BOUND_S
    instead of hanging it."""
    endpoint = Endpoint(base_url, "sk-master-0000ffff", NoUpstream(), "0.0.0-fake", "fake")
    monkeypatch.setattr(runner, "make_target", lambda spec, log: FakeTarget(endpoint))
    log: list[str] = []
    results: list[ScenarioResult] = []
    scenario = parse_scenario(SCENARIO)

    def work() -> None:
        with runner.ScenarioRunner("litellm==0.0.0", events=as_lines(log.append), watch_limits=limits) as scenario_runner:
            for _ in range(scenarios):
                results.append(scenario_runner.run(scenario))

    started = time.monotonic()
    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    thread.join(BOUND_S)
    elapsed = time.monotonic() - started
    assert not thread.is_alive(), f"the scenario did not end within {BOUND_S} s on a proxy that stopped answering"
    return results, log, elapsed


def test_abandoning_ends_a_blocked_request_at_once_and_refuses_new_ones(silent_socket: str) -> None:
    guard = ConnectionGuard()
    client = httpx.Client(transport=guard.transport(verify=False), timeout=30)
    errors: list[BaseException] = []

    def call() -> None:
        try:
            client.get(f"{silent_socket}/v1/models")
        except httpx.HTTPError as error:
            errors.append(error)

    thread = threading.Thread(target=call)
    thread.start()
    time.sleep(0.3)  # the request is sent and waits for an answer that never comes
    started = time.monotonic()
    guard.abandon("the proxy stopped answering: test")
    thread.join(5)
    assert not thread.is_alive() and time.monotonic() - started < 1, "the blocked read was not woken"
    assert errors
    with pytest.raises(httpx.ConnectError, match="the proxy stopped answering: test"):
        client.get(f"{silent_socket}/v1/models")
    client.close()


def test_scenario_on_a_proxy_that_never_answers_ends_in_error_verdicts_saying_so(
    monkeypatch: pytest.MonkeyPatch, silent_socket: str
) -> None:
    (result,), log, elapsed = run_scenario(monkeypatch, silent_socket)

    assert elapsed < 4
    assert [verdict.outcome for verdict in result.verdicts] == [Outcome.ERROR] * len(result.verdicts)
    for verdict in result.verdicts:
        assert SILENCE in verdict.message, verdict.message
    assert result.error == f"while preparing, {SILENCE}"
    assert result.error_reason is NotRunReason.PROXY_STOPPED_ANSWERING


def test_proxy_that_stops_answering_during_probes(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = LiteLLMLookAlike(silent_on=("/v1/models", "/v1/chat/completions"))
    try:
        (result,), log, elapsed = run_scenario(monkeypatch, fake.url)
    finally:
        fake.close()

    assert elapsed < 4
    assert "/key/generate" in fake.paths  # provisioning went through before the proxy stopped
    outcomes = {verdict.outcome for verdict in result.verdicts}
    assert outcomes == {Outcome.ERROR}, [verdict.message for verdict in result.verdicts]
    for verdict in result.verdicts:
        assert SILENCE in verdict.message, verdict.message
        assert verdict.observed in ("proxy stopped answering", "error")
        assert verdict.error_reason is ErrorReason.PROXY_STOPPED_ANSWERING
    assert any(line.startswith("probing hang: 0 of 3 probes answered, 0 s") for line in log), log
    # The teardown did not wait on the silent proxy either, and names what it left behind.
    teardown = [line for line in log if line.startswith("teardown of hang")]
    assert teardown == [f"teardown of hang: not attempted ({SILENCE}); "
                        f"left in the proxy: key gc-{result_run_id(log)}-svc; team gc-{result_run_id(log)}-platform"]


def result_run_id(log: list[str]) -> str:
    """The scenario's entity prefix, read from the adapter's 'provisioned … for run X' line."""
    line = next(line for line in log if line.startswith("provisioned "))
    return line.rsplit(" ", 1)[1]


def test_later_scenarios_on_the_silent_proxy_end_at_once(monkeypatch: pytest.MonkeyPatch, silent_socket: str) -> None:
    results, log, elapsed = run_scenario(monkeypatch, silent_socket, scenarios=3)

    assert elapsed < 4  # the second and third cost one short health check each, not a full wait
    assert all(verdict.outcome is Outcome.ERROR for result in results for verdict in result.verdicts)
    assert "earlier in this run, and it still does not answer" in (results[2].error or "")
    assert results[2].error_reason is NotRunReason.PROXY_STOPPED_ANSWERING


def test_deadline_ends_probes_the_proxy_never_answers_though_it_looks_alive(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = LiteLLMLookAlike(hang_paths=("/v1/chat/completions",))
    limits = WatchLimits(liveness_every_s=0.1, liveness_timeout_s=0.2, unresponsive_after_s=0.6,
                         deadline_s=1.5, teardown_s=2, progress_every_s=0.5, abandon_grace_s=1)
    try:
        (result,), log, elapsed = run_scenario(monkeypatch, fake.url, limits)
    finally:
        fake.close()

    assert elapsed < 5
    calls = [verdict for verdict in result.verdicts if verdict.check.model]
    assert calls and all(verdict.outcome is Outcome.ERROR for verdict in calls)
    for verdict in calls:
        assert "the deadline of 1.5 s passed (1 of 3 probes answered); the proxy answers GET " \
               "/health/liveliness but not these requests" in verdict.message, verdict.message
        assert verdict.error_reason is ErrorReason.DEADLINE_PASSED
    listing = next(verdict for verdict in result.verdicts if not verdict.check.model)
    assert listing.outcome is not Outcome.ERROR  # what did answer is still judged
    assert any(line.startswith("teardown of hang") for line in log) is False  # deleted normally


def test_progress_lines_say_how_far_the_work_got_and_how_long_it_has_waited() -> None:
    fake = LiteLLMLookAlike()
    log: list[str] = []
    limits = WatchLimits(progress_every_s=0.2)
    try:
        with ProxyWatch(fake.url, "/health/liveliness", limits, log.append, subject="s1") as watch:
            value = watch.run("probing", ConnectionGuard(), lambda: time.sleep(0.5) or 42,
                              progress=lambda: "1 of 2 probes answered")
    finally:
        fake.close()
    assert value == 42
    assert log[:2] == ["probing s1: 1 of 2 probes answered, 0 s", "probing s1: 1 of 2 probes answered, 0 s"]
