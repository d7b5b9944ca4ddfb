"""A build killed with SIGKILL is reaped by the next run and by `gateconform clean`; a live one is not.

Fake builds only (no network, no LiteLLM): sleeping processes carrying the run marker, build
folders with an owner file, and real builds whose uv or npm is a script that waits to be killed.
Every assertion looks only at what the test itself created (its processes, its cache root).
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from filelock import FileLock
from typer.testing import CliRunner

from harness.cli import app as cli
from harness.targets import docker_engine
from harness.targets.docker_engine import DockerUnavailableError
from harness.gateways.litellm.environments import STAMP_NAME, environment_name
from harness.targets.lifecycle import (
    BUILD_RUN_PREFIX,
    current_owner,
    identity_alive,
    marker_env,
    process_identity,
    write_owner_file,
)
from harness.gateways.litellm.local import reap_orphans
from harness.targets.processes import processes_owned_by

REPO = Path(__file__).resolve().parents[2]


def _owner() -> tuple[subprocess.Popen[bytes], str]:
    """A stand-in for a `gateconform run` that owns a build, and its identity."""
    proc = subprocess.Popen(["sleep", "60"])
    return proc, process_identity(proc.pid)


def _kill_owner(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL the owner. Done just before reaping: until then no reaper on the machine (a
    parallel run starting) may take the test's orphans, whose listing the test checks."""
    proc.kill()
    proc.wait()


def _fake_build_process(owner: str) -> subprocess.Popen[bytes]:
    """A `uv pip install` stand-in: sleeps, carrying a build's run marker for `owner`."""
    env = {**os.environ, **marker_env(f"{BUILD_RUN_PREFIX}{secrets.token_hex(6)}", owner)}
    return subprocess.Popen(["sleep", "120"], env=env, start_new_session=True)


def _fake_site(parent: Path, built_name: str, owner: str | None) -> Path:
    """A build folder as a killed build leaves it: a partial environment and a tool's temp folder."""
    folder = parent / f".{built_name}.{secrets.token_hex(4)}"
    (folder / "env" / "lib").mkdir(parents=True)
    (folder / "env" / "lib" / "partial.whl").write_bytes(b"x" * 3_000_000)
    (folder / "tmp" / secrets.token_hex(16)).mkdir(parents=True)
    if owner is not None:
        write_owner_file(folder, owner)
    return folder


def _stop(*procs: subprocess.Popen[bytes]) -> None:
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.wait()


@pytest.fixture
def cache_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "cache"
    (root / "envs").mkdir(parents=True)
    monkeypatch.setenv("GATECONFORM_CACHE_DIR", str(root))
    return root


def test_the_reaper_kills_and_removes_a_killed_build_and_leaves_a_live_one(cache_root: Path) -> None:
    (owner, dead), live = _owner(), current_owner()
    orphan, building = _fake_build_process(dead), _fake_build_process(live)
    try:
        dead_site = _fake_site(cache_root / "envs", environment_name("9.9.1"), dead)
        live_site = _fake_site(cache_root / "envs", environment_name("9.9.2"), live)
        dead_engine_site = _fake_site(cache_root, "wasm-engine-0123456789abcdef", dead)
        _kill_owner(owner)
        assert not identity_alive(dead)

        reaped = reap_orphans(cache_root=cache_root)

        assert orphan.wait(timeout=10) == -signal.SIGKILL
        assert f"{orphan.pid} sleep" in reaped.processes
        assert building.poll() is None, "a build whose owner is alive was killed"
        assert not dead_site.exists() and not dead_engine_site.exists()
        assert live_site.exists() and (live_site / "env" / "lib" / "partial.whl").exists()
        removed = {swept.folder: swept for swept in reaped.removed_build_folders}
        assert set(removed) == {dead_site, dead_engine_site}
        assert removed[dead_site].size_bytes >= 3_000_000
        kept = {swept.folder: swept.reason for swept in reaped.kept_build_folders}
        assert kept == {live_site: f"its builder (pid {os.getpid()}) is still running"}
    finally:
        _stop(orphan, building, owner)


def test_without_an_owner_file_the_build_lock_decides(cache_root: Path) -> None:
    """Folders from a gateconform that wrote no owner file: removed only if nobody holds the lock."""
    envs = cache_root / "envs"
    abandoned = _fake_site(envs, environment_name("9.9.3"), owner=None)
    being_built = _fake_site(envs, environment_name("9.9.4"), owner=None)
    unstamped = envs / environment_name("9.9.5")  # renamed into place, killed before the stamp
    (unstamped / "bin").mkdir(parents=True)
    unstamped_being_built = envs / environment_name("9.9.6")  # prisma generate running right now
    (unstamped_being_built / "bin").mkdir(parents=True)
    complete = envs / environment_name("9.9.7")
    (complete / "bin").mkdir(parents=True)
    (complete / STAMP_NAME).write_text('{"litellm_version": "9.9.7"}')

    with FileLock(str(envs / f"{environment_name('9.9.4')}.lock")), \
            FileLock(str(envs / f"{environment_name('9.9.6')}.lock")):
        reaped = reap_orphans(cache_root=cache_root)
        assert being_built.exists() and unstamped_being_built.exists(), "a live builder's folder was removed"

    assert not abandoned.exists() and not unstamped.exists()
    assert complete.exists()
    kept = {swept.folder: swept.reason for swept in reaped.kept_build_folders}
    assert kept == {being_built: "being built (its build lock is held)",
                    unstamped_being_built: "being built (its build lock is held)"}
    # the lock files are still there and free: a waiting builder goes on as usual
    with FileLock(str(envs / f"{environment_name('9.9.4')}.lock"), timeout=0):
        pass


