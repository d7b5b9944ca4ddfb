"""The results document round-trips, carries the evidence, and holds no secrets."""

from __future__ import annotations

import json

import pytest

import harness
from harness.model.check import Check, Expect
from harness.model.observation import SHAPE_COMPLETION, SHAPE_ERROR, Observation
from harness.common.redact import Redactor
from harness.model.reasons import NotRunReason
from harness.model.results import SCHEMA_VERSION, RunResult, ScenarioResult, assert_no_secrets
from harness.model.observation import UpstreamHit
from harness.model.verdict import Outcome
from harness.gateways.litellm.refusals import REFUSALS
from harness.judge import judge
from harness.store.documents import write_results, read_results

SECRET = "sk-generated-key-secret-9f3e"
MASTER = "sk-master-1234567890"

ALLOWED = Check("seed", "svc", "chat", model="gpt-4o-mini", expect=Expect.ALLOWED)
DENIED = Check("seed", "svc", "chat", model="gpt-4o", expect=Expect.DENIED)
LISTS = Check("seed", "svc", "list_models", listed=frozenset({"gpt-4o-mini", "b-model", "a-model"}))
SKIPPED = Check("seed", "svc", "chat", model="x", expect=Expect.DENIED, skip_reason="no access groups")


def scenario() -> ScenarioResult:
    redactor = Redactor([SECRET, MASTER])
    hit = UpstreamHit("gpt-4o", "/v1/chat/completions", "gc-1", 1700000000.5)
    over_broad = Observation(
        probe="chat", principal="svc", model="gpt-4o", status=200, shape=SHAPE_COMPLETION,
        body_excerpt=redactor.redact('{"choices": [...]}'), upstream_hits=[hit], elapsed_ms=12.5, marker="gc-1",
    )
    refused = Observation(
        probe="chat", principal="svc", model="gpt-4o-mini", status=401, shape=SHAPE_ERROR,
        error_type="key_model_access_denied",
        error_message=redactor.redact(f"key {SECRET} not allowed"),
        body_excerpt=redactor.redact(f'{{"error": {{"message": "key {SECRET} not allowed"}}}}'),
        marker="gc-2",
    )
    listing = Observation(probe="list_models", principal="svc", model=None, status=200,
                          listed_models=["gpt-4o-mini", "a-model", "b-model"], shape="model_list")
    verdicts = [judge(DENIED, over_broad, refusals=REFUSALS), judge(ALLOWED, refused, refusals=REFUSALS), judge(LISTS, listing, refusals=REFUSALS), judge(SKIPPED, None, refusals=REFUSALS)]
    return ScenarioResult(id="seed", title="Seed", issue="https://github.com/BerriAI/litellm/issues/23850",
                          path="scenarios/litellm/seed.yaml", source="id: seed\n", verdicts=verdicts)


def run(*scenarios: ScenarioResult) -> RunResult:
    result = RunResult.new(target="litellm==1.82.3 (local)", proxy_version="1.82.3", run_id="r1")
    result.scenarios.extend(scenarios)
    result.finish()
    return result


def test_round_trip_keeps_everything():
    original = run(scenario())
    text = original.to_json()
    loaded = RunResult.from_json(text)

    assert loaded == original
    assert loaded.to_json() == text
    verdict = loaded.scenarios[0].verdicts[0]
    assert verdict.outcome is Outcome.FAIL
    assert verdict.observation.upstream_hits[0].received_at == 1700000000.5
    assert verdict.check == DENIED


def test_document_header_and_evidence_are_in_the_json():
    data = json.loads(run(scenario()).to_json())

    assert data["schema_version"] == SCHEMA_VERSION == "gateconform.results/1"
    assert data["harness_version"] == harness.__version__
    assert data["target"] == "litellm==1.82.3 (local)" and data["proxy_version"] == "1.82.3"
    assert data["started_at"] <= data["finished_at"]
    assert set(data["machine"]) >= {"hostname", "cores", "python"}
    first = data["scenarios"][0]["verdicts"][0]
    assert first["check_id"] == "seed::svc::chat::gpt-4o" and first["title"] == "svc cannot call gpt-4o"
    assert first["observation"]["status"] == 200 and first["observation"]["elapsed_ms"] == 12.5
    assert first["observation"]["upstream_hits"][0]["model"] == "gpt-4o"
    assert data["scenarios"][0]["verdicts"][1]["observation"]["error_type"] == "key_model_access_denied"
    # sets are written sorted so documents diff cleanly
    assert data["scenarios"][0]["verdicts"][2]["check"]["listed"] == ["a-model", "b-model", "gpt-4o-mini"]


def test_counts_and_overall():
    result = run(scenario())
    assert result.scenarios[0].counts == {"pass": 1, "fail": 2, "error": 0, "skip": 1}
    assert result.overall == "fail" and result.counts["fail"] == 2

    passing = ScenarioResult(id="ok", title="ok", verdicts=[judge(SKIPPED, None, refusals=REFUSALS)])
    assert passing.overall == "pass"
    assert ScenarioResult(id="empty", title="empty").overall == "error"  # nothing was checked
    assert run().overall == "error"


def test_failed_scenario_turns_checks_into_errors():
    failed = ScenarioResult.failed(id="seed", title="Seed", checks=[ALLOWED, DENIED, SKIPPED],
                                   error="provisioning failed: POST /team/new returned 500",
                                   reason=NotRunReason.PROVISIONING_FAILED)
    assert [v.outcome for v in failed.verdicts] == [Outcome.ERROR, Outcome.ERROR, Outcome.SKIP]
    assert all("provisioning failed" in v.message for v in failed.verdicts[:2])
    assert failed.overall == "error" and run(failed).overall == "error"
    assert RunResult.from_json(run(failed).to_json()).scenarios[0].error.startswith("provisioning failed")


def test_no_secret_in_serialized_document(tmp_path):
    result = run(scenario())
    result.assert_no_secrets([SECRET, MASTER])
    text = write_results(result, tmp_path / "out" / "results.json", secrets=[SECRET, MASTER]).read_text()
    assert SECRET not in text and "sk-…9f3e" in text
    assert read_results(tmp_path / "out" / "results.json") == result


def test_leak_is_caught_without_printing_the_secret(tmp_path):
    leaky = scenario()
    leaky.verdicts[0].observation.body_excerpt = f"oops {SECRET}"
    with pytest.raises(AssertionError) as caught:
        write_results(run(leaky), tmp_path / "results.json", secrets=[SECRET])
    assert "sk-…9f3e" in str(caught.value) and SECRET not in str(caught.value)
    assert not (tmp_path / "results.json").exists()
    assert_no_secrets("clean text", [SECRET, ""])


def test_other_schema_is_refused():
    data = json.loads(run().to_json())
    data["schema_version"] = "gateconform.results/2"
    with pytest.raises(ValueError, match="unsupported results schema"):
        RunResult.from_json(json.dumps(data))
