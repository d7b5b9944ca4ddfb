"""The results document describes itself: typed reasons, declared models, gateway; runs merge
through one function; bisect.json and matrix.json are typed documents written through the store.

Consumers decide on the typed fields, never on the wording of a sentence: each test here that
rewords a sentence (or words one misleadingly) would fail on a consumer that still read it.
"""

from __future__ import annotations

import io
import json
import random
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from rich.console import Console

from harness.compare.bisect import classify
from harness.compare.release_run import did_not_start
from harness.common.redact import redact_machine_paths
from harness.gateways.litellm.refusals import REFUSALS
from harness.judge import judge
from harness.model.bisect import (
    BisectOutcome, BisectResult, Direction, ReleaseState, ReleaseVerdict, bisect_document,
)
from harness.model.check import Check, Expect
from harness.model.matrix import MatrixDocument
from harness.model.observation import SHAPE_COMPLETION, SHAPE_ERROR, SHAPE_NOT_JSON, Observation, UpstreamHit
from harness.model.reasons import ErrorReason, NotRunReason
from harness.model.results import RunResult, ScenarioResult, merge_results
from harness.model.verdict import Outcome
from harness.report.html import render_html
from harness.report.terminal import print_verdicts
from harness.report.view import build_view
from harness.store.documents import read_bisect, read_matrix, read_results, write_bisect, write_matrix, write_results
from tests.fixtures import matrix_docs, report_docs

ALLOWED = Check("s", "svc", "chat", model="gpt-4o-mini", expect=Expect.ALLOWED)
DENIED = Check("s", "svc", "chat", model="gpt-4o", expect=Expect.DENIED)
LISTS = Check("s", "svc", "list_models", listed=frozenset({"gpt-4o-mini"}))


def chat(status: int | None, shape: str | None = SHAPE_COMPLETION, hits: tuple[str, ...] = (),
         transport_error: str | None = None, model: str = "gpt-4o") -> Observation:
    return Observation(probe="chat", principal="svc", model=model, status=status, shape=shape,
                       transport_error=transport_error,
                       upstream_hits=[UpstreamHit(m, "/v1/chat/completions", "gc-1", 1.0) for m in hits])


# --------------------------------------------------------------------------- typed ERROR reasons


@pytest.mark.parametrize("check, observation, reason", [
    (DENIED, None, ErrorReason.NO_OBSERVATION),
    (DENIED, replace(chat(200), principal="other"), ErrorReason.HARNESS_BUG),
    (DENIED, chat(None, transport_error="ConnectError: refused"), ErrorReason.TRANSPORT_ERROR),
    (DENIED, chat(None, transport_error="timeout after 30s (ReadTimeout)"), ErrorReason.TIMEOUT),
    (DENIED, chat(None, transport_error="the proxy stopped answering: no answer to GET /x for 30 s"),
     ErrorReason.PROXY_STOPPED_ANSWERING),
    (DENIED, chat(None, transport_error="the deadline of 120 s passed"), ErrorReason.DEADLINE_PASSED),
    (DENIED, chat(None, transport_error="not provisioned (no key for this principal)"), ErrorReason.NOT_PROVISIONED),
    (DENIED, chat(500, SHAPE_ERROR), ErrorReason.SERVER_ERROR),
    (DENIED, chat(429, SHAPE_ERROR), ErrorReason.UNEXPECTED_STATUS),
    (ALLOWED, chat(200, SHAPE_NOT_JSON, hits=("gpt-4o-mini",), model="gpt-4o-mini"), ErrorReason.ODD_BODY),
    (DENIED, chat(401, SHAPE_NOT_JSON), ErrorReason.ODD_BODY),
    (DENIED, chat(200, hits=("gpt-4o-mini",)), ErrorReason.WRONG_MODEL),
    (DENIED, chat(200), ErrorReason.NO_UPSTREAM_CALL),
    (DENIED, chat(401, SHAPE_ERROR, hits=("gpt-4o",)), ErrorReason.UPSTREAM_CALLED_AFTER_REFUSAL),
    (LISTS, Observation(probe="list_models", principal="svc", model=None, status=200, shape="other_json"),
     ErrorReason.ODD_BODY),
    (LISTS, Observation(probe="list_models", principal="svc", model=None, status=503, shape=SHAPE_ERROR),
     ErrorReason.SERVER_ERROR),
])
def test_every_error_verdict_says_why_as_data(check: Check, observation: Observation | None,
                                               reason: ErrorReason) -> None:
    verdict = judge(check, observation, refusals=REFUSALS)
    assert verdict.outcome is Outcome.ERROR and verdict.error_reason is reason
    written = json.loads(RunResult.from_json(_run(ScenarioResult(id="s", title="s", verdicts=[verdict])).to_json())
                         .to_json())["scenarios"][0]["verdicts"][0]
    assert written["error_reason"] == reason.value


