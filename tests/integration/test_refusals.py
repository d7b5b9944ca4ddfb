"""Refusals other than 401/403 on a real LiteLLM 1.108.7: a key whose team is gone is *denied*.

Two ways to get such a key, both through the admin API: the team is deleted with /team/delete
after the key was made (1.108.7 deletes the team's keys with it: 401 token_not_found_in_db),
and a key generated for a team id that does not exist (404 auth_error "Team doesn't exist in
db", the answer `harness.gateways.litellm.refusals.REFUSALS` documents).
"""

from __future__ import annotations

import secrets

import httpx
import pytest

from harness.model.check import Check, Expect
from harness.probes.run import run_probes
from harness.common.redact import Redactor
from harness.targets.base import ModelSpec
from harness.gateways.litellm.local import LocalTarget
from harness.targets.processes import running_children
from harness.model.verdict import Outcome
from harness.gateways.litellm.refusals import REFUSALS
from harness.judge import judge

pytestmark = pytest.mark.integration


def test_key_whose_team_is_gone_is_denied() -> None:
    prefix = f"gc-{secrets.token_hex(4)}"
    target = LocalTarget("litellm==1.108.7", log=print)
    with target:
        endpoint = target.start([ModelSpec("gpt-4o-mini")])
        admin = httpx.Client(base_url=endpoint.base_url, timeout=60,
                             headers={"Authorization": f"Bearer {endpoint.master_key}"})
        with admin:
            team = admin.post("/team/new", json={"team_alias": f"{prefix}-platform", "models": ["gpt-4o-mini"]})
            assert team.status_code == 200, team.text
            team_id = team.json()["team_id"]
            deleted_team_key = admin.post("/key/generate", json={"team_id": team_id, "key_alias": f"{prefix}-a"})
            assert deleted_team_key.status_code == 200, deleted_team_key.text
            deleted = admin.post("/team/delete", json={"team_ids": [team_id]})
            assert deleted.status_code == 200, deleted.text
            missing_team_key = admin.post("/key/generate",
                                          json={"team_id": f"{prefix}-never-created", "key_alias": f"{prefix}-b"})
            assert missing_team_key.status_code == 200, missing_team_key.text

        keys = {"deleted-team": deleted_team_key.json()["key"], "missing-team": missing_team_key.json()["key"]}
        checks = [Check("team-gone", principal, "chat", model="gpt-4o-mini", expect=Expect.DENIED)
                  for principal in keys]
        observations = run_probes(endpoint, keys, checks, Redactor())

        for check in checks:
            observation = observations[check.id]
            print(check.principal, observation.status, observation.body_excerpt)
            verdict = judge(check, observation, refusals=REFUSALS)
            assert verdict.outcome is Outcome.PASS, verdict.message
            assert observation.upstream_hits == []

        deleted_team = observations[checks[0].id]
        assert (deleted_team.status, deleted_team.error_type) == (401, "token_not_found_in_db")
        missing_team = observations[checks[1].id]
        assert (missing_team.status, missing_team.error_type) == (404, "auth_error")
        assert "Team doesn't exist in db" in (missing_team.error_message or "")
        assert judge(checks[1], missing_team, refusals=REFUSALS).observed == "denied (404)"
    assert running_children(target.run_id) == []
