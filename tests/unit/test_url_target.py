"""The url target, offline: a running proxy (an in-process fake of LiteLLM's admin API, served on
127.0.0.1: tests/fixtures/fake_litellm.py) is attached to, not started. What a user notices: only
the run's own entities and models are created and removed, missing models skip the scenario
(or are added for the run when allowed), the master key never comes from the command line, and
a run without a recording upstream says in every report that its evidence is weaker."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator

import httpx
import pytest

from harness.targets.upstream_server import deployment_base
from typer.testing import CliRunner

from harness.cli import app as cli
from harness.engine.runner import ScenarioRunner, attached_target_factory, check_target_spec
from harness.model.reasons import NotRunReason
from harness.model.results import EVIDENCE_RESPONSE_ONLY
from harness.model.verdict import Outcome
from harness.report.outputs import write_run_documents
from harness.scenario.loader import parse_scenario
from harness.targets.attach import AttachOptions
from harness.targets.errors import TargetError
from harness.targets.upstream import Upstream
from tests.fixtures.fake_litellm import MASTER_KEY, FakeLiteLLM, Served
from tests.unit.test_runner import LIMITED_KEY

ACCESS_GROUPS = """\
id: url-access-groups
title: an access group limits a key
models: [gpt-4o, gpt-4o-mini, claude-sonnet]
access_groups:
  - name: limited
    models: [gpt-4o-mini]
teams:
  - name: platform
    models: [all-proxy-models]
users:
  - name: alice
    teams: [platform]
keys:
  - name: svc
    team: platform
    access_groups: [limited]
expect:
  svc:
    can_call: [gpt-4o-mini]
