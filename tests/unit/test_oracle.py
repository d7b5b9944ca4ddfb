"""The explicit oracle: exactly the checks a scenario writes down, in a stable order."""

from __future__ import annotations

import re
from pathlib import Path

from harness.model.check import Expect, Judgement
from harness.oracle.explicit import checks_for, expectation_path
from harness.scenario.loader import load_scenario, load_scenarios, parse_scenario

SEED = (
    Path(__file__).resolve().parents[2]
    / "scenarios" / "litellm" / "issue-23850-access-group-limits-service-key.yaml"
)


def test_seed_checks_in_order_with_stable_ids_and_titles():
    checks = checks_for(load_scenario(SEED))

    prefix = "litellm-23850-access-group-limits-service-key"
    assert [(c.id, c.title) for c in checks] == [
        (f"{prefix}::svc::list_models", "svc lists exactly [gpt-4o-mini]"),
        (f"{prefix}::svc::chat::gpt-4o", "svc cannot call gpt-4o"),
        (f"{prefix}::svc::chat::gpt-4o-mini", "svc can call gpt-4o-mini"),
        (f"{prefix}::svc::chat::claude-sonnet", "svc cannot call claude-sonnet"),
        (f"{prefix}::control::chat::gpt-4o", "control can call gpt-4o"),
        (f"{prefix}::control::chat::gpt-4o-mini", "control can call gpt-4o-mini"),
        (f"{prefix}::control::chat::claude-sonnet", "control can call claude-sonnet"),
    ]
    listing = checks[0]
    assert (listing.probe, listing.listed, listing.model, listing.expect) == (
        "list_models", frozenset({"gpt-4o-mini"}), None, None,
    )
    assert (checks[1].probe, checks[1].expect) == ("chat", Expect.DENIED)
    assert (checks[2].probe, checks[2].expect) == ("chat", Expect.ALLOWED)
    assert {c.oracle for c in checks} == {"scenario"}
    assert checks_for(load_scenario(SEED)) == checks  # same input, same checks


SCENARIO = """\
id: order
title: Order
models: [m1, m2, m3]
keys:
  - name: first
  - name: second
  - name: silent
expect:
  second:
    cannot_call: [m3, m1]
  first:
    lists: []
    can_call: [m2]
"""


def test_order_follows_declared_keys_and_models_not_expect_order():
    checks = checks_for(parse_scenario(SCENARIO))

    assert [c.title for c in checks] == [
        "first lists exactly [nothing]",
        "first can call m2",
        "second cannot call m1",
        "second cannot call m3",
    ]


def test_unmentioned_models_and_keys_get_no_checks():
    checks = checks_for(parse_scenario(SCENARIO))

    assert {c.principal for c in checks} == {"first", "second"}  # `silent` has no expectations
    assert not any(c.principal == "first" and c.model in ("m1", "m3") for c in checks)
    assert not any(c.principal == "second" and c.probe == "list_models" for c in checks)


def test_empty_listing_is_an_exact_empty_set_and_ids_are_unique():
    checks = checks_for(parse_scenario(SCENARIO))

    assert checks[0].listed == frozenset()
    assert len({c.id for c in checks}) == len(checks)


def test_every_check_of_the_library_points_at_the_line_that_writes_its_expectation():
    """`expectation_path` inverts `checks_for`: the line names the model under its list, or `lists`/`listing`;
    an admin check's line is the entity's `admin:` or the change step itself (`- update: {key: …}`)."""
    for scenario in load_scenarios(SEED.parents[1]):
        lines = (scenario.source_text or "").splitlines()
        for check in checks_for(scenario):
            line = lines[scenario.line_of(*expectation_path(scenario, check)) - 1]
            if check.judgement is Judgement.ADMIN:
                verb = check.principal.split("-")[0]
                assert line.strip().startswith(("admin:", f"- {verb}:")), (check.id, line)
            elif check.probe == "list_models":
                assert line.strip().startswith(("lists:", "listing:")), (scenario.id, check.title, line)
            elif check.model is None:  # an admin call's: `admin: refused`, or the change step itself
                assert line.strip().startswith(("admin:", "- ")), (check.id, line)
            else:
                field = "can_call" if check.expect is Expect.ALLOWED else "cannot_call"
                named = re.search(rf"(?<![\w.-]){re.escape(check.model or '')}(?![\w.-])", line)
                assert named and (field in line or line.strip().startswith("-")), (check.id, line)


def test_a_block_list_entry_is_its_own_line():
    scenario = parse_scenario(
        "id: block\ntitle: t\nmodels: [m1, m2]\nkeys:\n  - name: k\nexpect:\n  k:\n"
        "    cannot_call:\n      - m1\n      - m2\n"
    )
    lines = {check.model: scenario.line_of(*expectation_path(scenario, check)) for check in checks_for(scenario)}
    assert lines == {"m1": 9, "m2": 10}