def test_a_verdict_that_is_not_an_error_has_no_error_reason() -> None:
    passed = judge(DENIED, chat(401, SHAPE_ERROR), refusals=REFUSALS)
    failed = judge(DENIED, chat(200, hits=("gpt-4o",)), refusals=REFUSALS)
    skipped = judge(replace(DENIED, skip_reason="no access groups"), None, refusals=REFUSALS)
    assert [v.outcome for v in (passed, failed, skipped)] == [Outcome.PASS, Outcome.FAIL, Outcome.SKIP]
    assert {v.error_reason for v in (passed, failed, skipped)} == {None}


def test_a_scenario_that_could_not_run_says_why_and_its_checks_point_at_it() -> None:
    failed = ScenarioResult.failed(id="s", title="s", checks=[ALLOWED, replace(DENIED, skip_reason="old proxy")],
                                   error="provisioning failed: POST /team/new answered HTTP 500",
                                   reason=NotRunReason.PROVISIONING_FAILED, models=["gpt-4o", "gpt-4o-mini"])
    loaded = RunResult.from_json(_run(failed).to_json()).scenarios[0]
    assert loaded.error_reason is NotRunReason.PROVISIONING_FAILED
    assert [v.error_reason for v in loaded.verdicts] == [ErrorReason.SCENARIO_NOT_RUN, None]  # the skip stays a skip
    assert loaded.models == ["gpt-4o", "gpt-4o-mini"]


# --------------------------------------------------------------------------- consumers read the types


def _release(error: str, reason: NotRunReason) -> RunResult:
    return _run(ScenarioResult.failed(id="s", title="s", checks=[DENIED], error=error, reason=reason))


def test_a_release_is_retried_when_its_target_did_not_run_whatever_the_words() -> None:
    reworded = _release("the proxy never came up\nImportError: cannot import name 'x'", NotRunReason.TARGET_NOT_STARTED)
    assert did_not_start(reworded) == "ImportError: cannot import name 'x'"
    not_installed = _release("uv could not resolve litellm-proxy-extras", NotRunReason.TARGET_NOT_INSTALLED)
    assert did_not_start(not_installed) == "uv could not resolve litellm-proxy-extras"
    # worded like a start failure, but the proxy ran: other dependencies would not change it
    misleading = _release("target did not start: the team could not be created", NotRunReason.PROVISIONING_FAILED)
    assert did_not_start(misleading) is None


def printed(result: RunResult) -> str:
    buffer = io.StringIO()
    print_verdicts(result, Console(file=buffer, width=160, color_system=None))
    return buffer.getvalue()


def test_the_terminal_header_and_error_lines_follow_the_types() -> None:
    reworded = _release("the proxy never came up", NotRunReason.TARGET_NOT_STARTED)
    reworded.proxy_version = None
    text = printed(reworded)
    assert "no proxy started" in text.splitlines()[0]
    assert text.count("the proxy never came up") == 1  # said once for the scenario, not again per check

    misleading = _release("target did not start: the team could not be created", NotRunReason.PROVISIONING_FAILED)
    misleading.proxy_version = None
    assert "proxy version not reported" in printed(misleading).splitlines()[0]


def test_the_terminal_table_of_a_scenario_with_nothing_but_skips_reads_skip_not_pass() -> None:
    licence = replace(DENIED, skip_reason="the proxy refused POST /model/new (HTTP 403): needs a licence")
    skipped = ScenarioResult(id="gated", title="gated", verdicts=[judge(licence, None, refusals=REFUSALS)])
    passed = ScenarioResult(id="ok", title="ok", verdicts=[judge(DENIED, chat(401, SHAPE_ERROR), refusals=REFUSALS)])
    text = printed(_run(skipped, passed))
    assert "gated — SKIP" in text and "gated — PASS" not in text
    assert "ok — PASS" in text
    assert skipped.overall == "pass"  # the document still lets it through a gate; only the wording differs


def test_bisect_reads_a_skip_reason_from_the_check_not_from_the_sentence() -> None:
    check = replace(DENIED, skip_reason="this proxy has no access-group entities")
    skipped = judge(check, None, refusals=REFUSALS)
    worded_otherwise = replace(skipped, message="svc cannot call gpt-4o — not checked here")
    verdict = classify(ScenarioResult(id="s", title="s", verdicts=[worded_otherwise]), "1.0")
    assert verdict.state is ReleaseState.NOT_APPLICABLE
    assert verdict.reason == "this proxy has no access-group entities"


# --------------------------------------------------------------------------- declared models


