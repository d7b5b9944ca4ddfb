"""`gateconform up` / `down` and the state they keep, offline: keepers are stand-in processes (a
sleeping Python, or this test's own process), so no proxy starts."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from harness.cli import app as cli
from harness.cli import up as up_command
from harness.targets import up_state
from harness.targets.attach import resolve_attachment
from harness.targets.errors import TargetError
from harness.targets.lifecycle import current_owner, process_identity

URL = "http://127.0.0.1:4999"


@pytest.fixture(autouse=True)
def own_up_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "up"
    monkeypatch.setenv("GATECONFORM_UP_DIR", str(folder))
    monkeypatch.delenv("GATECONFORM_MASTER_KEY", raising=False)
    monkeypatch.delenv("GATECONFORM_UPSTREAM_URL", raising=False)
    return folder


@pytest.fixture
def no_keeper(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Fail the test if `up` starts a keeper; the list records any attempt."""
    started: list[Any] = []

    def refuse(*args: Any, **kwargs: Any) -> Any:
        started.append(args)
        raise AssertionError("a keeper was started")

    monkeypatch.setattr(up_command.subprocess, "Popen", refuse)
    return started


def state(keeper: str, target: str = "litellm==1.108.7") -> up_state.UpState:
    return up_state.UpState(keeper=keeper, target=target, base_url=URL, master_key="sk-kept-master-0000",
                            upstream_url="http://127.0.0.1:4998", proxy_version="1.108.7")


def dead_identity() -> str:
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    return f"{finished.stdout.strip()}:1"


def invoke(*args: str) -> Any:
    return CliRunner().invoke(cli.app, list(args))


def test_the_state_is_private_and_names_a_live_keeper(own_up_dir: Path) -> None:
    path = up_state.write(state(current_owner()))
    assert path.stat().st_mode & 0o077 == 0 and own_up_dir.stat().st_mode & 0o077 == 0
    assert up_state.find(URL + "/") == state(current_owner())
    up_state.write(state(dead_identity()))
    assert up_state.read() is not None and up_state.find(URL) is None  # a gone keeper says nothing


def test_a_url_run_on_the_kept_proxy_needs_no_key_or_upstream_of_its_own() -> None:
    up_state.write(state(current_owner()))
    attachment = resolve_attachment(f"{URL}/")
    assert (attachment.master_key, attachment.upstream_url) == ("sk-kept-master-0000", "http://127.0.0.1:4998")
    assert attachment.managed and attachment.add_models and attachment.upstream_observed
    with pytest.raises(TargetError, match="GATECONFORM_MASTER_KEY"):
        resolve_attachment("http://127.0.0.1:5000")  # another proxy: its key is not known


def test_up_twice_names_the_proxy_that_is_up(no_keeper: list[Any]) -> None:
    up_state.write(state(current_owner()))
    same = invoke("up", "--target", "litellm==1.108.7")
    assert same.exit_code == 0 and f"already up: litellm==1.108.7 at {URL}" in same.output
    assert f"--target url:{URL}" in same.output
    other = invoke("up", "--target", "litellm==1.82.3")
    assert other.exit_code == 2 and "gateconform down` first" in " ".join(other.output.split())
    assert no_keeper == []


def test_up_keeps_only_a_local_target(no_keeper: list[Any]) -> None:
    result = invoke("up", "--target", f"url:{URL}")
    assert result.exit_code == 2 and "keeps a local proxy" in result.output
    assert no_keeper == []


def test_down_stops_the_keeper_and_leaves_nothing(own_up_dir: Path) -> None:
    keeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        time.sleep(0.2)
        up_state.write(state(process_identity(keeper.pid)))
        (own_up_dir / up_state.KEEPER_LOG).write_text("keeper log\n")
        result = invoke("down")
        assert result.exit_code == 0, result.output
        assert f"down: litellm==1.108.7 at {URL} stopped" in result.output
        assert keeper.poll() is not None
    finally:
        keeper.kill()
        keeper.wait()
    assert not own_up_dir.exists()


def test_down_after_the_keeper_was_killed_clears_its_state(own_up_dir: Path) -> None:
    up_state.write(state(dead_identity()))
    result = invoke("down")
    assert result.exit_code == 0 and "was not running any more" in " ".join(result.output.split())
    assert up_state.read() is None
    assert invoke("down").output.strip() == "nothing is up"
