"""Warm parents fork copies of a program that see their own argv, environment, folder and log,
that are found by their own run marker, and that never outlive their owner — also when the owner
is killed with SIGKILL, and when the parent hangs (then the reaper finds them through the parent).

The program is a tiny stand-in (`tests/fixtures/forkable_program.py`) run by this interpreter: the
machinery is the same as for a proxy, in milliseconds.
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from harness.targets.lifecycle import OWNER_ENV, RUN_ID_ENV, current_owner, marker_env
from harness.targets.processes import is_running, processes_owned_by, running_children, wait_until_gone
from harness.targets.reaping import reap_orphans
from harness.targets import warm_parent
from harness.targets.warm_parent import (
    ForkUnavailable,
    WarmParent,
    WarmParents,
    WarmParentSpec,
    split_environment,
)

FIXTURES = Path(__file__).parents[1] / "fixtures"
PROGRAM = FIXTURES / "forkable_program.py"
REPO = Path(__file__).parents[2]


def spec(preload: tuple[str, ...] = ("forkable_program",), **env: str) -> WarmParentSpec:
    base = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(FIXTURES), "FORKABLE_IMPORT_TIME": "parent"}
    return WarmParentSpec(Path(sys.executable), PROGRAM, preload, "forkable_program:main", {**base, **env})


@pytest.fixture
def parent():  # type: ignore[no-untyped-def]
    warm = WarmParent(spec())
    warm.spawn()
    warm.wait_ready(timeout_s=30)
    yield warm
    warm.stop()


def child_env(run_id: str, **extra: str) -> dict[str, str]:
    env = dict(spec().env, FORKABLE_IMPORT_TIME="child", **extra)
    env.update(marker_env(run_id, current_owner()))
    return env


def wait_for_file(path: Path, timeout_s: float = 10) -> dict:
    deadline = time.monotonic() + timeout_s
    while not path.exists():
        assert time.monotonic() < deadline, f"{path.name} never appeared"
        time.sleep(0.02)
    return json.loads(path.read_text())


def test_a_forked_copy_runs_with_its_own_argv_environment_folder_session_and_log(parent, tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    env = child_env("run1", ONLY_IN_CHILD="yes")
    child = parent.fork([str(PROGRAM), "report", str(report), "exit", "3"], env, tmp_path, tmp_path / "child.log")

    assert child.wait(timeout=10) == 3
    seen = json.loads(report.read_text())
    assert seen["argv"] == [str(PROGRAM), "report", str(report), "exit", "3"]
    assert seen["env"] == env  # exactly its own: nothing of the parent's environment leaks in
    assert seen["cwd"] == str(tmp_path)
    assert seen["sid"] == seen["pid"] == child.pid  # leads its own session: stopped as one group
    assert seen["ppid"] == parent.process.pid
    assert seen["stdin"] == ""
    # what the program read while it was imported is the parent's: why it is the parent's identity
    assert seen["imported_with"] == "parent"
    assert (tmp_path / "child.log").read_text().splitlines() == [
        "forkable program on stdout", "forkable program on stderr"]


def test_a_forked_copy_is_found_by_its_own_run_marker_not_its_parents(parent, tmp_path: Path) -> None:
    child = parent.fork([str(PROGRAM), "sleep", "30"], child_env("run-own"), tmp_path, tmp_path / "log")
    try:
        deadline = time.monotonic() + 5
        while child.pid not in running_children("run-own"):
            assert time.monotonic() < deadline, "the forked copy is not found by its run id"
            time.sleep(0.02)
        # /proc/<pid>/environ of a fork shows the parent's variables: the ledger tells them apart
        assert b"GATECONFORM_RUN_ID=run-own" not in Path(f"/proc/{child.pid}/environ").read_bytes()
        assert child.pid in processes_owned_by(current_owner())
        assert parent.process.pid in running_children(parent.run_id)
        assert parent.live_children() == [child.pid]
    finally:
        os.killpg(child.pid, signal.SIGTERM)
    assert child.wait(timeout=10) == -signal.SIGTERM
    assert running_children("run-own") == []


WARM_UP = """
import time
import forkable_program

def warm_up():
    for step in range({steps}):
        time.sleep(0.05)
        if step == {fail_at}:
            raise RuntimeError("the cache cannot be built here")
        forkable_program.WARMED.append(step)
        yield
    return "built {steps} things"