def test_the_report_columns_come_from_the_declared_models_in_the_document() -> None:
    result = report_docs.load()
    seed = report_docs.scenario(result, report_docs.SEED_ID)
    from_source = [c.model for c in _view_of(result, seed.id).columns]

    seed.models = ["claude-sonnet", "gpt-4o-mini", "gpt-4o"]  # the document's word counts, not its YAML
    assert [c.model for c in _view_of(result, seed.id).columns][:3] == ["claude-sonnet", "gpt-4o-mini", "gpt-4o"]

    seed.models = list(from_source[:3])
    assert [c.model for c in _view_of(result, seed.id).columns] == from_source


def test_a_document_written_before_the_declared_models_still_draws_the_same_report() -> None:
    old = report_docs.load()
    assert all(s.models is None and s.error_reason is None for s in old.scenarios)
    assert old.gateway is None
    described = report_docs.load()
    for scenario in described.scenarios:
        scenario.models = [c.model for c in _view_of(old, scenario.id).columns if not c.listed_only]
    assert render_html(described) == render_html(old)


def _view_of(result: RunResult, scenario_id: str):  # type: ignore[no-untyped-def]
    return next(s for s in build_view(result).scenarios if s.id == scenario_id)


# --------------------------------------------------------------------------- merging runs


def _run(*scenarios: ScenarioResult, target: str = "litellm==1.82.3", started: str = "2026-01-01T10:00:00+00:00",
         run_id: str = "r1", proxy_version: str | None = "1.82.3", gateway: str | None = "litellm") -> RunResult:
    result = RunResult.new(target=target, proxy_version=proxy_version, run_id=run_id, gateway=gateway)
    result.started_at = started
    result.finished_at = (datetime.fromisoformat(started) + timedelta(minutes=5)).isoformat()
    result.scenarios.extend(scenarios)
    return result


def _scenario(scenario_id: str, outcome: Outcome = Outcome.PASS) -> ScenarioResult:
    check = replace(DENIED, scenario_id=scenario_id)
    observation = chat(401, SHAPE_ERROR) if outcome is Outcome.PASS else chat(200, hits=("gpt-4o",))
    return ScenarioResult(id=scenario_id, title=scenario_id, verdicts=[judge(check, observation, refusals=REFUSALS)])


def test_merging_runs_gives_one_document_whatever_their_order() -> None:
    runs = [
        _run(_scenario("c"), _scenario("a"), started="2026-01-01T10:02:00+00:00", run_id="w2", proxy_version=None),
        _run(_scenario("b", Outcome.FAIL), started="2026-01-01T10:01:00+00:00", run_id="w1", gateway=None),
        _run(_scenario("a", Outcome.FAIL), started="2026-01-01T10:03:00+00:00", run_id="w3"),
    ]
    merged = merge_results(runs)
    assert [s.id for s in merged.scenarios] == ["a", "b", "c"]
    assert merged.started_at == "2026-01-01T10:01:00+00:00" and merged.finished_at == "2026-01-01T10:08:00+00:00"
    assert (merged.run_id, merged.proxy_version, merged.gateway) == ("w1", "1.82.3", "litellm")
    # one result per scenario id: the one of the run that started first (w2's `a`, not w3's)
    assert merged.scenarios[0].overall == "pass"
    assert merged.counts == {"pass": 2, "fail": 1, "error": 0, "skip": 0}

    for _ in range(5):
        shuffled = random.sample(runs, len(runs))
        assert merge_results(shuffled).to_json() == merged.to_json()
    assert all(len(run.scenarios) for run in runs)  # the runs merged are left as they were


def test_merging_refuses_nothing_and_runs_of_different_targets() -> None:
    with pytest.raises(ValueError, match="nothing to merge"):
        merge_results([])
    with pytest.raises(ValueError, match="different targets: litellm==1.108.7, litellm==1.82.3"):
        merge_results([_run(_scenario("a")), _run(_scenario("b"), target="litellm==1.108.7")])


def test_a_merged_document_round_trips(tmp_path: Path) -> None:
    merged = merge_results([_run(_scenario("b")), _run(_scenario("a"), run_id="r2")])
    assert read_results(write_results(merged, tmp_path / "results.json")) == merged


# --------------------------------------------------------------------------- bisect.json and matrix.json


BISECT_KEYS = ["schema_version", "scenario", "scenario_path", "check", "direction", "good", "bad",
               "releases_in_range", "deps", "outcome", "message", "last_good", "first_bad", "last_bad",
               "first_good", "untestable_between", "tested", "elapsed_s"]
RELEASE_KEYS = ["version", "state", "reason", "observations", "titles", "elapsed_s", "results", "deps",
                "deps_fallback", "substitutions"]  # a key added later comes last, and is optional


