"""Timelines and admin expectations on a real LiteLLM 1.82.3, as a user runs them (the CLI).

Three scenarios with the same models and the same proxy settings (both key/team caches at 2 s,
set through the scenario's `proxy:`), so one proxy serves them all and CI pays for one start:

- a key moved between teams: in the round after the move (and the cache TTL) its access is the
  new team's — a model only the old team had is denied, one only the new team has is allowed;
  moving a key whose own models the new team lacks is refused, as the scenario expects (a pass);
- a team deleted under a live key: the key works, the team is deleted, and after the wait the
  key's calls are denied;
- admin expectations at creation: a key whose models lie outside its team, expected refused, is
  accepted by 1.82.3 (BerriAI/litellm#38629) — a FAIL with the proxy's answer as evidence, not a
  crash, and the rounds after it still run.

What is asserted is the verdicts in results.json, and that the run left nothing behind.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.integration.test_seed_scenario import assert_no_secrets_in, gateconform, run

pytestmark = pytest.mark.integration

#: One proxy for all three: the same models and the same settings (part of a proxy's identity);
#: the written checks only (the request-surface tests sweep).
SHARED = """
sweep: false
proxy:
  general_settings: {user_api_key_cache_ttl: 2}
  environment: {DEFAULT_MANAGEMENT_OBJECT_IN_MEMORY_CACHE_TTL: "2"}
models: [gpt-4o, gpt-4o-mini, claude-sonnet]
"""

MOVED = """
id: it-key-moved
title: A key moved between teams follows the new team
teams:
  - {name: first, models: [gpt-4o, gpt-4o-mini]}
  - {name: second, models: [gpt-4o-mini, claude-sonnet]}
keys:
  - {name: follower, team: first}
  - {name: overreach, team: first, models: [gpt-4o]}
steps:
  - round: before
    expect:
      follower: {can_call: [gpt-4o], cannot_call: [claude-sonnet]}
  - update: {key: follower, team: second}
  - update: {key: overreach, team: second}
    admin: refused
  - wait: cache_ttl
  - round: after
    expect:
      follower: {can_call: [claude-sonnet], cannot_call: [gpt-4o]}
      overreach: {can_call: [gpt-4o]}
"""

DELETED = """
id: it-team-deleted
title: A team deleted under a live key
teams:
  - {name: doomed, models: [gpt-4o]}
keys:
  - {name: member, team: doomed}
steps:
  - round: live
    expect:
      member: {can_call: [gpt-4o]}
  - delete: {team: doomed}
  - wait: cache_ttl
  - round: after-ttl
    expect:
      member: {cannot_call: [gpt-4o]}
"""

CREATED = """
id: it-key-outside-team
title: A key asking for models outside its team
teams:
  - {name: team-b, models: [claude-sonnet]}
keys:
  - {name: within, team: team-b, models: [claude-sonnet]}
  - {name: outside, team: team-b, models: [gpt-4o], admin: refused}
expect:
  within: {can_call: [claude-sonnet], cannot_call: [gpt-4o]}
"""


def write_scenarios(folder: Path) -> Path:
    folder.mkdir()
    for name, body in {"moved": MOVED, "deleted": DELETED, "created": CREATED}.items():
        (folder / f"{name}.yaml").write_text(body.lstrip() + SHARED)
    return folder


def assert_outcomes(outcomes: dict[str, str], expected: dict[str, str]) -> None:
    assert {check_id: outcomes.get(check_id) for check_id in expected} == expected


def test_timelines_and_admin_expectations_on_1_82_3(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    scenarios = write_scenarios(tmp_path / "scenarios")
    done = run(gateconform("run", str(scenarios), "--target", "litellm==1.82.3", "--report-dir", str(reports)))
    assert done.returncode == 1, done.stdout + done.stderr  # 1 = a check failed: the accepted 'outside' key

    result = json.loads((reports / "results.json").read_text())
    assert (done.stdout + done.stderr).count("ready at http://") == 1, "the three scenarios should share one proxy"
    verdicts = {v["check_id"]: v for s in result["scenarios"] for v in s["verdicts"]}
    outcomes = {check_id: v["outcome"] for check_id, v in verdicts.items()}

    # The key moved between teams: its access follows the new team in the next round.
    assert_outcomes(outcomes, {
        "it-key-moved::follower@before::chat::gpt-4o": "pass",
        "it-key-moved::follower@before::chat::claude-sonnet": "pass",
        "it-key-moved::update-key-follower::admin": "pass",
        "it-key-moved::update-key-overreach::admin": "pass",
        "it-key-moved::follower@after::chat::claude-sonnet": "pass",
        "it-key-moved::follower@after::chat::gpt-4o": "pass",
        "it-key-moved::overreach@after::chat::gpt-4o": "pass",
    })
    gained = verdicts["it-key-moved::follower@after::chat::claude-sonnet"]["observation"]
    assert gained["status"] == 200 and len(gained["upstream_hits"]) == 1
    refused_move = verdicts["it-key-moved::update-key-overreach::admin"]
    assert refused_move["observed"].startswith("refused"), refused_move["observed"]
    assert "team_model_access_denied" in refused_move["observation"]["body_excerpt"]

    # The team deleted under a live key: denied after the (short) cache TTL.
    assert_outcomes(outcomes, {
        "it-team-deleted::member@live::chat::gpt-4o": "pass",
        "it-team-deleted::delete-team-doomed::admin": "pass",
        "it-team-deleted::member@after-ttl::chat::gpt-4o": "pass",
    })
    assert verdicts["it-team-deleted::member@after-ttl::chat::gpt-4o"]["observation"]["upstream_hits"] == []

    # An unexpected acceptance is a failure with the proxy's answer, and the rounds still run.
    outside = verdicts["it-key-outside-team::create-key-outside::admin"]
    assert (outside["outcome"], outside["observed"]) == ("fail", "accepted (200)")
    assert_outcomes(outcomes, {
        "it-key-outside-team::within::chat::claude-sonnet": "pass",
        "it-key-outside-team::within::chat::gpt-4o": "pass",
    })
    assert [check_id for check_id, outcome in outcomes.items() if outcome != "pass"] == [
        "it-key-outside-team::create-key-outside::admin"]
    assert_no_secrets_in(reports)
