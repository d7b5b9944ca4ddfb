"""The upstream fake read across the network: control endpoints, `RemoteUpstream`, running standalone."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from harness.targets import upstream_server as upstream_module
from harness.targets.docker_engine import LABEL_HOST, LABEL_OWNER, hostname, owner_alive
from harness.targets.upstream import RemoteUpstream, RemoteUpstreamError, Upstream, marker_text

UPSTREAM_FILE = Path(upstream_module.__file__)


def chat(url: str, model: str, marker: str) -> httpx.Response:
    body = {"model": model, "messages": [{"role": "user", "content": f"hi {marker_text(marker)}"}]}
    return httpx.post(f"{url}/v1/chat/completions", json=body, timeout=5)


@pytest.fixture
def served():
    with Upstream(models=["gpt-4o"]) as server:
        yield server, RemoteUpstream(server.url, proxy_url="http://upstream:8080")


def test_remote_hits_match_the_in_process_record(served) -> None:
    server, remote = served
    chat(server.url, "gpt-4o", "p-1")
    chat(server.url, "gpt-4o-mini", "p-2")

    assert remote.hits("p-1") == server.hits("p-1")
    assert [hit.model for hit in remote.hits("p-2")] == ["gpt-4o-mini"]
    assert remote.hits("nobody") == []
    assert remote.all_hits() == server.all_hits()


def test_control_requests_are_never_recorded_as_provider_traffic(served) -> None:
    server, remote = served
    assert remote.healthy()
    remote.all_hits()
    remote.hits("x")
    httpx.post(f"{server.url}/__gateconform/hits", timeout=5)  # unknown control call: 404, not a hit
    assert server.all_hits() == []


def test_reset_forgets_hits_remotely(served) -> None:
    server, remote = served
    chat(server.url, "gpt-4o", "p-1")
    remote.reset()
    assert server.all_hits() == [] and remote.all_hits() == []


def test_urls_name_where_each_side_reaches_the_upstream(served) -> None:
    server, remote = served
    assert remote.url == server.url
    assert remote.proxy_url == "http://upstream:8080"
    assert remote.api_base == "http://upstream:8080/v1"


def test_an_unreachable_upstream_raises_a_clear_error() -> None:
    with Upstream() as server:
        port = server.port
    remote = RemoteUpstream(f"http://127.0.0.1:{port}", timeout_s=2)
    assert not remote.healthy()
    with pytest.raises(RemoteUpstreamError, match="control endpoint"):
        remote.all_hits()


def test_the_module_runs_standalone_with_the_standard_library_only(tmp_path: Path) -> None:
    # -S -I: no site-packages, no user site, no PYTHON* variables: exactly what a bare image has.
    # The two files the Docker target copies into its container, and nothing else of the harness.
    copy = tmp_path / "upstream_server.py"
    copy.write_bytes(UPSTREAM_FILE.read_bytes())
    (tmp_path / "upstream_answers.py").write_bytes((UPSTREAM_FILE.parent / "upstream_answers.py").read_bytes())
    process = subprocess.Popen(
        [sys.executable, "-S", "-I", str(copy), "--host", "127.0.0.1", "--port", "0", "--model", "gpt-4o"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert "listening on 127.0.0.1:" in line, process.stderr.read() if process.stderr else line
        port = int(line.rsplit(":", 1)[1])
        remote = RemoteUpstream(f"http://127.0.0.1:{port}")
        models = httpx.get(f"{remote.url}/v1/models", timeout=5).json()
        assert [m["id"] for m in models["data"]] == ["gpt-4o"]
        chat(remote.url, "gpt-4o", "standalone")
        assert [hit.marker for hit in remote.hits("standalone")] == ["standalone"]
        process.terminate()  # SIGTERM: a container stop
        assert process.wait(timeout=5) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_owner_of_a_labelled_object_is_alive_only_while_its_process_runs() -> None:
    from harness.targets.lifecycle import OWNER_IDENTITY

    assert owner_alive({LABEL_OWNER: OWNER_IDENTITY, LABEL_HOST: hostname()}) is True
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead = f"{finished.stdout.strip()}:12345"
    assert owner_alive({LABEL_OWNER: dead, LABEL_HOST: hostname()}) is False
    assert owner_alive({LABEL_HOST: hostname()}) is False  # no owner recorded: nobody to wait for
    # Another host's process cannot be checked from here: never swept without --all.
    assert owner_alive({LABEL_OWNER: OWNER_IDENTITY, LABEL_HOST: f"not-{hostname()}"}) is None
