"""The url target and `gateconform up`/`down` on a real proxy: only the run's own entities are touched.

The test keeps one real LiteLLM proxy up (`gateconform up`, one boot for the whole file), makes
entities on it beforehand through its admin API — a team, a user in it, a key, an access group
and a model in its database, none with gateconform's prefix — then runs scenarios against it
through the url target, twice: as the managed proxy (master key and upstream from `up`'s state),
and as a user's own proxy (master key from $GATECONFORM_MASTER_KEY, `--upstream`, `--add-models`).
What a user would notice is asserted: the verdicts are those of the local target, every
pre-existing entity is exactly as it was, nothing the runs created is left, and `down` leaves no
process, folder or state behind.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any, Iterator

import httpx
import pytest

from harness.targets import up_state
from harness.targets.lifecycle import identity_alive
from harness.targets.processes import processes_owned_by
from tests.integration.scenario_copies import without_sweep
from tests.integration.test_seed_scenario import OVER_BROAD, ROOT, SEED, assert_no_secrets_in, gateconform

pytestmark = pytest.mark.integration

VERSION = "1.82.3"
#: gpt-4o is the proxy's own model (made beforehand); the scenario's other models are added for the run
NARROWS = ROOT / "scenarios/litellm/key-narrows-team-models.yaml"
OWN_MODEL_ONLY = """\
id: url-their-model
title: a team key reaches the proxy's own model
models: [gpt-4o]
teams:
  - name: t
    models: [gpt-4o]
keys:
  - name: k
    team: t
expect:
  k:
    lists: [gpt-4o]
    can_call: [gpt-4o]
"""


def cli(*args: str, env: dict[str, str], timeout: float = 900) -> subprocess.CompletedProcess[str]:
    return subprocess.run(gateconform(*args), cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def kept(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[up_state.UpState, dict[str, str]]]:
    """A proxy kept up for this file (its own state folder), brought down at the end, checked clean."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("GATECONFORM_") or
           name == "GATECONFORM_CACHE_DIR"}
    env["GATECONFORM_UP_DIR"] = str(tmp_path_factory.mktemp("up"))
    started = cli("up", "--target", f"litellm=={VERSION}", env=env)
    assert started.returncode == 0, started.stdout + started.stderr
    state = up_state.read(env)
    assert state is not None and state.alive
    try:
        again = cli("up", "--target", f"litellm=={VERSION}", env=env)
        assert again.returncode == 0 and f"already up: litellm=={VERSION} at {state.base_url}" in again.stdout
        other = cli("up", "--target", "litellm==1.108.7", env=env)
        assert other.returncode == 2 and "gateconform down` first" in other.stderr
        yield state, env
    finally:
        stopped = cli("down", env=env)
    assert stopped.returncode == 0, stopped.stdout + stopped.stderr
    assert not identity_alive(state.keeper), "the keeper is still running"  # (a zombie no parent reaps counts as gone)
    assert processes_owned_by(state.keeper) == [], "the proxy, its engine or its database is still running"
    assert up_state.read(env) is None and not Path(env["GATECONFORM_UP_DIR"]).exists(), "state left behind"
    assert cli("down", env=env).stdout.strip() == "nothing is up"


def snapshot(admin: httpx.Client) -> dict[str, dict[str, Any]]:
    """Every team, key, user, access group and model of the proxy, by id, as its admin API shows them."""
    keys = admin.get("/key/list", params={"return_full_object": "true"}).json()["keys"]
    return {
        "teams": {team["team_id"]: team for team in admin.get("/team/list").json()},
        "keys": {key["token"]: key for key in keys},
        "users": {user["user_id"]: user for user in admin.get("/user/list").json()["users"]},
        "access_groups": {group["access_group_id"]: group for group in admin.get("/v1/access_group").json()},
        "models": {model["model_info"]["id"]: model for model in admin.get("/model/info").json()["data"]},
    }


#: The user LiteLLM books the master key's calls to: it stamps `updated_at` on it at every admin
#: call anybody makes (the test's own too). That stamp is LiteLLM's, not a change gateconform made.
ADMIN_USER = "default_user_id"


def unstamped(entity: dict[str, Any] | None) -> dict[str, Any] | None:
    if entity is None or entity.get("user_id") != ADMIN_USER or "team_id" in entity:
        return entity
    return {name: value for name, value in entity.items() if name != "updated_at"}


