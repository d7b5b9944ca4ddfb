"""The Docker target: LiteLLM in a container on its own network, PostgreSQL and the upstream beside it.

Parity: the seed scenario (BerriAI/litellm#23850) on 1.82.3 gives the same verdict for every
check on `local` and on `docker:litellm==1.82.3`. And a run, finished or interrupted during boot,
leaves no container and no network behind.

Needs a Docker engine. Without one these tests skip and say why; in CI (`CI` or
`GATECONFORM_REQUIRE_DOCKER` set) they fail instead, because CI must exercise this path for real. The image `gateconform/litellm:1.82.3`
is built if missing (CI builds it in an earlier step; then this is a cache hit).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from harness.targets.base import ModelSpec
from tests.integration.interrupts import sigint_as_in_a_terminal
from harness.targets.errors import TargetError

pytestmark = pytest.mark.integration

ROOT = Path(__file__).parents[2]
SEED = ROOT / "scenarios/litellm/issue-23850-access-group-limits-service-key.yaml"
VERSION = "1.82.3"
DOCKER_TARGET = f"docker:litellm=={VERSION}"
MODELS = [ModelSpec("gpt-4o"), ModelSpec("gpt-4o-mini", ("limited",))]
KEY_PATTERN = re.compile(r"sk-[A-Za-z0-9_\-]{8,}")
RUN_NAME = re.compile(r"gateconform-([0-9a-f]{12})-(?:postgres|upstream|proxy)")


@pytest.fixture(scope="module")
def docker_client():
    """A client for the engine, or a skip (a failure when CI is set) saying why there is none."""
    from harness.targets.docker_engine import DockerUnavailableError, connect

    try:
        client = connect(timeout_s=30)
    except DockerUnavailableError as error:
        if os.environ.get("CI") or os.environ.get("GATECONFORM_REQUIRE_DOCKER"):
            pytest.fail(f"CI must run the Docker tests, but: {error}")
        pytest.skip(f"no Docker engine: {error}")
    yield client
    client.close()


@pytest.fixture(scope="module")
def litellm_image(docker_client) -> str:
    """`gateconform/litellm:1.82.3`, built once if this engine lacks it (or its recipe changed)."""
    from harness.gateways.litellm.image_build import build_litellm_image

    result = build_litellm_image(docker_client, f"litellm=={VERSION}", log=print)
    return result.tag


def gateconform(*args: str) -> list[str]:
    return [sys.executable, "-c", "from harness.cli.app import main; main()", *args]


def objects_of_runs(docker_client, run_ids: set[str]) -> list[str]:
    """Names of containers (any state) and networks that belong to the given runs."""
    names = [c.name for c in docker_client.containers.list(all=True)]
    names += [n.name for n in docker_client.networks.list()]
    return sorted(name for name in names if any(run_id in name for run_id in run_ids))


def docker_cli_shows(run_ids: set[str]) -> list[str]:
    """What `docker ps -a` and `docker network ls` list of these runs (when the CLI is installed)."""
    docker = shutil.which("docker")
    if docker is None:
        return []
    listed = subprocess.run([docker, "ps", "-a", "--format", "{{.Names}}"], capture_output=True, text=True).stdout
    listed += subprocess.run([docker, "network", "ls", "--format", "{{.Name}}"], capture_output=True, text=True).stdout
    return sorted(line for line in listed.split() if any(run_id in line for run_id in run_ids))


def owned_by(docker_client, pid: int) -> list[str]:
    """Containers and networks a gateconform process with this pid created (labels say whose)."""
    from harness.targets.docker_engine import LABEL_OWNER, run_objects

    found = []
    for objects in run_objects(docker_client).values():
        for obj in objects:
            labels = (obj.attrs.get("Labels") or (obj.attrs.get("Config") or {}).get("Labels") or {})
            if str(labels.get(LABEL_OWNER, "")).startswith(f"{pid}:"):
                found.append(obj.name)
    return found


def assert_nothing_left(docker_client, pid: int, output: str) -> None:
    run_ids = set(RUN_NAME.findall(output))
    assert owned_by(docker_client, pid) == [], "containers or networks of the finished run are still there"
    assert objects_of_runs(docker_client, run_ids) == []
    assert docker_cli_shows(run_ids) == []


def run_cli(docker_client, *args: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    process = subprocess.Popen(gateconform(*args), cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    stdout, stderr = process.communicate(timeout=timeout)
    assert_nothing_left(docker_client, process.pid, stdout + stderr)
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def outcomes(results: Path) -> dict[str, str]:
    (scenario,) = json.loads(results.read_text())["scenarios"]
    return {verdict["check_id"]: verdict["outcome"] for verdict in scenario["verdicts"]}


def test_seed_scenario_gives_the_same_verdicts_on_local_and_docker(docker_client, litellm_image, tmp_path: Path) -> None:
    on_local = run_cli(docker_client, "run", str(SEED), "--target", f"litellm=={VERSION}",
                       "--report-dir", str(tmp_path / "local"))
    on_docker = run_cli(docker_client, "run", str(SEED), "--target", DOCKER_TARGET,
                        "--report-dir", str(tmp_path / "docker"))

    local_outcomes = outcomes(tmp_path / "local" / "results.json")
    docker_outcomes = outcomes(tmp_path / "docker" / "results.json")
    assert docker_outcomes == local_outcomes
    # And they are the bug's verdicts, not two identical errors: 1.82.3 lets the key past its group.
    (scenario,) = json.loads((tmp_path / "local" / "results.json").read_text())["scenarios"]
    written = [v["outcome"] for v in scenario["verdicts"] if v["check"].get("oracle") != "sweep"]
    assert sorted(written) == ["fail"] * 3 + ["pass"] * 4
    assert len(local_outcomes) > len(written)  # the sweep ran on both, with the same verdicts
    assert on_local.returncode == on_docker.returncode == 1, on_docker.stdout + on_docker.stderr

    document = json.loads((tmp_path / "docker" / "results.json").read_text())
    assert document["proxy_version"] == VERSION
    assert document["target"] == DOCKER_TARGET
    assert "ready at http://127.0.0.1:" in on_docker.stderr  # the proxy is published on loopback only
    for path in (tmp_path / "docker").rglob("*"):
        if path.is_file():
            assert KEY_PATTERN.findall(path.read_text(errors="replace")) == [], f"{path.name} leaks a key"
    assert KEY_PATTERN.findall(on_docker.stdout + on_docker.stderr) == []


def test_ctrl_c_during_boot_leaves_no_container_and_no_network(docker_client, litellm_image, tmp_path: Path) -> None:
    process = subprocess.Popen(
        gateconform("run", str(SEED), "--target", DOCKER_TARGET, "--report-dir", str(tmp_path)),
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        preexec_fn=sigint_as_in_a_terminal,
    )
    assert process.stdout is not None
    seen: list[str] = []
    deadline = time.monotonic() + 300
    for line in process.stdout:
        seen.append(line)
        if "starting proxy container" in line:
            time.sleep(3)  # the proxy container is migrating / importing
            assert objects_of_runs(docker_client, set(RUN_NAME.findall("".join(seen)))), "the run should be up by now"
            process.send_signal(signal.SIGINT)
            break
        assert time.monotonic() < deadline, "the proxy container never started"
    else:
        pytest.fail("the run ended before the proxy container started: " + "".join(seen))
    rest = process.communicate(timeout=120)[0]
    output = "".join(seen) + rest
    assert process.returncode != 0, "an interrupted run must not report success"
    assert "interrupted" in rest, output
    assert_nothing_left(docker_client, process.pid, output)


def test_target_serves_calls_through_the_network_and_stops_clean(docker_client, litellm_image) -> None:
    from harness.gateways.litellm.docker_target import DockerTarget

    target = DockerTarget(f"litellm=={VERSION}", log=print)
    with target:
        endpoint = target.start(MODELS)
        run_id = target.run_id
        assert endpoint.proxy_version == VERSION
        assert endpoint.base_url.startswith("http://127.0.0.1:")
        assert endpoint.upstream.url.startswith("http://127.0.0.1:")
        roles = {c.labels["gateconform.role"]: c for c in docker_client.containers.list(filters={"label": f"gateconform.run={run_id}"})}
        assert set(roles) == {"postgres", "upstream", "proxy"}
        for container in roles.values():  # published on loopback only, and only proxy + upstream
            for bindings in (container.ports or {}).values():
                assert all(binding["HostIp"] == "127.0.0.1" for binding in bindings or [])
        assert not roles["postgres"].ports or not any(roles["postgres"].ports.values())

        master = {"Authorization": f"Bearer {endpoint.master_key}"}
        generated = httpx.post(f"{endpoint.base_url}/key/generate", headers=master,
                               json={"models": ["gpt-4o-mini"]}, timeout=30)
        assert generated.status_code == 200, generated.text
        key = {"Authorization": f"Bearer {generated.json()['key']}"}
        for model, marker in (("gpt-4o-mini", "allowed-1"), ("gpt-4o", "denied-1")):
            body = {"model": model, "messages": [{"role": "user", "content": f"hi [gateconform-probe:{marker}]"}]}
            httpx.post(f"{endpoint.base_url}/v1/chat/completions", headers=key, json=body, timeout=30)
        # The upstream container recorded the allowed call only; the harness read it over the network.
        assert [hit.model for hit in endpoint.upstream.hits("allowed-1")] == ["gpt-4o-mini"]
        assert endpoint.upstream.hits("denied-1") == []
    assert objects_of_runs(docker_client, {run_id}) == []
    assert docker_cli_shows({run_id}) == []
    target.stop()  # idempotent


def test_proxy_not_ready_in_time_reports_its_log_without_secrets(docker_client, litellm_image) -> None:
    from harness.gateways.litellm.docker_target import DockerTarget

    target = DockerTarget(f"litellm=={VERSION}", log=print, ready_timeout_s=4)
    with pytest.raises(TargetError) as error:
        target.start(MODELS)
    message = str(error.value)
    assert "not ready after 4 s" in message
    assert "lines of the proxy container's log" in message
    assert target.master_key and target.master_key not in message
    assert objects_of_runs(docker_client, {target.last_run_id}) == []


def test_a_missing_image_says_how_to_build_one(docker_client) -> None:
    from harness.gateways.litellm.docker_target import DockerTarget

    target = DockerTarget("litellm==1.0.0", log=print)  # neither built here nor pullable offline
    if docker_client.images.list(name="gateconform/litellm:1.0.0"):
        pytest.skip("this engine happens to have gateconform/litellm:1.0.0")
    with pytest.raises(TargetError) as error:
        target.start(MODELS)
    message = str(error.value)
    assert "gateconform image build litellm==1.0.0" in message
    assert "ghcr.io/berriai/litellm-database:v1.0.0-stable" in message
