"""The Docker target's pull path, for real: images pushed to a registry under the official names are pulled.

No registry on the internet is reachable here, so a local one (`local_registry.py`, Debian's
`docker-registry`) serves `gateconform/litellm:1.82.3` pushed as
`127.0.0.1:PORT/berriai/litellm-database:v1.82.3-stable`, the shape of LiteLLM's official
images, and `GATECONFORM_LITELLM_REGISTRY` points the official shorthands at it. A run on
`docker:v1.82.3-stable` must pull it, run the scenario on it and record the registry digest in
`results.json`; a tag the registry does not have, and a registry that does not answer, must be
clear "cannot pull" errors before anything starts.

Needs a Docker engine and `docker-registry` (CI installs both); without them these tests skip
and say why, except in CI (`CI` or `GATECONFORM_REQUIRE_DOCKER`), where they fail.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pytest

from tests.integration.scenario_copies import without_sweep
from tests.integration.local_registry import local_registry, push, registry_binary
from tests.integration.test_docker_target import (  # noqa: F401 - fixtures
    ROOT,
    VERSION,
    assert_nothing_left,
    docker_client,
    gateconform,
    litellm_image,
)

pytestmark = pytest.mark.integration

SCENARIO = ROOT / "scenarios/litellm/key-models-list-limits-key.yaml"
OFFICIAL_TAG = f"v{VERSION}-stable"


@pytest.fixture(scope="module")
def registry(docker_client):  # type: ignore[no-untyped-def]
    """A local registry holding the built image under the official name; its address."""
    if registry_binary() is None:
        why = "no docker-registry on PATH (apt-get install docker-registry)"
        if os.environ.get("CI") or os.environ.get("GATECONFORM_REQUIRE_DOCKER"):
            pytest.fail(f"CI must run the registry tests, but: {why}")
        pytest.skip(why)
    with local_registry() as address:
        yield address


def run_with_registry(docker_client, registry: str, *args: str, timeout: float = 900):  # type: ignore[no-untyped-def]
    env = {**os.environ, "GATECONFORM_LITELLM_REGISTRY": f"{registry}/berriai"}
    process = subprocess.Popen(gateconform(*args), cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    stdout, stderr = process.communicate(timeout=timeout)
    assert_nothing_left(docker_client, process.pid, stdout + stderr)
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def test_an_official_shorthand_pulls_from_the_registry_and_records_the_digest(
    docker_client, litellm_image, registry: str, tmp_path: Path  # type: ignore[no-untyped-def]
) -> None:
    repository = f"{registry}/berriai/litellm-database"
    digest = push(docker_client, litellm_image, f"{repository}:{OFFICIAL_TAG}")
    try:
        scenario = without_sweep(SCENARIO, tmp_path)  # the pull path is the point, not the sweep's findings
        ran = run_with_registry(docker_client, registry, "run", str(scenario), "--target", f"docker:{OFFICIAL_TAG}",
                                "--report-dir", str(tmp_path / "reports"))
        output = ran.stdout + ran.stderr
        assert f"pulling {repository}:{OFFICIAL_TAG}" in output
        assert f"pulled {repository}:{OFFICIAL_TAG}" in output
        document = json.loads((tmp_path / "reports" / "results.json").read_text())
        assert document["image_digest"] == f"{repository}@{digest}"  # what ran, from the registry
        assert document["proxy_version"] == VERSION
        assert ran.returncode == 0, output  # the scenario passes on 1.82.3
        assert {v["outcome"] for s in document["scenarios"] for v in s["verdicts"]} == {"pass"}
    finally:
        for image in docker_client.images.list(name=repository):  # only the pulled name; the build stays
            for tag in image.tags:
                if tag.startswith(repository):
                    docker_client.images.remove(tag)


@pytest.mark.parametrize("what", ["a tag the registry does not have", "a registry that does not answer"])
def test_cannot_pull_is_a_clear_error_before_anything_starts(
    docker_client, registry: str, what: str, tmp_path: Path  # type: ignore[no-untyped-def]
) -> None:
    address = registry if what.startswith("a tag") else "127.0.0.1:9"  # discard port: nothing listens
    started = time.monotonic()
    ran = run_with_registry(docker_client, address, "run", str(SCENARIO), "--target", "docker:v9.9.9-stable",
                            "--report-dir", str(tmp_path))
    output = ran.stdout + ran.stderr
    assert ran.returncode == 2, output
    assert "no image for docker:v9.9.9-stable on this Docker engine, and none could be pulled" in output
    assert f"{address}/berriai/litellm-database:v9.9.9-stable" in output
    assert "gateconform image build" in output  # what to do instead
    assert time.monotonic() - started < 120
    document = json.loads((tmp_path / "results.json").read_text())
    assert {s["error_reason"] for s in document["scenarios"]} == {"target_not_started"}