def make_existing_world(admin: httpx.Client, upstream_url: str) -> None:
    """What was on the proxy before gateconform came: none of it carries gateconform's prefix."""
    def post(path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = admin.post(path, json=body)
        assert response.status_code < 300, f"{path}: {response.text}"
        return response.json()

    post("/model/new", {"model_name": "gpt-4o", "model_info": {"id": "their-gpt-4o"},
                        "litellm_params": {"model": "openai/gpt-4o", "api_base": f"{upstream_url}/v1", "api_key": "x"}})
    group = post("/v1/access_group", {"access_group_name": "their-group", "access_model_names": ["gpt-4o"]})
    team = post("/team/new", {"team_alias": "their-team", "models": ["gpt-4o"],
                              "access_group_ids": [group["access_group_id"]]})
    post("/user/new", {"user_id": "their-user", "auto_create_key": False})
    post("/team/member_add", {"team_id": team["team_id"], "member": {"role": "user", "user_id": "their-user"}})
    post("/key/generate", {"key_alias": "their-key", "team_id": team["team_id"], "user_id": "their-user"})


def test_url_runs_touch_only_their_own_entities_and_models(kept: tuple[up_state.UpState, dict[str, str]],
                                                           tmp_path: Path) -> None:
    state, env = kept
    with httpx.Client(base_url=state.base_url, headers={"Authorization": f"Bearer {state.master_key}"},
                      timeout=30) as admin:
        make_existing_world(admin, state.upstream_url)
        before = snapshot(admin)

        # 1. the managed proxy: `up`'s state brings the master key and the recording upstream
        # the written checks (a sweep on a url target is the request-surface tests' business)
        seed = without_sweep(SEED, tmp_path / "scenarios")
        managed = cli("run", str(seed), "--target", f"url:{state.base_url}", "--report-dir", str(tmp_path / "a"),
                      env=env)
        assert managed.returncode == 1, managed.stdout + managed.stderr  # the bug reproduces, as on the local target
        result = json.loads((tmp_path / "a" / "results.json").read_text())
        failed = {v["title"] for s in result["scenarios"] for v in s["verdicts"] if v["outcome"] == "fail"}
        assert failed == OVER_BROAD and result["counts"] == {"pass": 4, "fail": 3, "error": 0, "skip": 0}
        assert result["target_kind"] == "url" and result["proxy_version"] == VERSION
        assert result.get("evidence") is None  # the recording upstream backs every verdict
        assert_no_secrets_in(tmp_path / "a")

        # 2. as a user's own proxy: the key from the environment, models added for the run only
        user_env = {**env, "GATECONFORM_UP_DIR": str(tmp_path / "elsewhere"), "GATECONFORM_MASTER_KEY": state.master_key}
        models_before = set(snapshot(admin)["models"])
        narrows = without_sweep(NARROWS, tmp_path / "scenarios")
        attached = cli("run", str(narrows), "--target", f"url:{state.base_url}", "--upstream", state.upstream_url,
                       "--add-models", "--report-dir", str(tmp_path / "b"), env=user_env)
        assert attached.returncode == 0, attached.stdout + attached.stderr
        assert "model(s) added for the run" in attached.stderr
        assert state.master_key not in attached.stdout + attached.stderr
        assert set(snapshot(admin)["models"]) == models_before  # what was added for the run is gone

        # 3. without a recording upstream, on the proxy's own model: verdicts rest on the answers alone, and say so
        own_model = tmp_path / "their-model.yaml"
        own_model.write_text(OWN_MODEL_ONLY.rstrip("\n") + "\nsweep: false\n")
        bare = cli("run", str(own_model), "--target", f"url:{state.base_url}", "--report-dir", str(tmp_path / "c"),
                   env=user_env)
        assert bare.returncode == 0, bare.stdout + bare.stderr
        assert "weaker evidence" in bare.stderr
        document = json.loads((tmp_path / "c" / "results.json").read_text())
        assert document["evidence"] == "response-only" and document["counts"]["pass"] == 2
        assert "Weaker evidence" in (tmp_path / "c" / "summary.md").read_text()

        after = snapshot(admin)
    for kind, entities in before.items():
        for entity_id, entity in entities.items():
            assert unstamped(after[kind].get(entity_id)) == unstamped(entity), f"{kind} {entity_id} was changed or removed"
    leftovers = {kind: sorted(set(after[kind]) - set(before[kind])) for kind in before}
    kept_models = [model_id for model_id in leftovers.pop("models") if model_id.startswith("gc-up-")]
    assert leftovers == {"teams": [], "keys": [], "users": [], "access_groups": []}, "a run left entities behind"
    assert set(kept_models) <= {"gc-up-gpt-4o-mini", "gc-up-claude-sonnet"}  # the managed proxy's warm models only
