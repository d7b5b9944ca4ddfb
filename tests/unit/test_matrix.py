"""The matrix document and its views, built from results documents only (no proxy)."""

from __future__ import annotations

import json
import threading
from pathlib import Path

from harness.compare import matrix
from harness.model.check import Check, Expect
from harness.model.matrix import NOT_RUN, MatrixDocument, build_matrix, change_points
from harness.compare.matrix import default_jobs
from harness.engine.events import ignore
from harness.report.matrix_text import CHANGE_MARK, change_lines, markdown, terminal_table
from harness.compare.release_run import ReleaseRun
from harness.model.results import RunResult, ScenarioResult
from harness.model.verdict import Outcome, Verdict
from harness.store.documents import write_results

VERSIONS = ["1.70.0", "1.80.0", "1.82.3", "1.108.7"]


def _run(version: str, svc_gpt4o: Outcome, error: str | None = None) -> RunResult:
    deny = Check("seed", "svc", "chat", model="gpt-4o", expect=Expect.DENIED)
    allow = Check("seed", "svc", "chat", model="gpt-4o-mini", expect=Expect.ALLOWED)
    other = Check("other", "k", "chat", model="gpt-4o", expect=Expect.ALLOWED)
    second = Outcome.SKIP if svc_gpt4o is Outcome.SKIP else Outcome.PASS
    run = RunResult.new(target=f"litellm=={version}", run_id=f"run-{version}")
    run.proxy_version = version
    run.scenarios = [
        ScenarioResult(id="seed", title="seed", error=error, verdicts=[
            Verdict(deny, svc_gpt4o, "m", None, "denied", {"pass": "denied", "fail": "allowed (200)"}.get(
                svc_gpt4o.value, svc_gpt4o.value)),
            Verdict(allow, second, "m", None, "allowed", "allowed (200)"),
        ]),
        ScenarioResult(id="other", title="other", verdicts=[Verdict(other, Outcome.PASS, "m", None, "allowed", "ok")]),
    ]
    return run


def sample() -> MatrixDocument:
    runs = {
        "1.70.0": _run("1.70.0", Outcome.SKIP),
        "1.80.0": _run("1.80.0", Outcome.PASS),
        "1.82.3": _run("1.82.3", Outcome.FAIL),
        "1.108.7": _run("1.108.7", Outcome.FAIL),
    }
    return build_matrix(VERSIONS, runs, {v: f"{v}/results.json" for v in VERSIONS}, {v: 42.0 for v in VERSIONS}, 2)


def test_cells_are_scenario_verdicts_per_release() -> None:
    document = sample()
    seed = next(row for row in document.scenarios if row.id == "seed")
    assert seed.cells == {"1.70.0": "skip", "1.80.0": "pass", "1.82.3": "fail", "1.108.7": "fail"}
    assert seed.changes == ["1.80.0", "1.82.3"] and seed.first_change == "1.80.0"
    check = next(c for c in seed.checks if c.id == "seed::svc::chat::gpt-4o")
    assert check.observed["1.82.3"] == "allowed (200)"
    assert check.changes == ["1.80.0", "1.82.3"]
    other = next(row for row in document.scenarios if row.id == "other")
    assert other.changes == [] and other.first_change is None


def test_document_round_trips_as_json_and_names_each_results_document() -> None:
    document = sample()
    data = json.loads(document.model_dump_json())
    assert data["schema_version"] == "gateconform.matrix/1"
    assert data["versions"] == VERSIONS
    assert data["releases"]["1.82.3"]["results"] == "1.82.3/results.json"
    assert data["releases"]["1.82.3"]["overall"] == "fail"
    assert MatrixDocument.model_validate(data).scenarios[0].cells == document.scenarios[0].cells


def test_missing_release_is_not_run_and_makes_the_matrix_an_error() -> None:
    runs = {"1.80.0": _run("1.80.0", Outcome.PASS)}
    document = build_matrix(["1.80.0", "1.82.3"], runs)
    assert document.scenarios[0].cells["1.82.3"] == NOT_RUN
    assert document.releases["1.82.3"].error
    assert document.overall == "error"


