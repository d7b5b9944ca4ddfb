"""`gateconform matrix | bisect | releases | cache` as a user meets them, with no network or proxy."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from harness.cli import app as cli
from harness.gateways.litellm import release_list
from harness.compare import release_run
from harness.oracle.explicit import checks_for
from harness.gateways.litellm.release_list import ReleaseList
from harness.model.results import RunResult, ScenarioResult
from harness.scenario.loader import load_scenario
from harness.model.verdict import Outcome, Verdict
from harness.store.documents import write_results
from tests.fixtures import fake_releases

ROOT = Path(__file__).parents[2]
SEED = ROOT / "scenarios/litellm/issue-23850-access-group-limits-service-key.yaml"
PUBLISHED = ["1.70.0", "1.75.0", "1.80.0", "1.81.0", "1.81.12", "1.82.0", "1.82.3", "1.82.7", "1.108.7"]


@pytest.fixture(autouse=True)
def offline(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """The release list comes from a fixed table; `latest` is 1.108.7; nothing is fetched; empty cache."""
    monkeypatch.setenv("GATECONFORM_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
    monkeypatch.setattr(release_list, "published_releases", lambda list_versions=None: ReleaseList.of(PUBLISHED))
    monkeypatch.setattr(release_list, "_default_latest", lambda: "1.108.7")


def invoke(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(cli.app, list(args))


def fake_release_runs(monkeypatch: pytest.MonkeyPatch, first_bad: str, applies_from: str = "0") -> list[str]:
    """Replace booting a release: the seed's svc checks fail from `first_bad`, skip before `applies_from`."""
    from packaging.version import Version

    tested: list[str] = []

    def run_on_release(version, scenarios, log, out_dir=None, cancel=None, runner_started=None, deps="today", draw_reports=None):  # type: ignore[no-untyped-def]
        tested.append(version)
        result = RunResult.new(target=f"litellm=={version}")
        for scenario in scenarios:
            verdicts = []
            for check in checks_for(scenario):
                if Version(version) < Version(applies_from):
                    outcome, observed = Outcome.SKIP, "skipped"
                elif check.principal == "svc" and check.expect is not None and check.expect.value == "denied" \
                        and Version(version) >= Version(first_bad):
                    outcome, observed = Outcome.FAIL, "allowed (200)"
                else:
                    outcome, observed = Outcome.PASS, "as expected"
                message = f"{check.title}: skipped: no access groups" if outcome is Outcome.SKIP else check.title
                verdicts.append(Verdict(check, outcome, message, None, "x", observed))
            result.scenarios.append(ScenarioResult(id=scenario.id, title=scenario.title, verdicts=verdicts))
        if out_dir is not None:
            write_results(result, out_dir / "results.json")
        return release_run.ReleaseRun(version, result, 0.1, None)

    fake_releases.install(monkeypatch, run_on_release)
    return tested


# --------------------------------------------------------------------------- bisect


