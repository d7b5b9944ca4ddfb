"""`gateconform releases --check`: which releases start, with substitutions or not, and why the others cannot.

Release runs are fakes (canned results documents); what is checked is the classification, the
table and the command's wiring: the selection, the sample, the documents written, the exit code.
"""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from harness.cli import app as cli
from harness.compare import matrix, support
from harness.compare.release_run import ReleaseRun
from harness.compare.support import support_row, trivial_scenario
from harness.model.check import Check, Expect
from harness.model.reasons import NotRunReason
from harness.model.verdict import Outcome, Verdict
from harness.model.results import RunResult, ScenarioResult
from harness.model.support import CANNOT_START, STARTS, STARTS_WITH_SUBSTITUTIONS, SupportDocument
from harness.report.support_text import markdown, summary

BOOT_ERROR = (
    "target did not start: litellm==1.96.2 (local): the proxy exited with code 1. Last 40 lines of the proxy log:\n"
    "Traceback (most recent call last):\n"
    "ImportError: cannot import name 'get_flat_dependant' from 'fastapi.dependencies.utils'"
)
EXTRAS = "litellm-proxy-extras 0.4.114.post1 → 0.4.110 (0.4.114.post1 is not served)"


def release(version: str, *, error: str | None = None, substitutions: list[str] | None = None,
            deps: str = "today", dating: str | None = None) -> ReleaseRun:
    result = RunResult.new(target=f"litellm=={version}")
    result.proxy_version = None if error else version
    result.substitutions = substitutions
    result.deps_dating = dating
    reason = NotRunReason.TARGET_NOT_STARTED if error else None
    check = Check("release-starts", "limited", "chat", model="gpt-4o-mini", expect=Expect.ALLOWED)
    verdicts = [] if error else [Verdict(check, Outcome.PASS, "m", None, "allowed", "allowed (200)")]
    result.scenarios.append(ScenarioResult(id="release-starts", title="t", error=error, error_reason=reason,
                                           verdicts=verdicts))
    if deps == "as-released":
        result.deps_fallback = "today's dependencies did not start: ImportError: …"
    return ReleaseRun(version, result, 42.0, deps=deps)


def test_the_trivial_scenario_is_a_key_limited_to_one_of_two_models() -> None:
    scenario = trivial_scenario()
    assert scenario.model_names == ["gpt-4o-mini", "gpt-4o"]
    assert "litellm" not in support.TRIVIAL_SCENARIO  # the harness's words, any gateway's


def test_each_release_is_said_to_start_start_with_substitutions_or_not_start_and_why() -> None:
    assert support_row(release("1.60.9")).status == STARTS
    substituted = support_row(release("1.110.2", substitutions=[EXTRAS]))
    assert (substituted.status, substituted.substitutions) == (STARTS_WITH_SUBSTITUTIONS, [EXTRAS])
    failed = support_row(release("1.96.2", error=BOOT_ERROR))
    assert failed.status == CANNOT_START
    assert failed.why == "ImportError: cannot import name 'get_flat_dependant' from 'fastapi.dependencies.utils'"
    retried = support_row(release("1.95.1", deps="as-released", dating="dependencies dated at its upload (…)"))
    assert (retried.status, retried.deps) == (STARTS, "as-released")
    assert retried.deps_note is not None and retried.deps_note.startswith("dependencies dated at its upload")


def test_the_table_says_how_many_start_and_why_the_others_cannot() -> None:
    runs = [release("1.60.9"), release("1.96.2", error=BOOT_ERROR), release("1.110.2", substitutions=[EXTRAS])]
    document = SupportDocument(selection="1.40..newest", sample="minor", rows=[support_row(r) for r in runs],
                               notes=["no release listed on the index for: 1.40–1.52"])
    assert summary(document) == ("2 of 3 release(s) start (67 %): 1 as published, 1 with substitutions; "
                                 "1 cannot start")
    text = markdown(document)
    assert "| 1.96.2 | cannot start | why: ImportError: cannot import name 'get_flat_dependant'" in text
    assert f"| 1.110.2 | starts with substitutions | trivial scenario PASS; substitutions: {EXTRAS} |" in text
    assert "- no release listed on the index for: 1.40–1.52" in text


def test_releases_check_samples_boots_and_writes_the_table(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    booted: list[str] = []

    def fake_run_on_release(version, scenarios, events, out_dir, cancel, runner_started, deps="today",  # type: ignore[no-untyped-def]
                            draw_reports=None):
        booted.append(version)
        assert [s.id for s in scenarios] == ["release-starts"] and deps == "auto"
        run = release(version, error=BOOT_ERROR if version == "1.80.0" else None)
        run.results_path = out_dir / "results.json"
        return run

    monkeypatch.setattr(matrix, "run_on_release", fake_run_on_release)
    result = CliRunner().invoke(cli.app, ["releases", "--check", "1.60..1.82.6", "--sample", "minor",
                                          "--report-dir", str(tmp_path), "--jobs", "1"])
    assert booted == ["1.60.0", "1.65.1", "1.70.0", "1.75.0", "1.80.0", "1.81.12", "1.82.6"]
    assert result.exit_code == 2, result.output  # one cannot start
    assert "6 of 7 release(s) start" in result.output
    document = json.loads((tmp_path / "support.json").read_text())
    assert [row["status"] for row in document["rows"]].count("cannot start") == 1
    assert (tmp_path / "support.md").read_text().startswith("Releases 1.60..1.82.6, one per minor")


def test_sample_goes_with_check() -> None:
    result = CliRunner().invoke(cli.app, ["releases", "1.80..1.82", "--sample", "minor"])
    assert result.exit_code == 2 and "--sample goes with --check" in result.output