def test_release_that_did_not_boot_carries_its_error() -> None:
    runs = {"1.80.0": _run("1.80.0", Outcome.ERROR, error="target did not start: exited 1\nlog tail")}
    document = build_matrix(["1.80.0"], runs)
    assert document.releases["1.80.0"].error == "target did not start: exited 1"


def test_change_points_ignore_releases_not_run() -> None:
    assert change_points([("a", "pass"), ("b", NOT_RUN), ("c", "pass"), ("d", "fail")]) == ["d"]


def test_overall_is_fail_when_any_cell_fails() -> None:
    assert sample().overall == "fail"


def test_markdown_marks_the_first_change_and_lists_changed_checks() -> None:
    text = markdown(sample())
    assert "| scenario | 1.70.0 | 1.80.0 | 1.82.3 | 1.108.7 |" in text
    assert f"**{CHANGE_MARK} PASS**" in text  # the first change of the seed row
    assert f"{CHANGE_MARK} FAIL 1/2" in text
    assert "## Where verdicts changed" in text
    assert "seed: skip on 1.70.0 → pass on 1.80.0" in text


def test_change_lines_name_the_checks_that_changed() -> None:
    lines = change_lines(sample())
    assert lines == ["seed: skip on 1.70.0 → pass on 1.80.0 (svc cannot call gpt-4o; svc can call gpt-4o-mini)"]


def test_terminal_table_has_a_column_per_release() -> None:
    table = terminal_table(sample())
    assert [c.header for c in table.columns] == ["scenario", *VERSIONS]


def test_default_jobs_fits_cores_and_memory() -> None:
    assert default_jobs(cpu_count=2, memory_gib=24) == 2
    assert default_jobs(cpu_count=8, memory_gib=4) == 1
    assert default_jobs(cpu_count=1, memory_gib=64) == 1


def test_run_matrix_runs_releases_concurrently_and_writes_documents(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    running: set[str] = set()
    overlap: list[int] = []
    lock = threading.Lock()
    release_all = threading.Barrier(2, timeout=5)

    def fake_run_on_release(version, scenarios, log, out_dir, cancel, runner_started, deps="today", draw_reports=None):  # type: ignore[no-untyped-def]
        with lock:
            running.add(version)
            overlap.append(len(running))
        if version in ("1.70.0", "1.80.0"):
            release_all.wait()  # both first releases must be in flight together
        with lock:
            running.discard(version)
        result = _run(version, Outcome.PASS)
        out_dir.mkdir(parents=True, exist_ok=True)
        path = write_results(result, out_dir / "results.json")
        return ReleaseRun(version, result, 1.0, path)

    monkeypatch.setattr(matrix, "run_on_release", fake_run_on_release)
    finished = matrix.run_matrix(VERSIONS, [], tmp_path, jobs=2, events=ignore)
    assert max(overlap) == 2
    assert (tmp_path / "matrix.json").is_file()
    assert all((tmp_path / v / "results.json").is_file() for v in VERSIONS)
    assert finished.document.versions == VERSIONS


def test_a_release_that_crashes_the_harness_is_an_error_column(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from harness.scenario.loader import load_scenario

    seed = load_scenario(Path(__file__).parents[2] / "scenarios/litellm/issue-23850-access-group-limits-service-key.yaml")

    def boom(version, *args, **kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("disk full")

    monkeypatch.setattr(matrix, "run_on_release", boom)
    finished = matrix.run_matrix(["1.80.0"], [seed], tmp_path, jobs=1, events=ignore)
    assert finished.document.releases["1.80.0"].error == "harness error: RuntimeError: disk full"
    assert finished.document.overall == "error"


def test_a_release_installed_with_substitutions_says_so_in_the_matrix() -> None:
    runs = {v: _run(v, Outcome.PASS) for v in VERSIONS}
    runs["1.108.7"].substitutions = ["litellm-enterprise 0.1.79.post2 → 0.1.79.post1 (0.1.79.post2 is not served)"]
    document = build_matrix(VERSIONS, runs, None, None, 1)
    assert document.releases["1.108.7"].substitutions == runs["1.108.7"].substitutions
    assert document.releases["1.82.3"].substitutions is None
    text = markdown(document)
    assert ("- 1.108.7 with substitutions: litellm-enterprise 0.1.79.post2 → 0.1.79.post1 "
            "(0.1.79.post2 is not served)") in text
