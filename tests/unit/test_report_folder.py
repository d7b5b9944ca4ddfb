"""The report folder is checked before a run, and a failed write never leaves half a report.

Every command goes through the CLI as a user would, with a runner that replays a recorded run
(tests/fixtures/fake_runner.py) or canned release runs (tests/fixtures/fake_releases.py), so
no proxy starts; the read-only folder and the full disk come from tests/fixtures/hostile_disk.py
(root ignores `chmod`, so it fakes a read-only mount where needed).
"""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from harness.common import files as output_files
from harness.cli import app as cli
from harness.compare import release_run
from harness.engine import runner
from harness.common.files import OutputError, check_folder, write_text
from harness.store.documents import write_results
from tests.fixtures import fake_releases, hostile_disk, report_docs
from tests.fixtures.fake_runner import ReplayRunner

ROOT = Path(__file__).parents[2]
SEED_TITLE = "svc cannot call gpt-4o"  # a FAIL verdict of the recorded run


@pytest.fixture
def replayed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, list[str]]:
    """The recorded run's scenario files, and the ids of the scenarios the CLI then runs."""
    ran: list[str] = []

    class Recording(ReplayRunner):
        document_path = str(report_docs.FIXTURE)

        def run(self, scenario):  # type: ignore[no-untyped-def]
            ran.append(scenario.id)
            return super().run(scenario)

    monkeypatch.setattr(runner, "ScenarioRunner", Recording)
    scenarios = tmp_path / "scenarios"
    scenarios.mkdir()
    for scenario in report_docs.load().scenarios:
        (scenarios / f"{scenario.id}.yaml").write_text(scenario.source or "")
    return scenarios, ran


@pytest.fixture
def read_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    folder = tmp_path / "read-only"
    folder.mkdir()
    hostile_disk.make_read_only(monkeypatch, folder)
    yield folder
    folder.chmod(0o755)