"""


def warm_up_file(tmp_path: Path, steps: int, fail_at: int = -1) -> Path:
    path = tmp_path / "warm_up.py"
    path.write_text(WARM_UP.format(steps=steps, fail_at=fail_at))
    return path


def fork_and_report(warm: WarmParent, tmp_path: Path, name: str) -> dict:
    report = tmp_path / f"{name}.json"
    child = warm.fork([str(PROGRAM), "report", str(report)], child_env(name), tmp_path, tmp_path / f"{name}.log")
    assert child.wait(timeout=10) == 0
    return json.loads(report.read_text())


def wait_for_warm_up(warm: WarmParent) -> str:
    deadline = time.monotonic() + 30
    while (state := warm.ping()["warm_up"]) == "warming up":
        assert time.monotonic() < deadline, "the warm-up never ended"
        time.sleep(0.05)
    return state


def test_the_warm_up_runs_between_forks_and_later_copies_start_with_what_it_built(tmp_path: Path) -> None:
    warm = WarmParent(dataclasses.replace(spec(), warm_up=warm_up_file(tmp_path, steps=100)))
    warm.spawn()
    try:
        warm.wait_ready(timeout_s=30)
        early = fork_and_report(warm, tmp_path, "early")  # answered while the warm-up goes on
        assert early["warmed"] < 100
        assert wait_for_warm_up(warm) == "built 100 things"
        assert fork_and_report(warm, tmp_path, "later")["warmed"] == 100
    finally:
        warm.stop()


def test_a_failing_warm_up_is_dropped_and_the_parent_still_forks(tmp_path: Path) -> None:
    warm = WarmParent(dataclasses.replace(spec(), warm_up=warm_up_file(tmp_path, steps=10, fail_at=3)))
    warm.spawn()
    try:
        state = wait_for_warm_up(warm)
        assert state.startswith("warm-up failed") and "the cache cannot be built here" in state
        assert fork_and_report(warm, tmp_path, "after")["warmed"] == 3
    finally:
        warm.stop()


def test_a_stop_signal_during_the_warm_up_stops_the_parent(tmp_path: Path) -> None:
    warm = WarmParent(dataclasses.replace(spec(), warm_up=warm_up_file(tmp_path, steps=600)))  # 30 s of steps
    warm.spawn()
    try:
        warm.wait_ready(timeout_s=30)
        assert warm.ping()["warm_up"] == "warming up"
        warm.process.send_signal(signal.SIGTERM)
        assert warm.process.wait(timeout=10) == 0  # stopped, not taken for a failed warm-up
    finally:
        warm.stop()


def test_the_warm_up_is_part_of_the_parents_identity(tmp_path: Path) -> None:
    with_warm_up = dataclasses.replace(spec(), warm_up=warm_up_file(tmp_path, steps=1))
    assert with_warm_up.identity != spec().identity


def test_stopping_the_parent_stops_its_children_and_removes_its_folder(tmp_path: Path) -> None:
    warm = WarmParent(spec())
    warm.spawn()
    child = warm.fork([str(PROGRAM), "sleep", "60"], child_env("run-stop"), tmp_path, tmp_path / "log")
    home = warm.home
    assert home is not None and home.is_dir()
    warm.stop()
    assert wait_until_gone([child.pid], timeout_s=5)
    assert not home.exists()
    warm.stop()  # idempotent


def test_identity_follows_import_time_variables_only() -> None:
    env = {"PATH": "/bin", "DATABASE_URL": "postgresql://a", "CACHE_TTL": "60", RUN_ID_ENV: "x", OWNER_ENV: "1:2"}
    import_time, run_time = split_environment(env, ["DATABASE_URL"])
    assert import_time == {"PATH": "/bin", "CACHE_TTL": "60"}  # undeclared: counts as import-time
    assert run_time == {"DATABASE_URL": "postgresql://a", RUN_ID_ENV: "x", OWNER_ENV: "1:2"}
    assert spec(CACHE_TTL="60").identity == spec(CACHE_TTL="60").identity
    assert spec(CACHE_TTL="60").identity != spec(CACHE_TTL="1").identity
    assert spec(CACHE_TTL="60").identity != spec().identity  # set or not set differs too


def test_the_pool_keeps_one_parent_per_identity_and_another_for_another_value() -> None:
    pool = WarmParents()
    try:
        first = pool.parent_for(spec(CACHE_TTL="60"))
        assert pool.parent_for(spec(CACHE_TTL="60")) is first
        other = pool.parent_for(spec(CACHE_TTL="1"))
        assert other is not first and len(pool.parents()) == 2
    finally:
        pool.stop()
    assert pool.parents() == []


def test_the_pool_stops_the_least_recently_used_idle_parent_beyond_its_limit() -> None:
    pool = WarmParents(limit=2)
    try:
        oldest = pool.parent_for(spec(N="1"))
        pool.parent_for(spec(N="2"))
        pool.parent_for(spec(N="3"))
        assert oldest not in pool.parents() and not oldest.alive()
        assert len(pool.parents()) == 2
    finally:
        pool.stop()


def test_a_program_that_cannot_be_imported_is_unavailable_with_its_traceback_and_not_retried(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    spawned: list[WarmParent] = []
    spawn = WarmParent.spawn
    monkeypatch.setattr(WarmParent, "spawn", lambda self: (spawned.append(self), spawn(self))[1])
    pool = WarmParents()
    broken = spec(preload=("fails_at_import",))
    with pytest.raises(ForkUnavailable) as failure:
        pool.parent_for(broken)
    assert failure.value.lasting
    assert "this module cannot be imported (on purpose)" in failure.value.reason
    with pytest.raises(ForkUnavailable):
        pool.parent_for(broken)  # remembered: no second parent is started for it
    assert len(spawned) == 1
    assert pool.parents() == []


def test_threads_left_running_by_the_import_make_forking_unsafe() -> None:
    pool = WarmParents()
    with pytest.raises(ForkUnavailable) as failure:
        pool.parent_for(spec(preload=("thread_at_import",)))
    assert "left-running-by-import" in failure.value.reason
    assert "thread" in failure.value.reason


# A process that owns a warm parent and one forked copy, then waits to be killed.
_OWNER = textwrap.dedent("""
    import json, sys, tempfile
    from pathlib import Path
    sys.path.insert(0, {repo!r})
    from tests.unit.test_warm_parent import PROGRAM, child_env, spec
    from harness.targets.warm_parent import WARM_PARENTS
    parent = WARM_PARENTS.parent_for(spec())
    folder = Path(tempfile.mkdtemp(prefix="gateconform-test-owner-"))
    child = parent.fork([str(PROGRAM), "sleep", "120"], child_env({run_id!r}), folder, folder / "log")
    print(json.dumps({{"parent": parent.process.pid, "parent_run": parent.run_id, "child": child.pid,
                      "home": str(parent.home), "folder": str(folder)}}), flush=True)
    sys.stdin.read()
