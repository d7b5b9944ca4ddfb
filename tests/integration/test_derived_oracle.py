"""The derived oracle on a real LiteLLM 1.82.3: the seed bug found without writing it down.

The seed's world (BerriAI/litellm#23850) in `both` mode, only the control key's calls written:
what the service key may call and list is derived from LiteLLM's documented rules, and the bug
shows as the FAIL of derived checks (the access group does not limit the key), each carrying
its rule chain. The written checks are judged as written. The sweep is off (the request-surface
tests sweep); one proxy, as a user runs it (the CLI).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.integration.scenario_copies import without_sweep
from tests.integration.test_seed_scenario import assert_no_secrets_in, gateconform, run

pytestmark = pytest.mark.integration

SEED_WORLD_CONTROL_WRITTEN = """
id: it-derived-seed
title: The seed's world, the service key's expectations left to the docs
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
    service_account: true
    access_groups: [limited]
  - name: control
    team: platform
    service_account: true
expect:
  control:
    can_call: [gpt-4o, gpt-4o-mini, claude-sonnet]
"""


def test_both_mode_finds_the_seed_bug_as_failing_derived_checks(tmp_path: Path) -> None:
    source = tmp_path / "src" / "it-derived-seed.yaml"
    source.parent.mkdir()
    source.write_text(SEED_WORLD_CONTROL_WRITTEN)
    scenario = without_sweep(source, tmp_path / "scenarios")
    reports = tmp_path / "reports"
    done = run(gateconform("run", str(scenario), "--target", "litellm==1.82.3", "--oracle", "both",
                           "--report-dir", str(reports)))
    assert done.returncode == 1, done.stdout + done.stderr  # 1 = a check failed

    (result,) = json.loads((reports / "results.json").read_text())["scenarios"]
    assert result["oracle"] == "both" and result["contradictions"] == []
    verdicts = {v["title"]: v for v in result["verdicts"]}
    derived = {title: v for title, v in verdicts.items() if v["check"]["oracle"] == "derived"}
    assert derived and all(v["outcome"] in ("pass", "fail") for v in derived.values())  # judged, none skipped
    # the seed bug: the access group does not limit the key, and no one wrote that down
    for title in ("svc cannot call gpt-4o", "svc cannot call claude-sonnet"):
        assert derived[title]["outcome"] == "fail", derived[title]["message"]
        assert "key access group limited {gpt-4o-mini} ∩ team all-proxy-models" in derived[title]["check"]["derivation"]
        assert "key-access-group" in derived[title]["check"]["rules"]
    assert derived["svc can call gpt-4o-mini"]["outcome"] == "pass"
    assert derived["svc lists exactly [gpt-4o-mini]"]["outcome"] == "fail"
    # written checks are judged as written
    assert verdicts["control can call gpt-4o"]["check"]["oracle"] == "scenario"
    assert verdicts["control can call gpt-4o"]["outcome"] == "pass"
    assert "access_groups" in result["rules"]["key-access-group"]["url"]
    summary = (reports / "summary.md").read_text()
    assert "derived: key access group limited {gpt-4o-mini}" in summary
    assert_no_secrets_in(reports)
