"""A matrix cut into shards (`matrix --shard K/N`, one per CI job) and joined again (`gateconform merge`),
with no proxy: every release run is canned, as tests/fixtures/fake_releases.py does. The merged
matrix must hold what one unsharded run writes, but for timings."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from harness.cli import app as cli
from harness.compare import matrix, release_run
from harness.compare.shards import Shard, parse_shard, plan_shard
from harness.engine.grouping import group_by_models
from harness.model.results import RunResult, ScenarioResult
from harness.model.verdict import Outcome, Verdict
from harness.oracle.explicit import checks_for
from harness.scenario.loader import load_scenarios
from harness.store.documents import write_results
from tests.fixtures import fake_releases
from tests.fixtures.timeless import without_timings

ROOT = Path(__file__).parents[2]
LIBRARY = ROOT / "scenarios" / "litellm"
VERSIONS = "1.80.0,1.81.12,1.82.3"


def canned_release_runs(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, list[str]]]:
    """Every release run answered from a rule (listing checks fail from 1.81.12 on, access-group
    scenarios skip before it), in the order the real runner gives: grouped by proxy."""
    from packaging.version import Version

    ran: list[tuple[str, list[str]]] = []

    def run_on_release(version, scenarios, log, out_dir=None, cancel=None, runner_started=None,  # type: ignore[no-untyped-def]
                       deps="today", draw_reports=None):
        ran.append((version, [scenario.id for scenario in scenarios]))
        result = RunResult.new(target=f"litellm=={version}", gateway="litellm")
        result.proxy_version = version
        for group in group_by_models(scenarios):
            for scenario in group:
                verdicts = []
                for check in checks_for(scenario):
                    if scenario.access_groups and Version(version) < Version("1.81.12"):
                        verdicts.append(Verdict(check, Outcome.SKIP, f"{check.title}: skipped: no access groups",
                                                None, "x", "skipped"))
                    elif check.listed is not None and Version(version) >= Version("1.81.12"):
                        verdicts.append(Verdict(check, Outcome.FAIL, check.title, None, "x", "extra: gpt-4o"))
                    else:
                        verdicts.append(Verdict(check, Outcome.PASS, check.title, None, "x", "as expected"))
                result.scenarios.append(ScenarioResult(id=scenario.id, title=scenario.title, path=str(scenario.path),
                                                       models=scenario.model_names, verdicts=verdicts))
        result.finish()
        run = release_run.ReleaseRun(version, result, 1.5)
        if out_dir is not None:
            run.results_path = release_run.write_release_documents(run, out_dir, log, draw_reports)
        return run

    fake_releases.install(monkeypatch, run_on_release)
    monkeypatch.setattr(matrix, "run_on_release", run_on_release)
    return ran


def invoke(*args: str) -> Any:
    return CliRunner().invoke(cli.app, list(args))


def test_shards_joined_give_the_unsharded_matrix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ran = canned_release_runs(monkeypatch)
    whole = invoke("matrix", str(LIBRARY), "--versions", VERSIONS, "--report-dir", str(tmp_path / "whole"))
    assert whole.exit_code == 1, whole.output  # listing checks fail from 1.81.12 on
    unsharded_cells = sorted((version, scenario) for version, ids in ran for scenario in ids)
    ran.clear()
    for index in (1, 2, 3):
        shard = invoke("matrix", str(LIBRARY), "--versions", VERSIONS, "--shard", f"{index}/3",
                       "--report-dir", str(tmp_path / f"shard-{index}"))
        assert shard.exit_code in (0, 1), shard.output
        assert f"shard {index}/3" in shard.output
    # together the shards ran every cell exactly once
    assert sorted((version, scenario) for version, ids in ran for scenario in ids) == unsharded_cells

    merged = invoke("merge", *(str(tmp_path / f"shard-{index}") for index in (3, 1, 2)),
                    "--report-dir", str(tmp_path / "merged"))
    assert merged.exit_code == whole.exit_code, merged.output
    expected = json.loads((tmp_path / "whole" / "matrix.json").read_text())
    joined = json.loads((tmp_path / "merged" / "matrix.json").read_text())
    assert joined["shard"] is None
    assert without_timings(joined) == without_timings(expected)
    for version in VERSIONS.split(","):
        whole_run = json.loads((tmp_path / "whole" / version / "results.json").read_text())
        merged_run = json.loads((tmp_path / "merged" / version / "results.json").read_text())
        assert without_timings(merged_run) == without_timings(whole_run)
        assert (tmp_path / "merged" / version / "report.html").is_file()
    assert (tmp_path / "merged" / "matrix.html").is_file() and (tmp_path / "merged" / "matrix.md").is_file()


def test_a_missing_shard_leaves_its_cells_not_run_and_the_matrix_undecided(tmp_path: Path,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    canned_release_runs(monkeypatch)
    for index in (1, 2):  # on 1.80.0 every cell passes: only the missing shard keeps the matrix from passing
        invoke("matrix", str(LIBRARY), "--versions", "1.80.0", "--shard", f"{index}/3",
               "--report-dir", str(tmp_path / f"shard-{index}"))
    merged = invoke("merge", str(tmp_path / "shard-1"), str(tmp_path / "shard-2"), "--report-dir", str(tmp_path / "m"))
    assert merged.exit_code == 2
    assert "shard(s) 3/3 missing" in merged.output
    document = json.loads((tmp_path / "m" / "matrix.json").read_text())
    assert "not run" in {cell for row in document["scenarios"] for cell in row["cells"].values()}


def test_shards_of_different_matrices_or_one_shard_twice_are_refused(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    canned_release_runs(monkeypatch)
    invoke("matrix", str(LIBRARY), "--versions", VERSIONS, "--shard", "1/2", "--report-dir", str(tmp_path / "a"))
    invoke("matrix", str(LIBRARY), "--versions", "1.80.0", "--shard", "2/2", "--report-dir", str(tmp_path / "b"))
    other = invoke("merge", str(tmp_path / "a"), str(tmp_path / "b"), "--report-dir", str(tmp_path / "m"))
    assert other.exit_code == 2 and "is of another matrix" in other.output
    twice = invoke("merge", str(tmp_path / "a"), str(tmp_path / "a" / "matrix.json"), "--report-dir", str(tmp_path / "m"))
    assert twice.exit_code == 2 and "shard 1/2 is given twice" in twice.output
    invoke("matrix", str(LIBRARY), "--versions", "1.80.0", "--report-dir", str(tmp_path / "whole"))
    whole = invoke("merge", str(tmp_path / "whole"), "--report-dir", str(tmp_path / "m"))
    assert whole.exit_code == 2 and "not a shard" in " ".join(whole.output.split())
    assert not (tmp_path / "m").exists()


@pytest.mark.parametrize("text", ["0/3", "4/3", "3", "a/b", "1/0"])
def test_a_malformed_shard_is_refused_before_anything_runs(text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    ran = canned_release_runs(monkeypatch)
    result = invoke("matrix", str(LIBRARY), "--versions", VERSIONS, "--shard", text)
    assert result.exit_code == 2 and "--shard" in result.output
    assert ran == []
    with pytest.raises(ValueError):
        parse_shard(text)


def test_a_proxy_is_never_split_across_shards_and_the_shards_are_balanced() -> None:
    scenarios = load_scenarios([LIBRARY])
    versions = ["1.80.0", "1.81.12", "1.82.3", "1.108.7"]
    plans = [plan_shard(versions, scenarios, Shard(index, 4)) for index in range(1, 5)]
    proxies = {(version, group[0].proxy_spec()) for version in versions for group in group_by_models(scenarios)}
    owners: dict[tuple[str, Any], set[int]] = {}
    for index, plan in enumerate(plans):
        for version, chosen in plan.items():
            for scenario in chosen:
                owners.setdefault((version, scenario.proxy_spec()), set()).add(index)
    assert set(owners) == proxies and all(len(shards) == 1 for shards in owners.values())
    boots = [sum(len(group_by_models(chosen)) for chosen in plan.values()) for plan in plans]
    assert max(boots) - min(boots) <= 1
    assert plans == [plan_shard(versions, scenarios, Shard(index, 4)) for index in range(1, 5)]  # the same every time
