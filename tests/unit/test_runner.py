"""The runner, offline: an injected target factory (`ScenarioRunner.target_factory`) starts in-process
fakes of the proxy (tests/fixtures/fake_litellm.py), so a whole scenario (start, capabilities,
provisioning, probes, judging, teardown) runs in a fraction of a second with no proxy, no
database and no network beyond 127.0.0.1.
"""

from __future__ import annotations

import pytest

from harness.engine.runner import ScenarioRunner
from harness.model.reasons import ErrorReason, NotRunReason
from harness.model.verdict import Outcome
from harness.scenario.loader import parse_scenario
from harness.targets.errors import EnvironmentBuildError, TargetError
from tests.fixtures.fake_litellm import MASTER_KEY, OLD_ROUTES, Failure, FakeTargets

SPEC = "litellm==9.9.9"

LIMITED_KEY = """\
id: runner-limited-key
title: a key limited to one model
models: [gpt-4o, gpt-4o-mini]
teams:
  - name: platform
    models: [gpt-4o, gpt-4o-mini]
keys:
  - name: svc
    team: platform
    models: [gpt-4o-mini]
  - name: ctl
    team: platform
expect:
  svc:
    lists: [gpt-4o-mini]
    can_call: [gpt-4o-mini]
    cannot_call: [gpt-4o]
  ctl:
    can_call: [gpt-4o]
"""
SAME_MODELS = LIMITED_KEY.replace("id: runner-limited-key", "id: runner-same-models")
OTHER_MODELS = LIMITED_KEY.replace("id: runner-limited-key", "id: runner-other-models").replace(
    "models: [gpt-4o, gpt-4o-mini]\nteams", "models: [gpt-4o, gpt-4o-mini, claude-sonnet]\nteams")
ACCESS_GROUPS = """\
id: runner-access-groups
title: an access group limits a key
models: [gpt-4o, gpt-4o-mini]
access_groups:
  - name: limited
    models: [gpt-4o-mini]
teams:
  - name: platform
    models: [all-proxy-models]
keys:
  - name: svc
    team: platform
    access_groups: [limited]
expect:
  svc:
    can_call: [gpt-4o-mini]
"""


def outcomes(result) -> dict[str, Outcome]:  # type: ignore[no-untyped-def]
    return {v.title: v.outcome for v in result.verdicts}


def test_a_scenario_is_provisioned_probed_judged_and_torn_down() -> None:
    targets = FakeTargets()
    with ScenarioRunner(SPEC, target_factory=targets) as runner:
        result = runner.run(parse_scenario(LIMITED_KEY))
        proxy = targets.proxies[0]
        assert proxy.alive() == []  # torn down before the proxy stops
    assert outcomes(result) == {
        "svc lists exactly [gpt-4o-mini]": Outcome.PASS, "svc can call gpt-4o-mini": Outcome.PASS,
        "svc cannot call gpt-4o": Outcome.PASS, "ctl can call gpt-4o": Outcome.PASS}
    assert result.error is None and result.models == ["gpt-4o", "gpt-4o-mini"]
    assert [c.path for c in proxy.admin_calls()] == ["/team/new", "/key/generate", "/key/generate",
                                                      "/key/delete", "/team/delete"]
    # what reached the upstream: the two calls that were let through, nothing for the denied one
    assert sorted(hit.model for hit in proxy.upstream.all_hits()) == ["gpt-4o", "gpt-4o-mini"]
    assert targets.stopped == 1 and targets.running == 0


def test_one_proxy_per_model_list_each_stopped_once_its_scenarios_ran() -> None:
    targets = FakeTargets()
    scenarios = [parse_scenario(text) for text in (LIMITED_KEY, OTHER_MODELS, SAME_MODELS)]
    with ScenarioRunner(SPEC, target_factory=targets) as runner:
        result = runner.run_all(scenarios)
    assert targets.started == [["gpt-4o", "gpt-4o-mini"], ["gpt-4o", "gpt-4o-mini", "claude-sonnet"]]
    assert targets.specs == [SPEC, SPEC] and targets.stopped == 2 and targets.most_running == 1
    assert [s.id for s in result.scenarios] == ["runner-limited-key", "runner-same-models", "runner-other-models"]
    assert result.overall == "pass"
    assert (result.gateway, result.target, result.target_kind, result.proxy_version) == ("litellm", SPEC, "local", "9.9.9")
    assert all(proxy.alive() == [] for proxy in targets.proxies)


def test_a_target_that_does_not_start_gives_error_verdicts_and_is_not_retried_for_its_models() -> None:
    targets = FakeTargets(start_error=TargetError(f"{SPEC} (fake): the proxy exited with code 1"))
    scenarios = [parse_scenario(text) for text in (LIMITED_KEY, SAME_MODELS, OTHER_MODELS)]
    with ScenarioRunner(SPEC, target_factory=targets) as runner:
        result = runner.run_all(scenarios)
    # one attempt per model list: the second scenario of a list gets the first one's error
    assert targets.started == [["gpt-4o", "gpt-4o-mini"], ["gpt-4o", "gpt-4o-mini", "claude-sonnet"]]
    for scenario in result.scenarios:
        assert scenario.error == f"target did not start: {SPEC} (fake): the proxy exited with code 1"
        assert scenario.error_reason is NotRunReason.TARGET_NOT_STARTED
        assert {(v.outcome, v.error_reason) for v in scenario.verdicts} == {(Outcome.ERROR, ErrorReason.SCENARIO_NOT_RUN)}
    assert result.overall == "error" and result.proxy_version is None
    assert targets.stopped == 2  # a target that did not start is still stopped (its leftovers cleaned)


