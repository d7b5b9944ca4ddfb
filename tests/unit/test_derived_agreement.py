"""The derived oracle and the library keep each other honest.

For every scenario in `scenarios/litellm/`, what LiteLLM's documented rules derive equals what
the scenario writes, wherever both say something: no contradiction in `both` mode, and every
written call or listing is either derived alike or a case the docs leave open (undetermined,
with a reason). Every rule quotes its docs and links them.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.gateways import registry
from harness.gateways.litellm.semantics.rules import ALL_RULES
from harness.model.check import Judgement
from harness.oracle.explicit import checks_for
from harness.oracle.modes import checks_for_mode
from harness.scenario.loader import load_scenario

LIBRARY = sorted(Path("scenarios/litellm").glob("*.yaml"))
LITELLM = registry.gateway("litellm")


@pytest.mark.parametrize("path", LIBRARY, ids=lambda p: p.stem)
@pytest.mark.parametrize("version", ["1.82.3", "1.108.7"])
def test_the_docs_derive_what_the_library_writes(path: Path, version: str):
    scenario = load_scenario(path)
    both = checks_for_mode(scenario, "both", LITELLM, version)
    assert [c.check_id for c in both.contradictions] == [], [c.as_entry() for c in both.contradictions]
    derived = checks_for_mode(scenario, "derived", LITELLM, version)
    derived_ids = {check.id for check in derived.checks}
    open_cases = {(case.principal, case.round, case.model) for case in derived.undetermined}
    for check in checks_for(scenario):
        if check.judgement is Judgement.ADMIN:
            continue
        where = (check.principal, check.round, check.model)
        assert check.id in derived_ids or where in open_cases, f"{check.id}: written, neither derived nor open"


def test_every_undetermined_case_says_why():
    for path in LIBRARY:
        for case in checks_for_mode(load_scenario(path), "derived", LITELLM, "1.82.3").undetermined:
            assert case.undetermined and len(case.undetermined) > 20, (path, case)


def test_every_rule_quotes_its_docs_and_links_them():
    ids = [rule.id for rule in ALL_RULES]
    assert len(ids) == len(set(ids))
    for rule in ALL_RULES:
        assert rule.sentence.strip() and rule.url.startswith("https://"), rule


def test_the_seed_bug_is_a_derived_denial_with_its_chain():
    scenario = load_scenario(Path("scenarios/litellm/issue-23850-access-group-limits-service-key.yaml"))
    checks = {c.id: c for c in checks_for_mode(scenario, "derived", LITELLM, "1.82.3").checks}
    denied = checks["litellm-23850-access-group-limits-service-key::svc::chat::gpt-4o"]
    assert denied.derivation == "key access group limited {gpt-4o-mini} ∩ team all-proxy-models ⇒ gpt-4o denied"