def run_cli(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(cli.app, ["run", *args, "--target", "litellm==1.82.3"])


def one_line(text: str) -> str:
    return " ".join(text.split())


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*") if p.name.endswith(".partial") or "write-check" in p.name)


# --------------------------------------------------------------------------- checked before the run


def test_an_existing_file_as_report_dir_is_refused_before_anything_runs(replayed, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    scenarios, ran = replayed
    taken = tmp_path / "notes.txt"
    taken.write_text("mine")
    done = run_cli(str(scenarios), "--report-dir", str(taken))
    assert done.exit_code == 2, done.output
    assert f"cannot write reports into {taken}: it is an existing file, not a folder" in one_line(done.output)
    assert "nothing was started" in done.output
    assert ran == [] and taken.read_text() == "mine"


def test_a_report_dir_below_an_existing_file_is_refused_before_anything_runs(replayed, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    scenarios, ran = replayed
    (tmp_path / "notes.txt").write_text("mine")
    done = run_cli(str(scenarios), "--report-dir", str(tmp_path / "notes.txt" / "reports"))
    assert done.exit_code == 2, done.output
    assert f"{tmp_path / 'notes.txt'} is a file, not a folder" in one_line(done.output)
    assert ran == []


def test_a_read_only_report_dir_is_refused_before_anything_runs(replayed, read_only: Path) -> None:  # type: ignore[no-untyped-def]
    scenarios, ran = replayed
    done = run_cli(str(scenarios), "--report-dir", str(read_only / "run-1"))
    assert done.exit_code == 2, done.output
    text = one_line(done.output)
    assert f"cannot write reports into {read_only / 'run-1'}" in text
    assert (f"{read_only} is on a read-only file system" in text) or (f"no permission to write in {read_only}" in text)
    assert ran == [] and list(read_only.iterdir()) == []


def test_a_full_disk_is_refused_before_anything_runs(replayed, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    scenarios, ran = replayed
    real_statvfs = os.statvfs

    def full(path):  # type: ignore[no-untyped-def]
        stats = real_statvfs(path)
        return os.statvfs_result((stats.f_bsize, stats.f_frsize, stats.f_blocks, 3, 0, *tuple(stats)[5:]))

    monkeypatch.setattr(os, "statvfs", full)
    done = run_cli(str(scenarios), "--report-dir", str(tmp_path / "out"))
    assert done.exit_code == 2, done.output
    assert "is full" in done.output and "nothing was started" in done.output
    assert ran == []


def test_the_check_leaves_nothing_behind(tmp_path: Path) -> None:
    check_folder(tmp_path / "a" / "b")
    assert list(tmp_path.iterdir()) == []  # no probe file, no folder created


# --------------------------------------------------------------------------- a write that fails


@pytest.mark.parametrize("failing", ["report.html", "results.json"])
def test_a_disk_filling_up_mid_write_keeps_the_verdicts_and_leaves_no_truncated_file(
    replayed, tmp_path: Path, monkeypatch, failing: str  # type: ignore[no-untyped-def]
) -> None:
    scenarios, ran = replayed
    out = tmp_path / "out"
    hostile_disk.disk_fills_up_writing(monkeypatch, failing)
    done = run_cli(str(scenarios), "--report-dir", str(out))
    assert done.exit_code == 2, done.output
    assert "Traceback" not in done.output and isinstance(done.exception, SystemExit)
    assert SEED_TITLE in done.output and "FAIL" in done.output  # the verdicts, printed all the same
    assert f"could not write {out / failing}: no space left on the disk" in one_line(done.output)
    assert not (out / failing).exists()
    assert leftovers(out) == []
    if failing == "report.html":  # written before it, whole
        assert json.loads((out / "results.json").read_text())["run_id"]
        assert f"report: {out / 'results.json'}" in done.output


def test_a_failed_rewrite_keeps_the_previous_file_whole(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    page = write_text(tmp_path / "report.html", "<html>the earlier run</html>")
    hostile_disk.disk_fills_up_writing(monkeypatch, "report.html")
    with pytest.raises(OutputError, match="no space left"):
        write_text(page, "<html>" + "x" * 10_000 + "</html>")
    monkeypatch.undo()
    assert page.read_text() == "<html>the earlier run</html>"
    assert leftovers(tmp_path) == []


def test_written_files_get_the_usual_permissions(tmp_path: Path) -> None:
    umask = os.umask(0o022)
    os.umask(umask)
    path = write_text(tmp_path / "summary.md", "# x\n")
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask


def test_an_unwritable_folder_is_named_with_the_reason(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    def refuse(*_args, **_kwargs):  # type: ignore[no-untyped-def]
        raise OSError(errno.EDQUOT, os.strerror(errno.EDQUOT))

    monkeypatch.setattr(output_files.os, "open", refuse)
    with pytest.raises(OutputError) as caught:
        check_folder(tmp_path)
    assert str(caught.value) == f"cannot write reports into {tmp_path}: the disk quota is used up"
    with pytest.raises(OutputError) as caught:
        check_folder(tmp_path / "new" / "run")
    assert str(caught.value) == f"cannot write reports into {tmp_path / 'new' / 'run'}: the disk quota for {tmp_path} is used up"


# --------------------------------------------------------------------------- matrix and bisect


@pytest.fixture
def releases(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """Offline release list; each release 'runs' from the recorded document. Lists releases run."""
    from harness.gateways.litellm import release_list
    from harness.gateways.litellm.release_list import ReleaseList

    monkeypatch.setenv("GATECONFORM_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
    published = ["1.80.0", "1.81.12", "1.82.3", "1.108.7"]
    monkeypatch.setattr(release_list, "published_releases", lambda list_versions=None: ReleaseList.of(published))
    monkeypatch.setattr(release_list, "_default_latest", lambda: "1.108.7")
    tested: list[str] = []

    def run_once(version, scenarios, log, deps, cancel, runner_started):  # type: ignore[no-untyped-def]
        tested.append(version)
        document = report_docs.load()
        wanted = {s.id for s in scenarios}
        document.scenarios = [s for s in document.scenarios if s.id in wanted]
        document.target = f"litellm=={version}"
        return release_run.ReleaseRun(version, document, 0.1, deps=deps)

    # the real run_on_release (it writes each release's documents); only the proxy part is canned
    monkeypatch.setattr(release_run, "_run_once", run_once)
    fake_releases.install(monkeypatch, release_run.run_on_release)
    return tested


def seed_file(tmp_path: Path) -> Path:
    seed = report_docs.scenario(report_docs.load(), report_docs.SEED_ID)
    path = tmp_path / "seed.yaml"
    path.write_text(seed.source or "")
    return path


@pytest.mark.parametrize("command", ["matrix", "bisect"])
def test_matrix_and_bisect_refuse_an_unwritable_report_dir_before_anything_runs(
    command: str, releases: list[str], tmp_path: Path  # type: ignore[no-untyped-def]
) -> None:
    taken = tmp_path / "taken"
    taken.write_text("mine")
    args = ["--versions", "1.80.0,1.82.3"] if command == "matrix" else ["--good", "1.80.0", "--bad", "1.82.3"]
    done = CliRunner().invoke(cli.app, [command, str(seed_file(tmp_path)), *args, "--report-dir", str(taken)])
    assert done.exit_code == 2, done.output
    assert f"cannot write reports into {taken}: it is an existing file, not a folder" in one_line(done.output)
    assert releases == []


def test_matrix_prints_its_table_when_matrix_json_cannot_be_written(
    releases: list[str], tmp_path: Path, monkeypatch  # type: ignore[no-untyped-def]
) -> None:
    out = tmp_path / "out"
    hostile_disk.disk_fills_up_writing(monkeypatch, "matrix.json")
    done = CliRunner().invoke(cli.app, ["matrix", str(seed_file(tmp_path)), "--versions", "1.80.0,1.82.3",
                                        "--jobs", "1", "--report-dir", str(out)])
    assert done.exit_code == 2, done.output
    assert isinstance(done.exception, SystemExit)
    assert "1.80.0" in done.output and "fail" in done.output  # the table
    assert f"could not write {out / 'matrix.json'}: no space left" in one_line(done.output)
    assert not (out / "matrix.json").exists() and leftovers(out) == []
    assert (out / "matrix.md").exists() and (out / "1.82.3" / "results.json").exists()


@pytest.mark.parametrize(("failing", "results"), [("results.json", None), ("report.html", "1.82.3/results.json")])
def test_a_release_whose_documents_cannot_be_written_keeps_its_verdicts(
    releases: list[str], tmp_path: Path, monkeypatch, failing: str, results: str | None  # type: ignore[no-untyped-def]
) -> None:
    out = tmp_path / "out"
    hostile_disk.disk_fills_up_writing(monkeypatch, failing)
    done = CliRunner().invoke(cli.app, ["matrix", str(seed_file(tmp_path)), "--versions", "1.82.3",
                                        "--report-dir", str(out)])
    assert done.exit_code == 2, done.output
    document = json.loads((out / "matrix.json").read_text())
    assert document["releases"]["1.82.3"]["overall"] == "fail"  # tested, not "could not test"
    assert document["releases"]["1.82.3"]["results"] == results  # a link only to a file that is there
    assert f"could not write {out / '1.82.3' / failing}" in one_line(done.output)
    assert not (out / "1.82.3" / failing).exists() and leftovers(out) == []


def test_bisect_prints_its_answer_when_bisect_json_cannot_be_written(
    releases: list[str], tmp_path: Path, monkeypatch  # type: ignore[no-untyped-def]
) -> None:
    out = tmp_path / "out"
    hostile_disk.disk_fills_up_writing(monkeypatch, "bisect.json")
    done = CliRunner().invoke(cli.app, ["bisect", str(seed_file(tmp_path)), "--good", "1.80.0", "--bad", "1.82.3",
                                        "--report-dir", str(out)])
    assert done.exit_code == 2, done.output
    assert isinstance(done.exception, SystemExit)
    assert "bisect: always bad" in one_line(done.output)  # the recorded run fails on every release
    assert f"could not write {out / 'bisect.json'}: no space left" in one_line(done.output)
    assert not (out / "bisect.json").exists() and leftovers(out) == []


# --------------------------------------------------------------------------- the pytest plugin


def plugin_run(tmp_path: Path, *options: str, env: dict[str, str] | None = None,
               scenario_id: str = report_docs.SEED_ID) -> subprocess.CompletedProcess[str]:
    """pytest on one scenario of the recorded run, replayed (no proxy)."""
    recorded = write_results(report_docs.load(), tmp_path / "recorded.json")
    scenarios = tmp_path / "scenarios"
    scenarios.mkdir(exist_ok=True)
    scenario = report_docs.scenario(report_docs.load(), scenario_id)
    (scenarios / "scenario.yaml").write_text(scenario.source or "")
    args = [sys.executable, "-m", "pytest", str(scenarios), "-p", "tests.fixtures.fake_runner",
            "-p", "tests.fixtures.hostile_disk", "-p", "no:cacheprovider", "--target", "litellm==1.82.3",
            "-q", *options]
    return subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "GATECONFORM_FAKE_RESULTS": str(recorded), **(env or {})})


@pytest.mark.slow  # a pytest subprocess
@pytest.mark.parametrize("option", ["--gateconform-report-dir", "--gateconform-results"])
def test_plugin_outputs_that_cannot_be_written_are_usage_errors(option: str, tmp_path: Path) -> None:
    taken = tmp_path / "taken"
    if option == "--gateconform-results":
        taken.mkdir()  # a folder where the results file should go
        why = "it is a folder, not a file"
    else:
        taken.write_text("mine")
        why = "it is an existing file, not a folder"
    done = plugin_run(tmp_path, f"{option}={taken}")
    assert done.returncode == 4, done.stdout + done.stderr  # pytest's usage error, before any test
    assert f"{option}: cannot" in done.stderr and why in done.stderr
    assert "passed" not in done.stdout and "failed" not in done.stdout


@pytest.mark.slow  # a pytest subprocess
@pytest.mark.parametrize(("scenario_id", "exit_code"), [
    (report_docs.SEED_ID, 1),  # failing checks stay the headline
    (report_docs.PASSING_ID, 3),  # all passed, but the document CI expects is missing: not a green run
])
def test_plugin_says_so_when_the_results_document_cannot_be_written(
    tmp_path: Path, scenario_id: str, exit_code: int
) -> None:
    results = tmp_path / "out" / "results.json"
    done = plugin_run(tmp_path, f"--gateconform-results={results}", env={hostile_disk.ENV: "results.json"},
                      scenario_id=scenario_id)
    output = done.stdout + done.stderr
    assert done.returncode == exit_code, output
    assert "INTERNALERROR" not in output and "Traceback" not in output
    assert f"gateconform: could not write {results}: no space left" in " ".join(output.split())
    assert not results.exists() and leftovers(tmp_path / "out") == []


@pytest.mark.skipif(not Path("/proc/self").exists(), reason="no /proc on this system")
def test_a_folder_that_refuses_new_files_even_for_root_is_named(tmp_path: Path) -> None:
    with pytest.raises(OutputError, match=r"^cannot write reports into /proc/reports: no files can be created in /proc$"):
        check_folder(Path("/proc/reports"))
