"""`pytest -n 2`: scenarios of one proxy stay on one worker, and one results document comes out.

A pytest subprocess with two xdist workers; its runner replays a recorded results document
(tests/fixtures/fake_runner.py), so no proxy starts. Each worker appends the scenario ids it
ran to a file, which shows how the session was split.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from harness.engine.grouping import proxy_group as _proxy_group
from harness.scenario.loader import load_scenarios
from harness.store.documents import write_results, read_results
from tests.fixtures import report_docs
from tests.fixtures.fake_runner import ENV

ROOT = Path(__file__).parents[2]
LOG_ENV = "GATECONFORM_TEST_RUN_LOG"

# A plugin for the subprocess: records which worker ran which scenario, on top of the replay.
RECORDER = '''
import os
from tests.fixtures import fake_runner

class Recording(fake_runner.ReplayRunner):
    def run(self, scenario):
        worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
        with open(os.environ["{log_env}"], "a") as log:
            log.write(f"{{worker}} {{scenario.id}}\\n")
        return super().run(scenario)

def pytest_configure(config):
    from harness.engine import runner
    runner.ScenarioRunner = Recording
'''.format(log_env=LOG_ENV)


def test_scenarios_with_the_same_proxy_share_a_group() -> None:
    """Same models and settings: one group; different settings never share one."""
    scenarios = load_scenarios(ROOT / "scenarios")
    by_proxy: dict[str, set[str]] = {}
    for scenario in scenarios:
        by_proxy.setdefault(repr(scenario.proxy_spec()), set()).add(_proxy_group(scenario))
    assert all(len(groups) == 1 for groups in by_proxy.values())
    assert len({g for groups in by_proxy.values() for g in groups}) == len(by_proxy)


@pytest.mark.slow  # a pytest subprocess with two xdist workers: about 20 s
@pytest.mark.parametrize("dist", [[], ["--dist", "loadgroup"]], ids=["default", "loadgroup"])
def test_two_workers_split_by_proxy_and_merge_one_results_document(tmp_path: Path, dist: list[str]) -> None:
    pytest.importorskip("xdist", reason="pytest-xdist is not installed (pip install -e '.[dev]')")
    document = report_docs.every_outcome()
    recorded = write_results(document, tmp_path / "recorded.json")
    scenarios = tmp_path / "scenarios"
    scenarios.mkdir()
    for index, scenario in enumerate(document.scenarios):
        source = scenario.source or ""
        if index % 2:  # two proxy groups: an extra model changes the model list, not the checks
            source = source.replace("claude-sonnet]", "claude-sonnet, extra-model]", 1)
        (scenarios / f"{scenario.id}.yaml").write_text(source)
    (tmp_path / "recording_plugin.py").write_text(RECORDER)
    run_log = tmp_path / "runs.txt"
    merged = tmp_path / "merged.json"
    args = [sys.executable, "-m", "pytest", str(scenarios), "-p", "recording_plugin", "-p", "no:cacheprovider",
            "-p", "tests.fixtures.fake_releases",  # the target check asks a fake index
            "-n", "2", *dist, "--target", "litellm==1.82.3", "-q",  # no --dist: the plugin's scheduler
            f"--gateconform-results={merged}"]
    env = {**os.environ, ENV: str(recorded), LOG_ENV: str(run_log),
           "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)])}
    done = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=180, env=env)
    assert done.returncode in (0, 1), done.stdout + done.stderr
    if dist:  # the user is told who schedules the scenarios under an explicit loadgroup
        assert "grouped by proxy by gateconform's scheduler" in done.stdout

    runs = [line.split() for line in run_log.read_text().splitlines()]
    workers_by_scenario: dict[str, set[str]] = {}
    for worker, scenario_id in runs:
        workers_by_scenario.setdefault(scenario_id, set()).add(worker)
    # each scenario was run once, by one worker, though its checks are separate tests
    assert sorted(s for _, s in runs) == sorted(s.id for s in document.scenarios)
    groups_by_worker: dict[str, set[str]] = {}
    loaded = {s.id: s for s in load_scenarios(scenarios)}
    for worker, scenario_id in runs:
        groups_by_worker.setdefault(worker, set()).add(_proxy_group(loaded[scenario_id]))
    all_groups = [g for groups in groups_by_worker.values() for g in groups]
    assert len(set(all_groups)) == 2
    assert len(all_groups) == len(set(all_groups)), "a proxy group was split across workers"

    result = read_results(merged)
    assert sorted(s.id for s in result.scenarios) == sorted(s.id for s in document.scenarios)


@pytest.mark.parametrize(
    ("args", "given"),
    [(["-n", "2"], False), (["-n", "2", "--dist", "load"], True), (["--dist=each"], True), (["--distload"], True)],
)
def test_an_explicit_dist_is_left_alone(args: list[str], given: bool) -> None:
    pytest.importorskip("xdist", reason="pytest-xdist is not installed (pip install -e '.[dev]')")
    from harness.pytest.xdist import dist_given

    assert dist_given(args) is given


def test_loadgroup_marks_of_other_tests_still_group_them(tmp_path: Path) -> None:
    """Under `--dist loadgroup` the plugin's scheduler replaces xdist's; `xdist_group` ids still group."""
    pytest.importorskip("xdist", reason="pytest-xdist is not installed (pip install -e '.[dev]')")
    from harness.pytest.options import DEFAULT_SCENARIO_GLOBS
    from harness.pytest.xdist import ProxyGroupScheduling

    scheduler = ProxyGroupScheduling.__new__(ProxyGroupScheduling)  # only the scope rule is exercised
    scheduler._root = tmp_path
    scheduler._globs = list(DEFAULT_SCENARIO_GLOBS)
    scheduler._group_by_file = {}
    assert scheduler._split_scope("tests/test_db.py::test_a@database") == "database"
    assert scheduler._split_scope("tests/test_db.py::test_b@database") == "database"
    assert scheduler._split_scope("tests/test_x.py::test_c[a@b]") == "tests/test_x.py::test_c[a@b]"
    assert scheduler._split_scope("tests/test_x.py::test_d") == "tests/test_x.py::test_d"