""")


def _start_owner(run_id: str) -> tuple[subprocess.Popen[str], dict]:
    owner = subprocess.Popen([sys.executable, "-c", _OWNER.format(repo=str(REPO), run_id=run_id)],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=REPO)
    assert owner.stdout is not None
    started = json.loads(owner.stdout.readline())
    assert is_running(started["parent"]) and is_running(started["child"])
    assert started["child"] in running_children(run_id)
    return owner, started


@pytest.mark.slow
def test_a_killed_owners_parent_takes_its_forked_copies_along() -> None:
    owner, started = _start_owner("run-killed-owner")
    try:
        owner.kill()  # SIGKILL: the owner cleans up nothing
        owner.wait(timeout=10)
        assert wait_until_gone([started["parent"], started["child"]], timeout_s=10), \
            "the warm parent or its forked copy outlived the owner"
        reap_orphans()  # what is left is a folder: the parent's, and the owner's own
        assert not Path(started["home"]).exists()
    finally:
        subprocess.run(["rm", "-rf", started["folder"]], check=False)


@pytest.mark.slow
def test_a_hung_parent_of_a_killed_owner_and_its_forked_copies_are_reaped() -> None:
    owner, started = _start_owner("run-hung-parent")
    try:
        os.kill(started["parent"], signal.SIGSTOP)  # it can no longer stop anything itself
        owner.kill()
        owner.wait(timeout=10)
        time.sleep(0.5)
        assert is_running(started["child"]), "the forked copy should still run: its parent only hangs"
        reaped = reap_orphans()
        assert wait_until_gone([started["parent"], started["child"]], timeout_s=5)
        assert any(entry.startswith(f"{started['child']} ") for entry in reaped.processes), reaped.processes
        assert running_children("run-hung-parent") == [] and running_children(started["parent_run"]) == []
        assert not Path(started["home"]).exists()
    finally:
        for pid in (started["parent"], started["child"]):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        subprocess.run(["rm", "-rf", started["folder"]], check=False)


def test_warming_ahead_stops_no_parent_and_imports_no_more_at_once_than_there_are_cores(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(warm_parent, "cores", lambda: 2)
    pool = WarmParents(limit=3)
    try:
        assert pool.warm(spec(N="1"), ahead=True) and pool.warm(spec(N="2"), ahead=True)
        assert not pool.warm(spec(N="3"), ahead=True)  # two imports already: one per core
        assert len(pool.parents()) == 2
        for parent in pool.parents():
            parent.wait_ready(timeout_s=30)
        assert pool.warm(spec(N="3"), ahead=True)  # the imports are done: a core is free
        assert not pool.warm(spec(N="4"), ahead=True)  # at the limit: no idle parent is stopped for it
        assert len(pool.parents()) == 3 and all(parent.alive() for parent in pool.parents())
        assert pool.warm(spec(N="1"), ahead=True)  # one that exists is there
    finally:
        pool.stop()
