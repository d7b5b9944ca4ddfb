"""Machine paths stay out of shareable reports: scenario paths are relative, prefixes redacted.

A scenario given by an absolute path, and a proxy whose boot error names the cache, the run
folder, the home folder and the working directory (tests/fixtures/unbootable_target.py), go
through `run`, `matrix`, `bisect` and the pytest plugin; no file they write may hold a path
that only makes sense on this machine. No proxy starts.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from harness.cli import app as cli
from harness.gateways.litellm import release_list
from harness.compare import release_run
from harness.common.redact import Redactor, redact_machine_paths, shareable_path
from harness.gateways.litellm.release_list import ReleaseList
from harness.common.cache_root import default_cache_root
from tests.fixtures import fake_releases, report_docs, unbootable_target

ROOT = Path(__file__).parents[2]
URL = re.compile(r"\bhttps?://\S+")
URLS_IN_BOOT_ERROR = ("https://docs.litellm.ai/docs/proxy/tmp/config", "http://127.0.0.1:4000/tmp/x")


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "cache"
    monkeypatch.setenv("GATECONFORM_CACHE_DIR", str(root))
    return root.resolve()


def machine_paths_in(folder: Path, *also: str) -> dict[str, list[str]]:
    """Per file written under `folder`: the machine-specific paths it holds (URLs aside)."""
    prefixes = {tempfile.gettempdir() + "/", "/tmp/", str(Path.home()) + "/", os.getcwd(),
                str(default_cache_root()), str(folder), *also}
    found: dict[str, list[str]] = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            text = URL.sub("", path.read_text(encoding="utf-8", errors="replace"))
            hits = sorted(prefix for prefix in prefixes if prefix in text)
            if hits:
                found[str(path.relative_to(folder))] = hits
    return found


def scenario_outside_the_working_directory(tmp_path: Path) -> Path:
    seed = report_docs.scenario(report_docs.load(), report_docs.SEED_ID)
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    path = folder / "access-group.yaml"
    path.write_text(seed.source or "")
    return path.resolve()  # absolute, as a user may type it


# --------------------------------------------------------------------------- the redaction itself


def test_machine_prefixes_become_placeholders(cache: Path, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setenv("HOME", "/home/alice")
    temp = tempfile.gettempdir()
    text = (f"environment ready in 14.0 s ({cache}/envs/litellm-1.82.3)\n"
            f"log: {temp}/gateconform-run-1a2b/proxy.log; config={work}/x.yaml, '/home/alice/.netrc'")
    assert redact_machine_paths(text) == (
        "environment ready in 14.0 s ($GATECONFORM_CACHE_DIR/envs/litellm-1.82.3)\n"
        "log: $TMPDIR/gateconform-run-1a2b/proxy.log; config=./x.yaml, '~/.netrc'"
    )


def test_the_default_cache_reads_as_under_the_home_folder(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("GATECONFORM_CACHE_DIR", raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setenv("HOME", "/home/alice")
    cache = default_cache_root()
    assert str(cache).startswith("/home/alice/")  # platformdirs' per-user cache
    assert redact_machine_paths(f"({cache}/envs/litellm-1.82.3)") == f"(~/{cache.relative_to('/home/alice')}/envs/litellm-1.82.3)"


@pytest.mark.parametrize("text", [
    "http://127.0.0.1:4000/tmp/x", "https://docs.litellm.ai/home/alice/tmp",
    "postgresql://llmproxy:***@127.0.0.1:5432/tmp", "/tmpfs/x", "/home/alicea/x", "/v1/chat/completions",
])
def test_urls_and_look_alikes_are_left_alone(text: str, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("HOME", "/home/alice")
    assert redact_machine_paths(text) == text


def test_the_secret_redactor_also_drops_machine_paths(cache: Path) -> None:
    text = f"sk-master-0123456789abcd at {cache}/envs/x"
    assert Redactor(["sk-master-0123456789abcd"]).redact(text) == "sk-…abcd at $GATECONFORM_CACHE_DIR/envs/x"


def test_scenario_paths_are_relative_to_the_working_directory_or_repository(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    repo = tmp_path / "checkout"
    (repo / ".git").mkdir(parents=True)
    (repo / "scenarios").mkdir()
    other = tmp_path / "other"
    other.mkdir()
    monkeypatch.chdir(other)
    assert shareable_path(other / "mine" / "x.yaml") == "mine/x.yaml"
    assert shareable_path("mine/x.yaml") == "mine/x.yaml"
    assert shareable_path(repo / "scenarios" / "y.yaml") == "scenarios/y.yaml"  # from the repository's root
    assert shareable_path("../checkout/scenarios/y.yaml") == "scenarios/y.yaml"
    assert shareable_path(tmp_path / "loose" / "z.yaml") == "z.yaml"  # neither: its name only
    assert shareable_path(None) is None


# --------------------------------------------------------------------------- through the commands


def test_run_with_an_absolute_scenario_path_writes_no_machine_path(cache: Path, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    unbootable_target.install(monkeypatch)
    scenario = scenario_outside_the_working_directory(tmp_path)
    out = tmp_path / "out"
    done = CliRunner().invoke(cli.app, ["run", str(scenario), "--target", "litellm==1.82.3", "--report-dir", str(out)])
    assert done.exit_code == 2, done.output  # the proxy did not start: every check is an error
    assert {p.name for p in out.iterdir()} >= {"results.json", "report.html", "summary.md", "junit.xml",
                                                 "allure-results"}
    assert machine_paths_in(out, str(scenario.parent)) == {}
    document = json.loads((out / "results.json").read_text())
    (recorded,) = document["scenarios"]
    assert recorded["path"] == "access-group.yaml"
    assert "($GATECONFORM_CACHE_DIR/envs/litellm-1.82.3-today-py3.11)" in recorded["error"]
    assert "$TMPDIR/gateconform-run-0a1b2c3d/proxy.log" in recorded["error"]
    assert all(url in recorded["error"] for url in URLS_IN_BOOT_ERROR)  # URLs untouched
    assert "gateconform run access-group.yaml --target" in (out / "summary.md").read_text()


def test_a_scenario_inside_the_working_directory_is_recorded_relative_to_it(cache: Path, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    unbootable_target.install(monkeypatch)
    scenario = scenario_outside_the_working_directory(tmp_path)
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "out"
    done = CliRunner().invoke(cli.app, ["run", str(scenario), "--target", "litellm==1.82.3", "--report-dir", str(out)])
    assert done.exit_code == 2, done.output
    assert json.loads((out / "results.json").read_text())["scenarios"][0]["path"] == "elsewhere/access-group.yaml"
    assert machine_paths_in(out) == {}


@pytest.fixture
def offline_releases(monkeypatch: pytest.MonkeyPatch) -> None:
    published = ["1.80.0", "1.81.12", "1.82.3", "1.108.7"]
    monkeypatch.setattr(release_list, "published_releases", lambda list_versions=None: ReleaseList.of(published))
    monkeypatch.setattr(release_list, "_default_latest", lambda: "1.108.7")
    fake_releases.install(monkeypatch, release_run.run_on_release)  # the real one; no prefetching


@pytest.mark.parametrize("command", ["matrix", "bisect"])
def test_matrix_and_bisect_documents_hold_no_machine_path(
    command: str, cache: Path, tmp_path: Path, monkeypatch, offline_releases: None  # type: ignore[no-untyped-def]
) -> None:
    unbootable_target.install(monkeypatch)
    scenario = scenario_outside_the_working_directory(tmp_path)
    out = tmp_path / "out"
    args = ["--versions", "1.80.0,1.82.3"] if command == "matrix" else ["--good", "1.80.0", "--bad", "1.82.3"]
    done = CliRunner().invoke(cli.app, [command, str(scenario), *args, "--deps", "today", "--report-dir", str(out)])
    assert done.exit_code == 2, done.output  # nothing could be tested
    written = {p.name for p in out.iterdir()}
    assert {f"{command}.json", "1.80.0"} <= written
    assert machine_paths_in(out, str(scenario.parent)) == {}
    if command == "bisect":
        assert json.loads((out / "bisect.json").read_text())["scenario_path"] == "access-group.yaml"
    else:
        assert json.loads((out / "matrix.json").read_text())["scenarios"][0]["path"] == "access-group.yaml"


@pytest.mark.slow  # a pytest subprocess
def test_pytest_plugin_results_hold_no_machine_path(cache: Path, tmp_path: Path) -> None:
    scenarios = tmp_path / "scenarios"
    scenarios.mkdir()
    seed = report_docs.scenario(report_docs.load(), report_docs.SEED_ID)
    (scenarios / "seed.yaml").write_text(seed.source or "")
    out = tmp_path / "out"
    done = subprocess.run(
        [sys.executable, "-m", "pytest", str(scenarios), "-p", "tests.fixtures.unbootable_target",
         "-p", "no:cacheprovider", "--target", "litellm==1.82.3", "-q", f"--gateconform-report-dir={out}"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
        env={**os.environ, "GATECONFORM_CACHE_DIR": str(cache)},
    )
    assert done.returncode == 1, done.stdout + done.stderr  # every check errored
    # pytest collects files by absolute path: outside the working directory, recorded by name
    assert json.loads((out / "results.json").read_text())["scenarios"][0]["path"] == "seed.yaml"
    assert machine_paths_in(out, str(ROOT)) == {}
