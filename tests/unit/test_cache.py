"""`gateconform cache list|prune`: what is on disk, and that pruning never removes a locked env."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from filelock import FileLock

from harness.gateways.litellm.cache import (
    format_age,
    list_environments,
    parse_age,
    prune,
    select_for_pruning,
)
from harness.gateways.litellm.environments import LAST_USED_NAME, RECIPE_REVISION, STAMP_NAME, environment_name


def make_env(cache: Path, version: str, *, name: str | None = None, revision: int = RECIPE_REVISION,
             complete: bool = True, last_used: float | None = None) -> Path:
    root = cache / "envs" / (name or environment_name(version))
    (root / "lib").mkdir(parents=True)
    (root / "lib" / "blob").write_bytes(b"x" * 10_000)
    if complete:
        stamp = {"litellm_version": version, "recipe_revision": revision, "built_at": time.time()}
        (root / STAMP_NAME).write_text(json.dumps(stamp))
    if last_used is not None:
        marker = root / LAST_USED_NAME
        marker.touch()
        import os

        os.utime(marker, (last_used, last_used))
    return root


def test_list_shows_version_size_and_state(tmp_path: Path) -> None:
    make_env(tmp_path, "1.82.3")
    make_env(tmp_path, "1.80.0", name="litellm-1.80.0-py311-r1", revision=1)
    make_env(tmp_path, "1.81.0", complete=False)
    envs = {env.version: env for env in list_environments(tmp_path)}
    assert set(envs) == {"1.82.3", "1.80.0", "1.81.0"}
    assert envs["1.82.3"].size_bytes >= 10_000 and envs["1.82.3"].own_bytes >= 10_000
    assert not envs["1.82.3"].stale
    assert envs["1.80.0"].stale  # older recipe
    assert envs["1.81.0"].stale and not envs["1.81.0"].complete


def test_empty_cache_lists_nothing(tmp_path: Path) -> None:
    assert list_environments(tmp_path) == []


def test_select_by_age_version_and_staleness(tmp_path: Path) -> None:
    now = time.time()
    make_env(tmp_path, "1.82.3", last_used=now - 40 * 86400)
    make_env(tmp_path, "1.108.7", last_used=now - 3600)
    make_env(tmp_path, "1.80.0", name="litellm-1.80.0-py311-r1", revision=1, last_used=now)
    envs = list_environments(tmp_path)

    def versions(**selectors) -> set[str]:  # type: ignore[no-untyped-def]
        return {env.version for env, _ in select_for_pruning(envs, now=now, **selectors)}  # type: ignore[misc]

    assert versions(older_than_s=30 * 86400) == {"1.82.3"}
    assert versions(versions=["1.108.7"]) == {"1.108.7"}
    assert versions(stale=True) == {"1.80.0"}
    assert versions(everything=True) == {"1.82.3", "1.108.7", "1.80.0"}
    assert versions() == set()


def test_prune_removes_and_dry_run_does_not(tmp_path: Path) -> None:
    root = make_env(tmp_path, "1.82.3")
    chosen = select_for_pruning(list_environments(tmp_path), versions=["1.82.3"])
    [decision] = prune(chosen, dry_run=True)
    assert not decision.removed and root.exists()
    [decision] = prune(chosen)
    assert decision.removed and not root.exists()


def test_prune_keeps_an_environment_whose_build_lock_is_held(tmp_path: Path) -> None:
    root = make_env(tmp_path, "1.82.3")
    chosen = select_for_pruning(list_environments(tmp_path), versions=["1.82.3"])
    with FileLock(str(root.parent / f"{root.name}.lock")):
        [decision] = prune(chosen)
    assert not decision.removed and root.exists()
    assert "being built" in decision.reason


def test_prune_keeps_an_environment_a_process_runs_from(tmp_path: Path) -> None:
    import subprocess
    import sys

    root = make_env(tmp_path, "1.82.3")
    # a process whose command line names a file inside the environment, like a running proxy
    (root / "bin").mkdir()
    script = root / "bin" / "sleeper.py"
    script.write_text("import time; time.sleep(30)\n")
    proc = subprocess.Popen([sys.executable, str(script)])
    try:
        deadline = time.monotonic() + 10  # until exec() has replaced the forked pytest image
        while str(script).encode() not in Path(f"/proc/{proc.pid}/cmdline").read_bytes():
            assert time.monotonic() < deadline, "the sleeper did not start"
            time.sleep(0.01)
        chosen = select_for_pruning(list_environments(tmp_path), versions=["1.82.3"])
        [decision] = prune(chosen)
        assert not decision.removed and root.exists()
        assert f"in use by pid {proc.pid}" in decision.reason
    finally:
        proc.kill()
        proc.wait()


@pytest.mark.parametrize(("text", "seconds"), [("30d", 30 * 86400), ("12h", 43200), ("90m", 5400), ("2w", 1209600)])
def test_parse_age(text: str, seconds: float) -> None:
    assert parse_age(text) == seconds


@pytest.mark.parametrize("text", ["30", "d", "x3d", "-1d", "3y"])
def test_parse_age_rejects_nonsense(text: str) -> None:
    with pytest.raises(ValueError, match="e.g. 30d"):
        parse_age(text)


def test_format_age() -> None:
    assert [format_age(s) for s in (5, 600, 7200 * 3, 86400 * 9)] == ["5 s", "10 min", "6 h", "9 d"]
