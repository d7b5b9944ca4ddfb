"""Which files the pytest plugin collects as scenarios: ini `gateconform_scenario_globs`.

The default keeps what the plugin always collected (any `*.yaml`/`*.yml` below a folder named
`scenarios`); a project can name its own files, and the xdist scheduler groups exactly the
files that are collected.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from harness.pytest.collect import is_scenario_file
from harness.pytest.options import DEFAULT_SCENARIO_GLOBS

ROOT = Path(__file__).parents[2]
SEED = ROOT / "scenarios/litellm/issue-23850-access-group-limits-service-key.yaml"


@pytest.mark.parametrize(("path", "collected"), [
    ("/repo/scenarios/litellm/seed.yaml", True),
    ("/repo/scenarios/seed.yml", True),
    ("/home/me/scenarios/work/repo/tests/data/x.yaml", True),  # any folder named scenarios
    ("/repo/tests/data/x.yaml", False),
    ("/repo/scenarios.yaml", False),
    ("/repo/myscenarios/x.yaml", False),
    ("/repo/scenarios/notes.md", False),
    ("/repo/scenarios/x.yaml.bak", False),
])
def test_by_default_any_yaml_file_below_a_scenarios_folder(path: str, collected: bool) -> None:
    assert is_scenario_file(Path(path), DEFAULT_SCENARIO_GLOBS) is collected


@pytest.mark.parametrize(("globs", "path", "collected"), [
    (["conformance/*.yaml"], "/repo/conformance/gateway/a.yaml", True),
    (["conformance/*.yaml"], "/repo/scenarios/a.yaml", False),
    (["gc_*.yaml"], "/repo/anywhere/gc_keys.yaml", True),  # no '/': the file name
    (["gc_*.yaml"], "/repo/gc_dir/keys.yaml", False),
    (["/repo/only/*.yaml"], "/repo/only/a.yaml", True),  # absolute: as written
    (["/repo/only/*.yaml"], "/elsewhere/repo/only/a.yaml", False),
    ([], "/repo/scenarios/a.yaml", False),
])
def test_globs_name_the_files(globs: list[str], path: str, collected: bool) -> None:
    assert is_scenario_file(Path(path), globs) is collected


def _project(root: Path, ini: str) -> Path:
    """A project with the seed scenario in `scenarios/` and in `conformance/`, and a stray YAML file."""
    root.mkdir()
    (root / "pytest.ini").write_text(f"[pytest]\n{ini}")
    for name in ("scenarios", "conformance"):
        (root / name).mkdir()
        text = SEED.read_text().replace("id: litellm-23850", f"id: {name}-23850", 1)
        (root / name / "seed.yaml").write_text(text)
    (root / "ci.yml").write_text("on: push\n")
    return root


def _collected_files(project: Path) -> set[str]:
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
         "-p", "tests.fixtures.fake_releases", "--target", "litellm==1.82.3", "."],
        cwd=project, capture_output=True, text=True, timeout=60,
        env={**os.environ, "PYTHONPATH": str(ROOT), "GATECONFORM_CACHE_DIR": str(project / "cache")},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return {line.split("::", 1)[0] for line in done.stdout.splitlines() if "::" in line}


@pytest.mark.slow  # two pytest subprocesses
def test_the_ini_option_chooses_the_collected_files(tmp_path: Path) -> None:
    default = _project(tmp_path / "default", "")
    assert _collected_files(default) == {"scenarios/seed.yaml"}
    chosen = _project(tmp_path / "chosen", "gateconform_scenario_globs = conformance/*.yaml\n")
    assert _collected_files(chosen) == {"conformance/seed.yaml"}


def test_the_xdist_scheduler_groups_the_files_the_globs_collect(tmp_path: Path) -> None:
    pytest.importorskip("xdist", reason="pytest-xdist is not installed (pip install -e '.[dev]')")
    from harness.pytest.xdist import ProxyGroupScheduling

    for folder in ("scenarios", "conformance"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "seed.yaml").write_text(SEED.read_text())
    scheduler = ProxyGroupScheduling.__new__(ProxyGroupScheduling)  # only the scope rule is exercised
    scheduler._root = tmp_path
    scheduler._globs = ["conformance/*.yaml"]
    scheduler._group_by_file = {}
    assert scheduler._split_scope("conformance/seed.yaml::svc cannot call gpt-4o").startswith("gateconform-")
    assert scheduler._split_scope("conformance/seed.yaml::svc lists exactly [gpt-4o-mini]") == \
        scheduler._split_scope("conformance/seed.yaml::svc cannot call gpt-4o")
    # not a scenario under these globs: a test of its own, as xdist's `load` would treat it
    assert scheduler._split_scope("scenarios/seed.yaml::svc cannot call gpt-4o") == "scenarios/seed.yaml::svc cannot call gpt-4o"


@pytest.mark.slow  # a pytest subprocess
def test_the_whole_library_collects_with_a_sweep_item_per_key_of_every_round() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
         "-p", "tests.fixtures.fake_releases", "--target", "litellm==1.82.3", "scenarios/litellm"],
        cwd=ROOT, capture_output=True, text=True, timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    timeline = [line for line in done.stdout.splitlines() if line.startswith(
        "scenarios/litellm/steps-key-moved-between-teams.yaml::")]
    assert "scenarios/litellm/steps-key-moved-between-teams.yaml::follower on every model-bearing route" in timeline