def _bisect_answer() -> BisectResult:
    good = ReleaseVerdict("1.80.0", ReleaseState.GOOD, "every check passed",
                          {"s::svc::chat::gpt-4o": "pass: denied (401)"}, {"s::svc::chat::gpt-4o": "svc cannot call gpt-4o"})
    untestable = ReleaseVerdict("1.81.0", ReleaseState.UNTESTABLE, f"target did not start: {Path.home()}/x.log",
                                deps="as-released", deps_fallback="ImportError: x")
    bad = ReleaseVerdict("1.82.3", ReleaseState.BAD, "svc cannot call gpt-4o: observed allowed",
                         {"s::svc::chat::gpt-4o": "fail: allowed (200)"})
    return BisectResult(BisectOutcome.FOUND, [bad, good, untestable], last_good=good, first_bad=bad,
                        untestable_between=["1.81.0"], message="last good 1.80.0, first bad 1.82.3")


def test_bisect_json_is_a_typed_document_with_the_keys_it_always_had(tmp_path: Path) -> None:
    document = bisect_document(
        scenario="s", scenario_path="scenarios/s.yaml", check=None, candidates=["1.80.0", "1.81.0", "1.82.3"],
        result=_bisect_answer(), timings={"1.80.0": 12.34, "1.82.3": 3.0}, elapsed_s=61.26, deps="auto",
        with_results={"1.80.0", "1.82.3"},
    )
    path = write_bisect(document, tmp_path / "bisect.json")
    data = json.loads(path.read_text())
    assert list(data) == BISECT_KEYS and list(data["first_bad"]) == RELEASE_KEYS
    assert data["schema_version"] == "gateconform.bisect/1"
    assert (data["direction"], data["good"], data["bad"], data["outcome"]) == ("broke", "1.80.0", "1.82.3", "found")
    assert data["last_bad"] is None and data["first_good"] is None
    assert [(t["version"], t["state"], t["results"], t["elapsed_s"]) for t in data["tested"]] == [
        ("1.82.3", "bad", "1.82.3/results.json", 3.0), ("1.80.0", "good", "1.80.0/results.json", 12.3),
        ("1.81.0", "untestable", None, 0.0)]
    assert data["tested"][2]["deps"] == "as-released" and data["elapsed_s"] == 61.3
    assert str(Path.home()) not in path.read_text()  # written shareable
    assert data["tested"][2]["reason"] == redact_machine_paths(f"target did not start: {Path.home()}/x.log")
    assert read_bisect(path).first_bad == document.first_bad

    fixed = bisect_document(
        scenario="s", scenario_path=None, check="s::svc::chat::gpt-4o", candidates=["1.80.0", "1.81.0", "1.82.3"],
        result=replace(_bisect_answer(), direction=Direction.FIXED), timings={}, elapsed_s=1.0, deps="today",
        with_results=(),
    )
    assert (fixed.direction, fixed.good, fixed.bad) == (Direction.FIXED, "1.82.3", "1.80.0")


def test_a_document_of_another_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bisect.json"
    path.write_text(json.dumps({**json.loads(write_bisect(bisect_document(
        scenario="s", scenario_path=None, check=None, candidates=["1", "2"], result=_bisect_answer(), timings={},
        elapsed_s=0.0, deps="auto", with_results=()), path).read_text()), "schema_version": "gateconform.bisect/2"}))
    with pytest.raises(ValueError, match="unsupported bisect schema"):
        read_bisect(path)


def test_matrix_json_is_written_and_read_through_the_store(tmp_path: Path) -> None:
    document = matrix_docs.document(matrix_docs.runs())
    path = write_matrix(document, tmp_path / "matrix.json")
    assert read_matrix(path) == document


def test_the_matrix_page_reads_a_skip_reason_from_the_document_not_from_the_sentence() -> None:
    from harness.report.matrix_html import render_matrix_html

    document = matrix_docs.document(matrix_docs.runs())
    seed = next(row for row in document.scenarios if row.id == matrix_docs.SEED_ID)
    skipped = [check for check in seed.checks if check.outcomes["1.81.11"] == "skip"]
    assert skipped and all(check.skip_reasons["1.81.11"] == "this proxy has no access-group entities "
                           "(/v1/access_group)" for check in skipped)
    for check in skipped:
        check.messages["1.81.11"] = f"{check.title} — not checked on this release"
    assert "not applicable: this proxy has no access-group entities (/v1/access_group)" in \
        render_matrix_html(document)


def test_a_matrix_document_written_before_skip_reasons_still_draws_the_same_page() -> None:
    from harness.report.matrix_html import render_matrix_html

    described = matrix_docs.document(matrix_docs.runs())
    old = MatrixDocument.model_validate(json.loads(described.model_dump_json(exclude={"scenarios": {
        "__all__": {"checks": {"__all__": {"skip_reasons"}}}}})))
    assert all(not check.skip_reasons for row in old.scenarios for check in row.checks)
    assert render_matrix_html(old) == render_matrix_html(described)