"""


@pytest.fixture(autouse=True)
def own_up_state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No user's `gateconform up` state and no url settings from the environment leak in."""
    monkeypatch.setenv("GATECONFORM_UP_DIR", str(tmp_path / "up"))
    for name in ("GATECONFORM_MASTER_KEY", "GATECONFORM_UPSTREAM_URL", "GATECONFORM_ADD_MODELS"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def proxy() -> Iterator[tuple[FakeLiteLLM, str]]:
    fake = FakeLiteLLM(served=["gpt-4o", "gpt-4o-mini"])
    served = Served(fake)
    try:
        yield fake, served.url
    finally:
        served.close()


def make_existing_world(url: str) -> dict[str, Any]:
    """Entities that were there before the run, made through the admin API as a user would."""
    admin = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {MASTER_KEY}"})
    team = admin.post("/team/new", json={"team_alias": "prod-team", "models": ["gpt-4o"]}).json()
    admin.post("/user/new", json={"user_id": "prod-user"})
    key = admin.post("/key/generate", json={"key_alias": "prod-key", "team_id": team["team_id"]}).json()
    group = admin.post("/v1/access_group", json={"access_group_name": "prod-group", "access_model_names": ["gpt-4o"]})
    return {"team": team["team_id"], "key": key["key"], "group": group.json()["access_group_id"]}


def run_url(url: str, *texts: str, options: AttachOptions | None = None) -> Any:
    with ScenarioRunner(f"url:{url}", target_factory=attached_target_factory(options or AttachOptions())) as runner:
        return runner.run_all([parse_scenario(text) for text in texts])


def test_only_the_runs_own_entities_are_created_and_all_of_them_removed(proxy: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    fake, url = proxy
    monkeypatch.setenv("GATECONFORM_MASTER_KEY", MASTER_KEY)
    fake.deployments.append({"model_name": "claude-sonnet", "model_info": {"id": "prod-claude", "db_model": True}})
    existing = make_existing_world(url)
    before = (fake.alive(), json.dumps(fake.deployments, sort_keys=True))
    already = len(fake.calls)

    result = run_url(url, ACCESS_GROUPS, LIMITED_KEY)

    assert result.overall == "pass", [v.message for s in result.scenarios for v in s.verdicts]
    assert (fake.alive(), json.dumps(fake.deployments, sort_keys=True)) == before  # nothing of theirs changed, ours gone
    for call in fake.calls[already:]:
        named = [str(value) for key, value in (call.body or {}).items()
                 if key in ("team_alias", "key_alias", "user_id", "access_group_name")]
        assert all(name.startswith("gc-") for name in named), call
        ids = [str(i) for key in ("team_ids", "user_ids") for i in (call.body or {}).get(key, [])]
        assert existing["team"] not in ids and "prod-user" not in ids, call
        assert not call.path.startswith(f"/v1/access_group/{existing['group']}"), call
    assert {c.path for c in fake.calls[already:]} >= {"/v1/access_group", "/team/new", "/user/new", "/key/generate"}


def test_a_run_without_a_recording_upstream_says_its_evidence_is_weaker_everywhere(
        proxy: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fake, url = proxy
    monkeypatch.setenv("GATECONFORM_MASTER_KEY", MASTER_KEY)
    checked = check_target_spec(f"url:{url}/")
    assert checked.spec == f"url:{url}"
    assert any("weaker evidence" in note for note in checked.notes)

    result = run_url(url, LIMITED_KEY)
    assert result.evidence == EVIDENCE_RESPONSE_ONLY and result.target_kind == "url"
    assert result.proxy_version == "9.9.9"
    calls = [v for v in result.scenarios[0].verdicts if v.check.probe == "chat"]
    assert {v.outcome for v in calls} == {Outcome.PASS}
    assert all("upstream not observed" in v.message for v in calls)
    assert all(v.observation is not None and v.observation.upstream_observed is False for v in calls)

    write_run_documents(result, tmp_path)
    document = json.loads((tmp_path / "results.json").read_text())
    assert document["evidence"] == "response-only"
    for name in ("report.html", "summary.md", "junit.xml"):
        assert "Weaker evidence" in (tmp_path / name).read_text(), name
    assert "Weaker evidence" in (tmp_path / "allure-results" / "environment.properties").read_text()


def test_a_model_the_proxy_lacks_skips_the_scenario_saying_so(proxy: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    fake, url = proxy
    monkeypatch.setenv("GATECONFORM_MASTER_KEY", MASTER_KEY)
    result = run_url(url, ACCESS_GROUPS)  # needs claude-sonnet
    scenario = result.scenarios[0]
    assert {v.outcome for v in scenario.verdicts} == {Outcome.SKIP}
    assert "has no model claude-sonnet" in scenario.verdicts[0].message
    assert "--add-models" in scenario.verdicts[0].message
    assert fake.admin_calls() == []  # nothing was created for a scenario that could not run


def test_missing_models_are_added_for_the_run_and_removed_after_when_allowed(
        proxy: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    fake, url = proxy
    fake.models_in_database = True
    monkeypatch.setenv("GATECONFORM_MASTER_KEY", MASTER_KEY)
    with Upstream() as upstream:
        upstream_url = upstream.url
        result = run_url(url, ACCESS_GROUPS, options=AttachOptions(upstream_url=upstream_url, add_models=True))
    added = [c.body for c in fake.calls if c.path == "/model/new"]
    assert [(body["model_name"], body["model_info"]["id"].startswith("gc-")) for body in added] == [("claude-sonnet", True)]
    # under the deployment's own base, so the recording upstream tells which deployment served
    assert added[0]["litellm_params"]["api_base"] == f"{deployment_base(upstream_url, 'claude-sonnet')}/v1"
    deleted = [c.body["id"] for c in fake.calls if c.path == "/model/delete"]
    assert deleted == [added[0]["model_info"]["id"]]
    assert fake.served == ["gpt-4o", "gpt-4o-mini"]
    assert result.evidence is None  # a recording upstream: full evidence is asked of every verdict


def test_a_proxy_that_cannot_store_models_skips_instead_of_adding(proxy: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    fake, url = proxy
    monkeypatch.setenv("GATECONFORM_MASTER_KEY", MASTER_KEY)
    monkeypatch.setenv("GATECONFORM_ADD_MODELS", "1")
    monkeypatch.setenv("GATECONFORM_UPSTREAM_URL", "http://127.0.0.1:9")
    result = run_url(url, ACCESS_GROUPS)
    verdicts = result.scenarios[0].verdicts
    assert {v.outcome for v in verdicts} == {Outcome.SKIP}
    assert "does not store models in its database" in verdicts[0].message


def test_a_refused_master_key_is_an_error_naming_the_variable(proxy: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    _fake, url = proxy
    monkeypatch.setenv("GATECONFORM_MASTER_KEY", "sk-wrong-key-0000")
    result = run_url(url, LIMITED_KEY)
    scenario = result.scenarios[0]
    assert scenario.error_reason is NotRunReason.TARGET_NOT_STARTED
    assert "refused the master key from $GATECONFORM_MASTER_KEY" in (scenario.error or "")
    assert "sk-wrong-key-0000" not in result.model_dump_json()


def test_without_a_master_key_nothing_starts_and_the_variable_is_named(proxy: Any, no_target: list[str],
                                                                        tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    _fake, url = proxy
    scenario = tmp_path / "s.yaml"
    scenario.write_text(LIMITED_KEY)
    result = CliRunner().invoke(cli.app, ["run", str(scenario), "--target", f"url:{url}"])
    assert result.exit_code == 2
    assert "GATECONFORM_MASTER_KEY" in result.output and "never taken from the command line" in result.output
    assert no_target == []
    monkeypatch.setenv("GATECONFORM_MASTER_KEY", MASTER_KEY)
    with pytest.raises(TargetError, match="needs a recording upstream"):
        check_target_spec(f"url:{url}", AttachOptions(add_models=True))


@pytest.mark.parametrize(("spec", "message"), [
    ("url:ftp://host:1", r"not an http\(s\) URL"),
    ("url:http://user:pw@host:4000", "must not carry credentials"),
    ("url:http://host:4000/?x=1", "without a query"),
])
def test_a_malformed_url_is_refused_from_its_text(spec: str, message: str) -> None:
    with pytest.raises(TargetError, match=message):
        check_target_spec(spec)


def test_url_options_are_refused_for_other_targets(no_target: list[str], tmp_path: Path) -> None:
    scenario = tmp_path / "s.yaml"
    scenario.write_text(LIMITED_KEY)
    result = CliRunner().invoke(cli.app, ["run", str(scenario), "--target", "litellm==1.82.3", "--add-models"])
    assert result.exit_code == 2 and "are for a url target" in result.output


def test_runs_on_the_kept_proxy_take_turns_with_its_models(proxy: Any) -> None:
    """Two runs at once (xdist workers, two terminals) on `up`'s proxy: the second waits for the first,
    which would otherwise see its models swapped for the second's."""
    import threading

    from harness.gateways import registry
    from harness.model.scenario import ModelSpec
    from harness.targets import up_state
    from harness.targets.lifecycle import current_owner
    from harness.targets.spec import parse_target_spec

    fake, url = proxy
    fake.models_in_database = True
    with Upstream() as upstream:
        up_state.write(up_state.UpState(keeper=current_owner(), target="litellm==9.9.9", base_url=url,
                                        master_key=MASTER_KEY, upstream_url=upstream.url))
        spec = parse_target_spec(f"url:{url}", registry)
        first = registry.gateway("litellm").launch(spec, lambda _message: None)
        second = registry.gateway("litellm").launch(spec, lambda _message: None)
        first.start([ModelSpec("gpt-4o"), ModelSpec("claude-sonnet")])
        started = threading.Event()
        waiter = threading.Thread(target=lambda: (second.start([ModelSpec("gpt-4o")]), started.set()))
        waiter.start()
        assert not started.wait(0.5), "the second run did not wait for the first"
        assert "claude-sonnet" in fake.served  # the first run's model is still there while it runs
        first.stop()
        assert started.wait(5)
        waiter.join()
        assert "claude-sonnet" not in fake.served  # the second run's turn: the first one's kept model is gone
        second.stop()


def test_upstream_serve_says_how_to_point_a_proxys_models_at_it() -> None:
    result = CliRunner().invoke(cli.app, ["upstream", "serve", "--port", "0", "-m", "gpt-4o", "--for", "0.2"])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "gateconform upstream: recording at http://127.0.0.1:" in text
    assert "model_name: gpt-4o" in result.output and "model: openai/gpt-4o" in result.output
    assert "GATECONFORM_UPSTREAM_URL=http://127.0.0.1:" in text and "stopped after 0 request(s)" in text
