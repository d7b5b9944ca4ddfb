"""A real environment build killed with SIGKILL mid-install leaves nothing once `gateconform clean` ran.

`gateconform run` builds LiteLLM 1.82.3 into a cache root of its own (so it really builds; uv's
download cache keeps that quick), is killed with SIGKILL while `uv pip install` runs, and then
`gateconform clean` must kill the orphaned uv and its children and remove the build folder and
every temp folder of the build. The test recognises the build's processes by its own cache
root on their command line, so it sees nothing of other runs.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
SEED = REPO / "scenarios/litellm/issue-23850-access-group-limits-service-key.yaml"
VERSION = "1.82.3"


def _command_line(pid: int) -> list[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [arg.decode(errors="replace") for arg in raw.split(b"\0") if arg]


def _build_processes(cache_root: Path) -> dict[int, list[str]]:
    """Live, non-zombie processes working in `cache_root` (uv, the staging python, prisma, node)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            state = (entry / "stat").read_text().rsplit(")", 1)[-1].split()[0]
        except (OSError, IndexError):
            continue
        argv = _command_line(int(entry.name))
        if state not in ("Z", "X") and any(str(cache_root) in arg for arg in argv):
            found[int(entry.name)] = argv
    return found


def _installing(processes: dict[int, list[str]]) -> bool:
    return any("pip" in argv and "install" in argv and f"litellm[proxy]=={VERSION}" in argv
               for argv in processes.values())


def _gateconform(*args: str) -> list[str]:
    return [sys.executable, "-c", "from harness.cli.app import main; main()", *args]


def test_clean_removes_everything_of_a_build_killed_mid_install(tmp_path: Path) -> None:
    cache_root = tmp_path / "cache"
    user_tmp = tmp_path / "tmp"
    user_tmp.mkdir()
    env = {**os.environ, "GATECONFORM_CACHE_DIR": str(cache_root), "TMPDIR": str(user_tmp)}
    run = subprocess.Popen(
        _gateconform("run", str(SEED), "--target", f"litellm=={VERSION}", "--report-dir", str(tmp_path / "out")),
        cwd=REPO, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 300  # the wasm engine's `npm ci` comes first
        while not _installing(_build_processes(cache_root)):
            assert run.poll() is None, f"the run ended before installing: {run.stderr.read().decode()[-3000:]}"  # type: ignore[union-attr]
            assert time.monotonic() < deadline, "uv pip install never started"
            time.sleep(0.1)
        time.sleep(3)  # well into the install: packages are landing in the staging folder
        assert _installing(_build_processes(cache_root)), "the install ended before the kill: nothing to test"
    finally:
        run.kill()  # SIGKILL: the run can clean up nothing
        run.wait()
    tool_temps: set[Path] = set()
    try:
        # The orphaned uv and its children (a parallel run starting now may reap them before clean)
        orphans = _build_processes(cache_root)
        staging = list((cache_root / "envs").glob(f".litellm-{VERSION}-*"))
        assert staging, "the killed build left no staging folder"
        # uv keeps some temp folders in its own cache (its bytecode compiler script) and names them
        tool_temps = {Path(arg).parent for argv in orphans.values() for arg in argv
                      if Path(arg).parent.name.startswith(".tmp") and Path(arg).parent.is_dir()}

        clean = subprocess.run(_gateconform("clean"), cwd=REPO, env=env, capture_output=True, text=True, timeout=300)

        assert clean.returncode == 0, clean.stdout + clean.stderr
        assert _build_processes(cache_root) == {}, "processes of the killed build survived clean"
        for folder in staging:
            assert not folder.exists(), f"clean left the staging folder {folder}"
            assert f"local: removed {folder} (" in clean.stdout
        envs = {path.name for path in (cache_root / "envs").iterdir() if not path.name.endswith(".lock")}
        assert envs == set(), f"clean left {envs} in the cache"
        assert list(user_tmp.iterdir()) == [], "the build left something in $TMPDIR"
        assert [folder for folder in tool_temps if folder.exists()] == []
    finally:
        for pid in _build_processes(cache_root):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        shutil.rmtree(cache_root, ignore_errors=True)  # hundreds of MB: not for pytest to keep
        for folder in tool_temps:  # if clean failed to: uv's temp folders of this build
            shutil.rmtree(folder, ignore_errors=True)