def test_bisect_names_last_good_and_first_bad_with_observations(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    tested = fake_release_runs(monkeypatch, first_bad="1.81.12")
    result = invoke("bisect", str(SEED), "--good", "1.70.0", "--bad", "1.82.3", "--report-dir", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert "bisect: found — last good 1.81.0, first bad 1.81.12" in " ".join(result.output.split())
    assert "svc cannot call gpt-4o" in result.output  # the side-by-side table
    assert "1.82.7" not in tested  # compromised: never offered
    document = json.loads((tmp_path / "bisect.json").read_text())
    assert document["outcome"] == "found"
    assert document["first_bad"]["version"] == "1.81.12"
    assert document["first_bad"]["results"] == "1.81.12/results.json"
    assert [t["version"] for t in document["tested"]] == tested


def test_bisect_says_bad_since_the_scenario_applies(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    fake_release_runs(monkeypatch, first_bad="1.81.12", applies_from="1.81.12")
    result = invoke("bisect", str(SEED), "--good", "1.70.0", "--bad", "1.82.3", "--report-dir", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert "bad since applicable" in result.output


def test_bisect_when_the_bad_release_passes_exits_1(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    fake_release_runs(monkeypatch, first_bad="9.0")
    result = invoke("bisect", str(SEED), "--good", "1.70.0", "--bad", "1.82.3", "--report-dir", str(tmp_path))
    assert result.exit_code == 1
    assert "not reproduced" in result.output


def test_bisect_rejects_an_unknown_check_with_a_suggestion(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    tested = fake_release_runs(monkeypatch, first_bad="1.81.12")
    scenario_id = load_scenario(SEED).id
    result = invoke("bisect", str(SEED), "--good", "1.70.0", "--bad", "1.82.3",
                    "--check", f"{scenario_id}::svc::chat::gpt4o")
    assert result.exit_code == 2
    assert f"did you mean '{scenario_id}::svc::chat::gpt-4o'" in result.output
    assert tested == []


@pytest.mark.parametrize(
    ("good", "bad", "message"),
    [("1.82.3", "1.82.3", "same release"), ("1.82.7", "1.108.7", "compromised"), ("1.70.1", "1.82.3", "nearest")],
)
def test_bisect_rejects_bad_ends_before_anything_runs(good: str, bad: str, message: str, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    tested = fake_release_runs(monkeypatch, first_bad="1.81.12")
    result = invoke("bisect", str(SEED), "--good", good, "--bad", bad)
    assert result.exit_code == 2
    assert message in result.output
    assert tested == []


# --------------------------------------------------------------------------- matrix


def test_matrix_prints_the_table_and_writes_documents(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from harness.compare import matrix

    tested = fake_release_runs(monkeypatch, first_bad="1.81.12")
    monkeypatch.setattr(matrix, "run_on_release", release_run.run_on_release)
    result = invoke("matrix", str(SEED), "--versions", "1.80.0,1.81.12,latest", "--jobs", "2",
                    "--report-dir", str(tmp_path))
    assert result.exit_code == 1, result.output  # a cell failed
    assert sorted(tested) == ["1.108.7", "1.80.0", "1.81.12"]
    text = " ".join(result.output.split())
    assert "changed:" in text and "pass on 1.80.0 → fail on 1.81.12" in text
    document = json.loads((tmp_path / "matrix.json").read_text())
    assert document["versions"] == ["1.80.0", "1.81.12", "1.108.7"]
    assert (tmp_path / "matrix.md").read_text().startswith("# gateconform matrix")


def test_matrix_refuses_compromised_and_oversized_selections(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    tested = fake_release_runs(monkeypatch, first_bad="1.81.12")
    result = invoke("matrix", str(SEED), "--versions", "1.80.0,1.82.8")
    assert result.exit_code == 2 and "compromised" in result.output
    result = invoke("matrix", str(SEED), "--versions", "1.70.0..latest", "--max-releases", "3")
    assert result.exit_code == 2 and "--max-releases" in result.output
    assert tested == []


def test_matrix_rejects_an_invalid_scenario_before_anything_runs(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    tested = fake_release_runs(monkeypatch, first_bad="1.81.12")
    bad = tmp_path / "bad.yaml"
    bad.write_text("id: x\ntitle: y\nmodels: [a, b\n")
    result = invoke("matrix", str(bad), "--versions", "1.80.0")
    assert result.exit_code == 2 and str(bad) in result.output
    assert tested == []


def scenarios_handed_to_releases(monkeypatch: pytest.MonkeyPatch) -> list:  # type: ignore[type-arg]
    """Record the scenarios each release is asked to run (on top of `fake_release_runs`)."""
    from harness.compare import matrix

    handed: list = []  # type: ignore[type-arg]
    fake = release_run.run_on_release

    def recording(version, scenarios, *args, **kwargs):  # type: ignore[no-untyped-def]
        handed.extend(scenarios)
        return fake(version, scenarios, *args, **kwargs)

    monkeypatch.setattr(release_run, "run_on_release", recording)
    monkeypatch.setattr(matrix, "run_on_release", recording)
    return handed


def test_matrix_runs_every_release_in_the_oracle_mode_asked_for(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    fake_release_runs(monkeypatch, first_bad="1.81.12")
    handed = scenarios_handed_to_releases(monkeypatch)
    result = invoke("matrix", str(SEED), "--versions", "1.80.0,1.81.12", "--oracle", "derived",
                    "--report-dir", str(tmp_path))
    assert result.exit_code in (0, 1), result.output
    assert len(handed) == 2 and {scenario.oracle for scenario in handed} == {"derived"}
    assert load_scenario(SEED).oracle == "explicit"  # the file's own mode, overridden for this run only


def test_matrix_refuses_an_unknown_oracle_before_anything_runs(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    tested = fake_release_runs(monkeypatch, first_bad="1.81.12")
    result = invoke("matrix", str(SEED), "--versions", "1.80.0", "--oracle", "guessed")
    assert result.exit_code == 2 and "--oracle guessed: one of explicit, derived, both" in result.output
    assert tested == []


def test_bisect_takes_a_check_that_only_the_derived_oracle_has(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from harness.gateways import registry
    from harness.oracle import checks_for_mode

    scenario = load_scenario(SEED)
    derived = checks_for_mode(scenario.model_copy(update={"oracle": "derived"}), None, registry.default_gateway(),
                              "1.82.3").checks
    only_derived = next(c.id for c in derived if c.id not in {w.id for w in checks_for(scenario)})
    fake_release_runs(monkeypatch, first_bad="1.81.12")
    handed = scenarios_handed_to_releases(monkeypatch)
    refused = invoke("bisect", str(SEED), "--good", "1.70.0", "--bad", "1.82.3", "--check", only_derived)
    assert refused.exit_code == 2 and "is not a check of" in refused.output
    taken = invoke("bisect", str(SEED), "--good", "1.70.0", "--bad", "1.82.3", "--check", only_derived,
                   "--oracle", "derived", "--report-dir", str(tmp_path))
    assert "is not a check of" not in taken.output
    assert handed and {s.oracle for s in handed} == {"derived"}


# --------------------------------------------------------------------------- releases, cache


def test_releases_lists_a_range_and_says_what_was_left_out() -> None:
    result = invoke("releases", "1.82.0..1.108.7")
    assert result.exit_code == 0
    assert result.output.split()[:3] == ["1.82.0", "1.82.3", "1.108.7"]
    assert "left out as compromised" in result.output


def test_cache_prune_needs_a_selector(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("GATECONFORM_CACHE_DIR", str(tmp_path))
    result = invoke("cache", "prune")
    assert result.exit_code == 2 and "--older-than" in result.output
    assert invoke("cache", "prune", "--older-than", "soon").exit_code == 2
    assert invoke("cache", "list").exit_code == 0
