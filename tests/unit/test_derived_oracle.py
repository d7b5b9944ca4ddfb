"""The derived oracle's interface: `oracle:` modes, derived checks with their rule chains, `both`."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from harness.cli import app as cli
from harness.gateways import registry
from pydantic import TypeAdapter

from harness.model.check import Check, Expect, Judgement
from harness.model.derivation import Derived, Rule, RuleUse
from harness.oracle import checks_for_mode
from harness.oracle.explicit import checks_for
from harness.scenario.loader import load_scenario, parse_scenario

SEED = Path("scenarios/litellm/issue-23850-access-group-limits-service-key.yaml")
LITELLM = registry.gateway("litellm")

WORLD = """
id: demo
title: demo
models: [gpt-4o, gpt-4o-mini, claude-sonnet]
access_groups:
  - name: limited
    models: [gpt-4o-mini]
teams:
  - name: platform
    models: all-proxy-models
keys:
  - name: svc
    team: platform
    access_groups: [limited]
"""


def _by_id(output) -> dict:
    return {check.id: check for check in output.checks}


def test_a_scenario_can_leave_every_expectation_to_the_docs():
    scenario = parse_scenario(WORLD + "oracle: derived\n")
    assert scenario.oracle == "derived"
    checks = _by_id(checks_for_mode(scenario, None, LITELLM, "1.82.3"))
    assert checks["demo::svc::chat::gpt-4o"].expect is Expect.DENIED
    assert checks["demo::svc::chat::gpt-4o-mini"].expect is Expect.ALLOWED
    assert checks["demo::svc::list_models"].listed == {"gpt-4o-mini"}
    assert all(check.oracle == "derived" for check in checks.values())


def test_a_derived_check_names_its_rules_and_reads_as_a_chain():
    checks = _by_id(checks_for_mode(parse_scenario(WORLD + "oracle: derived\n"), None, LITELLM, None))
    denied = checks["demo::svc::chat::gpt-4o"]
    assert denied.derivation == "key access group limited {gpt-4o-mini} ∩ team all-proxy-models ⇒ gpt-4o denied"
    assert "key-access-group" in denied.rules and "team-step" in denied.rules
    document = TypeAdapter(Check).dump_python(checks_for(load_scenario(SEED))[0])
    assert "derivation" not in document and "rules" not in document  # absent while unset
    assert TypeAdapter(Check).dump_python(denied)["rules"] == denied.rules


def test_without_a_written_expectation_the_explicit_mode_refuses_the_file(tmp_path):
    path = tmp_path / "x.yaml"
    path.write_text(WORLD)
    result = CliRunner().invoke(cli.app, ["validate", str(path)])
    assert result.exit_code == 2 and "oracle: derived" in result.output


def test_derived_checks_have_the_ids_written_ones_have():
    scenario = load_scenario(SEED)
    written = {check.id for check in checks_for(scenario)}
    derived = {check.id for check in checks_for_mode(scenario, "derived", LITELLM, "1.82.3").checks}
    assert written <= derived  # every written check of the seed is also derived
    assert "litellm-23850-access-group-limits-service-key::control::list_models" in derived - written


def test_both_keeps_the_written_checks_and_adds_the_derived_ones_where_nothing_is_written():
    scenario = load_scenario(SEED)
    output = checks_for_mode(scenario, "both", LITELLM, "1.82.3")
    by_id = _by_id(output)
    assert by_id["litellm-23850-access-group-limits-service-key::svc::chat::gpt-4o"].oracle == "scenario"
    assert by_id["litellm-23850-access-group-limits-service-key::control::list_models"].oracle == "derived"
    assert output.contradictions == []
    assert len(output.checks) == len(set(by_id))  # nothing twice


def test_both_reports_a_written_expectation_the_docs_contradict_and_judges_the_written_one():
    scenario = parse_scenario(WORLD + "expect:\n  svc:\n    can_call: [gpt-4o]\n    lists: [gpt-4o]\n")
    output = checks_for_mode(scenario, "both", LITELLM, None)
    assert _by_id(output)["demo::svc::chat::gpt-4o"].expect is Expect.ALLOWED  # as written
    found = {c.check_id: c for c in output.contradictions}
    assert found["demo::svc::chat::gpt-4o"].written == "allowed"
    assert found["demo::svc::chat::gpt-4o"].derived == "denied"
    assert "key access group" in found["demo::svc::chat::gpt-4o"].summary
    assert found["demo::svc::list_models"].derived == "lists exactly [gpt-4o-mini]"


def test_explicit_is_the_written_checks_unchanged():
    scenario = load_scenario(SEED)
    assert checks_for_mode(scenario, None, LITELLM, "1.82.3").checks == checks_for(scenario)
    assert checks_for_mode(scenario, "explicit").checks == checks_for(scenario)


def test_derived_mode_keeps_the_admin_checks_that_drive_a_timeline():
    scenario = load_scenario(Path("scenarios/litellm/steps-key-moved-between-teams.yaml"))
    checks = checks_for_mode(scenario, "derived", LITELLM, "1.82.3").checks
    admin = [c.principal for c in checks if c.judgement is Judgement.ADMIN]
    assert admin == [c.principal for c in checks_for(scenario) if c.judgement is Judgement.ADMIN]
    follower = _by_id(type("O", (), {"checks": checks}))
    assert follower["litellm-steps-key-moved-between-teams::follower@in-second::chat::claude-sonnet"].expect \
        is Expect.ALLOWED
    assert follower["litellm-steps-key-moved-between-teams::follower@in-second::chat::gpt-4o"].expect is Expect.DENIED


def test_an_undetermined_case_is_never_a_check():
    rule = Rule("r", "a sentence", "https://docs.example/r")
    open_case = Derived("svc", None, "gpt-4o", chain=(RuleUse(rule, "x"),), undetermined="the docs are silent")
    assert not open_case.determined
    assert open_case.summary == "x ⇒ undetermined: the docs are silent"
    assert open_case.signature == ("r",)


def test_a_rule_holds_for_its_releases_only():
    rule = Rule("r", "s", "u", releases=">=1.81.12")
    assert rule.holds_for("1.82.3") and not rule.holds_for("1.80.0") and rule.holds_for(None)


def test_an_unknown_oracle_mode_is_refused_before_anything_starts(no_target):
    result = CliRunner().invoke(cli.app, ["run", str(SEED), "--oracle", "guess"])
    assert result.exit_code == 2 and "--oracle guess" in result.output
    assert no_target == []


def test_a_denial_is_decided_by_the_step_that_denies_not_by_the_one_that_allows():
    """The key's access group denies gpt-4o; the all-proxy-models team allows it: only the first
    decides, so two worlds that differ in how the team grants everything are one kind of finding."""
    scenario = parse_scenario(WORLD + "oracle: derived\n")
    checks = _by_id(checks_for_mode(scenario, None, LITELLM, "1.82.3"))
    denied = checks["demo::svc::chat::gpt-4o"]
    assert "all-proxy-models" in denied.rules
    assert "key-access-group" in denied.decided_by
    assert "all-proxy-models" not in denied.decided_by
    assert checks["demo::svc::chat::gpt-4o-mini"].decided_by is None  # an allowed call: every step decides