def test_a_release_that_does_not_install_is_tried_once_for_every_model_list() -> None:
    targets = FakeTargets(start_error=EnvironmentBuildError("9.9.9 does not install as published"))
    scenarios = [parse_scenario(text) for text in (LIMITED_KEY, OTHER_MODELS)]
    with ScenarioRunner(SPEC, target_factory=targets) as runner:
        result = runner.run_all(scenarios)
    assert len(targets.started) == 1
    assert {s.error_reason for s in result.scenarios} == {NotRunReason.TARGET_NOT_INSTALLED}
    assert {s.error for s in result.scenarios} == {"target did not start: 9.9.9 does not install as published"}


def test_a_provisioning_failure_half_way_still_tears_down_what_was_created() -> None:
    targets = FakeTargets(failures={"/key/generate": Failure(500, {"error": {"message": f"db down {MASTER_KEY}",
                                                                             "type": "internal_server_error"}},
                                                             after=1)})
    with ScenarioRunner(SPEC, target_factory=targets) as runner:
        result = runner.run(parse_scenario(LIMITED_KEY))
        proxy = targets.proxies[0]
        assert proxy.alive() == []
    assert result.error_reason is NotRunReason.PROVISIONING_FAILED
    assert (result.error or "").startswith("provisioning failed: creating key 'ctl': POST /key/generate answered HTTP 500")
    assert MASTER_KEY not in result.model_dump_json()
    assert [c.path for c in proxy.admin_calls()][-2:] == ["/key/delete", "/team/delete"]
    assert not [c for c in proxy.calls if c.path.startswith("/v1/chat")]  # nothing probed


def test_teardown_runs_after_a_scenario_whose_calls_errored() -> None:
    targets = FakeTargets(chat_status=500)
    with ScenarioRunner(SPEC, target_factory=targets) as runner:
        result = runner.run(parse_scenario(LIMITED_KEY))
        assert targets.proxies[0].alive() == []
    calls = [v for v in result.verdicts if "call" in v.title]
    assert {(v.outcome, v.error_reason) for v in calls} == {(Outcome.ERROR, ErrorReason.SERVER_ERROR)}
    assert outcomes(result)["svc lists exactly [gpt-4o-mini]"] is Outcome.PASS
    assert result.error is None and result.overall == "error"


def test_a_proxy_without_a_feature_the_scenario_needs_skips_it_without_provisioning() -> None:
    targets = FakeTargets(routes=OLD_ROUTES)
    with ScenarioRunner(SPEC, target_factory=targets) as runner:
        result = runner.run(parse_scenario(ACCESS_GROUPS))
    proxy = targets.proxies[0]
    assert {v.outcome for v in result.verdicts} == {Outcome.SKIP}
    assert result.verdicts[0].check.skip_reason == "this proxy has no access-group entities (/v1/access_group)"
    assert proxy.admin_calls() == [] and [c.path for c in proxy.calls if c.path.startswith("/v1/")] == []
    assert result.overall == "pass" and result.error_reason is None


def test_ctrl_c_while_a_proxy_starts_stops_it_and_is_not_swallowed() -> None:
    targets = FakeTargets(start_error=KeyboardInterrupt())  # type: ignore[arg-type]
    runner = ScenarioRunner(SPEC, target_factory=targets)
    with pytest.raises(KeyboardInterrupt):
        runner.run(parse_scenario(LIMITED_KEY))
    assert targets.stopped == 1
    runner.close()


def test_what_stood_in_for_the_release_is_recorded_even_when_the_proxy_does_not_start() -> None:
    class SubstitutedTargets(FakeTargets):
        def __call__(self, spec, log):  # type: ignore[no-untyped-def]
            target = super().__call__(spec, log)
            target.substitutions = ("litellm-proxy-extras 0.4.114.post1 → 0.4.110 (0.4.114.post1 is not served)",)
            target.deps_dating = "dependencies dated at its upload (2026-08-02)"
            return target

    targets = SubstitutedTargets(start_error=TargetError(f"{SPEC} (fake): the proxy exited with code 1"))
    with ScenarioRunner(SPEC, target_factory=targets) as runner:
        result = runner.run_all([parse_scenario(LIMITED_KEY)])
    assert result.substitutions == ["litellm-proxy-extras 0.4.114.post1 → 0.4.110 (0.4.114.post1 is not served)"]
    assert result.deps_dating == "dependencies dated at its upload (2026-08-02)"
    with ScenarioRunner(SPEC, target_factory=FakeTargets()) as runner:
        plain = runner.run_all([parse_scenario(LIMITED_KEY)])
    assert plain.substitutions is None and plain.deps_dating is None  # installed as published