def test_a_folder_without_owner_that_a_process_still_runs_from_is_kept(cache_root: Path) -> None:
    """The uv of a build killed under a gateconform that set no run marker still writes there."""
    folder = _fake_site(cache_root / "envs", environment_name("9.9.8"), owner=None)
    tool = folder / "env" / "bin" / "tool"
    tool.parent.mkdir()
    tool.write_text("sleep 120\n")
    user = subprocess.Popen(["sh", str(tool)], start_new_session=True)
    try:
        reaped = reap_orphans(cache_root=cache_root)
        assert folder.exists()
        kept = {swept.folder: swept.reason for swept in reaped.kept_build_folders}
        assert kept[folder].startswith("no owner recorded, in use by pid ") and str(user.pid) in kept[folder]
    finally:
        os.killpg(user.pid, signal.SIGKILL)  # sh and its sleep
        user.wait()


def test_clean_says_what_it_removed_and_kept_without_docker(
    cache_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_engine(timeout_s: float = 0) -> None:
        raise DockerUnavailableError("no Docker engine answers (test)")

    monkeypatch.setattr(docker_engine, "connect", no_engine)
    (owner, dead), live = _owner(), current_owner()
    orphan, building = _fake_build_process(dead), _fake_build_process(live)
    try:
        dead_site = _fake_site(cache_root / "envs", environment_name("9.9.1"), dead)
        live_site = _fake_site(cache_root / "envs", environment_name("9.9.2"), live)
        _kill_owner(owner)

        result = CliRunner().invoke(cli.app, ["clean"])

        assert result.exit_code == 0, result.output
        assert orphan.wait(timeout=10) == -signal.SIGKILL and building.poll() is None
        assert not dead_site.exists() and live_site.exists()
        lines = result.output.splitlines()
        assert any(line.startswith("local: killed") and f"{orphan.pid} sleep" in line for line in lines)
        assert f"local: removed {dead_site} (3 MB): its builder (pid {dead.split(':')[0]}) is gone" in lines
        assert f"local: kept {live_site}: its builder (pid {os.getpid()}) is still running" in lines
        assert any(line.startswith("Docker: skipped (no Docker engine answers (test))") for line in lines)
    finally:
        _stop(orphan, building, owner)


# --------------------------------------------------------------------------- real builds, fake tools

_FAKE_UV = """#!/bin/sh
# `uv venv … <staging>`: start the environment, leave something in TMPDIR, then "install" forever.
[ "$1" = venv ] || exit 1
for last; do :; done
mkdir -p "$last/lib"
head -c 2000000 /dev/zero > "$last/lib/partial.whl"
mkdir -p "$TMPDIR/left-by-a-tool"
printf "owner=%s\npid=%s\n" "$GATECONFORM_RUN_OWNER" $$ > "$FAKE_TOOL_STARTED.new" && mv "$FAKE_TOOL_STARTED.new" "$FAKE_TOOL_STARTED"
exec sleep 120
"""

_FAKE_NPM = """#!/bin/sh
mkdir -p node_modules/@prisma "$TMPDIR/left-by-a-tool"
printf "owner=%s\npid=%s\n" "$GATECONFORM_RUN_OWNER" $$ > "$FAKE_TOOL_STARTED.new" && mv "$FAKE_TOOL_STARTED.new" "$FAKE_TOOL_STARTED"
exec sleep 120
"""

_BUILD_ENVIRONMENT = """
import sys
from pathlib import Path
from harness.gateways.litellm import environment_build
environment_build._uv = lambda: sys.argv[2]
environment_build.ensure_environment("1.82.3", Path(sys.argv[1]), engine_env={})
"""

_INSTALL_ENGINE = """
import sys
from pathlib import Path
from harness.gateways.litellm.wasm_engine import ensure_wasm_engine
ensure_wasm_engine(Path(sys.argv[1]))
"""


def _script(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text)
    path.chmod(0o755)
    return path


def _kill_builder_while_its_tool_runs(
    tmp_path: Path, cache_root: Path, leftovers: list[int], code: str, *args: str, path_dir: Path | None = None
) -> str:
    """Start a build in a child process, SIGKILL it once its tool runs; return the child's identity.

    The tool's pid goes into `leftovers`, so the test kills it at the end even if it was not reaped.
    """
    started = tmp_path / "tool-started"
    user_tmp = tmp_path / "user-tmp"
    user_tmp.mkdir()
    env = {**os.environ, "FAKE_TOOL_STARTED": str(started), "TMPDIR": str(user_tmp),
           "PYTHONPATH": str(REPO)}
    if path_dir is not None:
        env["PATH"] = f"{path_dir}{os.pathsep}{env['PATH']}"
    builder = subprocess.Popen([sys.executable, "-c", code, str(cache_root), *args], cwd=tmp_path, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    owner = process_identity(builder.pid)
    try:
        deadline = time.monotonic() + 60
        while not started.exists():
            assert builder.poll() is None, f"the build ended early: {builder.stderr.read().decode()[-2000:]}"  # type: ignore[union-attr]
            assert time.monotonic() < deadline, "the build's tool never started"
            time.sleep(0.05)
    finally:
        builder.kill()  # SIGKILL: the builder can clean up nothing
        builder.wait()
    tool = dict(line.split("=", 1) for line in started.read_text().splitlines())
    leftovers.append(int(tool["pid"]))
    assert tool["owner"] == owner, "the build's tool does not carry its owner's run marker"
    return owner


@pytest.fixture
def kill_leftovers():  # type: ignore[no-untyped-def]
    """The fake tools the test's builds started are killed at the end, pass or fail."""
    pids: list[int] = []
    yield pids
    for pid in pids:
        try:
            if b"FAKE_TOOL_STARTED=" in Path(f"/proc/{pid}/environ").read_bytes():
                os.kill(pid, signal.SIGKILL)
        except OSError:  # gone: reaped as it should be
            pass


def test_an_environment_build_killed_mid_install_is_reaped(
    tmp_path: Path, cache_root: Path, kill_leftovers: list[int]
) -> None:
    fake_uv = _script(tmp_path / "bin", "uv", _FAKE_UV)
    owner = _kill_builder_while_its_tool_runs(tmp_path, cache_root, kill_leftovers, _BUILD_ENVIRONMENT, str(fake_uv))
    assert [p.name for p in (cache_root / "envs").glob(".litellm-*")], "no build folder to sweep"

    reap_orphans(cache_root=cache_root)

    assert processes_owned_by(owner) == []
    assert list((cache_root / "envs").glob(".litellm-*")) == []
    assert list((tmp_path / "user-tmp").iterdir()) == [], "the build left something in the user's TMPDIR"


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not on PATH")
def test_a_wasm_engine_install_killed_during_npm_is_reaped(
    tmp_path: Path, cache_root: Path, kill_leftovers: list[int]
) -> None:
    bin_dir = tmp_path / "bin"
    _script(bin_dir, "npm", _FAKE_NPM)
    owner = _kill_builder_while_its_tool_runs(tmp_path, cache_root, kill_leftovers, _INSTALL_ENGINE, path_dir=bin_dir)

    reap_orphans(cache_root=cache_root)

    assert processes_owned_by(owner) == []
    assert list(cache_root.glob(".wasm-engine-*")) == []
    assert list((tmp_path / "user-tmp").iterdir()) == []


@pytest.mark.skipif(shutil.which("unshare") is None or os.geteuid() != 0,
                    reason="needs unshare as root to start a process in another PID namespace")
def test_a_marked_process_in_another_pid_namespace_is_never_reaped(cache_root: Path) -> None:
    """An image build runs our recipe inside a container: its processes carry run markers whose
    owners are the container's pids, dead-looking from here. A run on the host must not kill them."""
    (owner, dead) = _owner()
    marker = [f"{key}={value}" for key, value in marker_env(f"{BUILD_RUN_PREFIX}{secrets.token_hex(6)}", dead).items()]
    # only the process inside the new namespace carries the marker (unshare itself stays outside)
    inside = subprocess.Popen(["unshare", "--pid", "--fork", "env", *marker, "sleep", "120"], start_new_session=True)
    try:
        _kill_owner(owner)
        deadline = time.monotonic() + 5
        while not _marked_sleep(inside.pid) and time.monotonic() < deadline:
            time.sleep(0.05)  # unshare forks, then env execs sleep with the marker
        (namespaced,) = _marked_sleep(inside.pid)

        reap_orphans(cache_root=cache_root)

        time.sleep(0.2)
        assert _alive(namespaced), "a process of another PID namespace was killed"
    finally:
        os.killpg(inside.pid, signal.SIGKILL)
        inside.wait()


def _marked_sleep(pid: int) -> list[int]:
    """The child of `unshare` once it runs `sleep` with the marker in its environment."""
    try:
        children = [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
        return [c for c in children if Path(f"/proc/{c}/comm").read_text().strip() == "sleep"
                and b"GATECONFORM_RUN_OWNER" in Path(f"/proc/{c}/environ").read_bytes()]
    except OSError:
        return []


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0] not in ("Z", "X")
    except OSError:
        return False
