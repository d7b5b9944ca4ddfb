"""A scenario's timeline, offline (in-process fakes of the proxy, tests/fixtures/fake_litellm.py):
rounds probed in order with changes and waits between them, admin expectations judged, and once
the world is not the scenario's any more every later check skipped, saying why — never passed."""

from __future__ import annotations

import time

from harness.engine.runner import ScenarioRunner
from harness.model.verdict import Outcome
from harness.scenario.loader import parse_scenario
from tests.fixtures.fake_litellm import Failure, FakeTargets

SPEC = "litellm==9.9.9"

MOVED = """\
id: moved
title: a key moved between teams
proxy:
  general_settings: {user_api_key_cache_ttl: 0.2}
  environment: {DEFAULT_MANAGEMENT_OBJECT_IN_MEMORY_CACHE_TTL: "0.2"}
models: [gpt-4o, gpt-4o-mini]
teams:
  - {name: a, models: [gpt-4o]}
  - {name: b, models: [gpt-4o-mini]}
keys:
  - {name: k, team: a}
steps:
  - round: before
    expect: {k: {can_call: [gpt-4o], cannot_call: [gpt-4o-mini]}}
  - update: {key: k, team: b}
  - wait: cache_ttl
  - round: after
    expect: {k: {can_call: [gpt-4o-mini], cannot_call: [gpt-4o]}}
"""


def run(text: str, **options) -> tuple:  # type: ignore[no-untyped-def]
    targets = FakeTargets(**options)
    with ScenarioRunner(SPEC, target_factory=targets) as runner:
        result = runner.run(parse_scenario(text))
    return result, targets


def outcomes(result) -> dict[str, Outcome]:  # type: ignore[no-untyped-def]
    return {v.check_id: v.outcome for v in result.verdicts}


def test_a_key_moved_between_teams_is_observed_before_and_after_in_order() -> None:
    started = time.monotonic()
    result, targets = run(MOVED)

    assert outcomes(result) == {
        "moved::k@before::chat::gpt-4o": Outcome.PASS, "moved::k@before::chat::gpt-4o-mini": Outcome.PASS,
        "moved::update-key-k::admin": Outcome.PASS,
        "moved::k@after::chat::gpt-4o": Outcome.PASS, "moved::k@after::chat::gpt-4o-mini": Outcome.PASS,
    }
    # `wait: cache_ttl` waited the scenario's TTL (both caches at 0.2 s) plus the margin
    assert time.monotonic() - started >= 1.2
    proxy = targets.proxies[0]
    assert proxy.settings is not None and proxy.settings.env() == {"DEFAULT_MANAGEMENT_OBJECT_IN_MEMORY_CACHE_TTL": "0.2"}
    update = next(call for call in proxy.admin_calls() if call.path == "/key/update")
    assert set(update.body) == {"key", "team_id"} and update.body["team_id"].startswith("team-")
    assert proxy.alive() == []  # torn down


def test_a_refusal_the_scenario_expects_passes_and_the_timeline_goes_on() -> None:
    refused = MOVED.replace("  - update: {key: k, team: b}\n", "  - update: {key: k, team: b}\n    admin: refused\n")
    refused = refused.replace("{k: {can_call: [gpt-4o-mini], cannot_call: [gpt-4o]}}",
                              "{k: {can_call: [gpt-4o], cannot_call: [gpt-4o-mini]}}")
    result, _ = run(refused, failures={"/key/update": Failure(400, {"error": {"message": "no", "type": "bad_request"}})})

    assert set(outcomes(result).values()) == {Outcome.PASS}
    assert result.error is None


def test_an_unexpected_refusal_fails_with_the_proxys_answer_and_skips_what_follows() -> None:
    failure = Failure(400, {"error": {"message": "team b is full", "type": "bad_request_error"}})
    result, _ = run(MOVED, failures={"/key/update": failure})

    by_id = {v.check_id: v for v in result.verdicts}
    update = by_id["moved::update-key-k::admin"]
    assert update.outcome is Outcome.FAIL
    assert update.message == ("update-key-k is accepted by the admin API: expected accepted, observed refused "
                              "(HTTP 400; bad_request_error: team b is full)")
    after = [v for v in result.verdicts if "@after" in v.check_id]
    assert {v.outcome for v in after} == {Outcome.SKIP}
    assert after[0].message.endswith("skipped: the world is not the scenario's after update-key-k: " + update.message)
    assert result.overall == "fail"  # a skip is never a pass: the failure stands


def test_a_feature_that_needs_a_licence_is_skipped_with_the_proxys_own_words() -> None:
    licence = MOVED.replace("  - update: {key: k, team: b}\n", "  - regenerate: {key: k, old: k-old}\n")
    licence = licence.replace("{k: {can_call: [gpt-4o-mini], cannot_call: [gpt-4o]}}", "{k-old: {cannot_call: [gpt-4o]}}")
    result, _ = run(licence)

    by_id = {v.check_id: v for v in result.verdicts}
    regenerate = by_id["moved::regenerate-key-k::admin"]
    assert regenerate.outcome is Outcome.SKIP
    assert "the proxy refused POST /key/regenerate (HTTP 400): Regenerating Virtual Keys is an Enterprise feature" \
        in regenerate.message
    assert by_id["moved::k-old@after::chat::gpt-4o"].outcome is Outcome.SKIP
    assert by_id["moved::k@before::chat::gpt-4o"].outcome is Outcome.PASS


def test_a_target_action_this_target_cannot_make_skips_the_later_rounds_saying_so() -> None:
    row = MOVED.replace("  - update: {key: k, team: b}\n", "  - remove_row: {team: a}\n")
    row = row.replace("{k: {can_call: [gpt-4o-mini], cannot_call: [gpt-4o]}}", "{k: {cannot_call: [gpt-4o]}}")
    result, _ = run(row)

    after = next(v for v in result.verdicts if "@after" in v.check_id)
    assert after.outcome is Outcome.SKIP
    assert after.message.endswith("remove-row-team-a needs the proxy's database, which this target does not let "
                                  "the harness reach (use a local or Docker target)")


def test_blocking_and_unblocking_a_key_between_rounds() -> None:
    blocked = """\
id: blocked
title: a key blocked, then unblocked
models: [gpt-4o]
keys: [{name: k, models: [gpt-4o]}]
steps:
  - expect: {k: {can_call: [gpt-4o]}}
  - block: {key: k}
  - expect: {k: {cannot_call: [gpt-4o]}}
  - unblock: {key: k}
  - expect: {k: {can_call: [gpt-4o]}}
"""
    result, _ = run(blocked)
    assert list(outcomes(result)) == ["blocked::k@1::chat::gpt-4o", "blocked::block-key-k::admin",
                                      "blocked::k@2::chat::gpt-4o", "blocked::unblock-key-k::admin",
                                      "blocked::k@3::chat::gpt-4o"]
    assert set(outcomes(result).values()) == {Outcome.PASS}


def test_an_entitys_creation_judged_refused_as_expected_or_the_world_diverges() -> None:
    world = """\
id: created
title: a key outside its team's models
models: [gpt-4o, gpt-4o-mini]
teams: [{name: t, models: [gpt-4o]}]
keys:
  - {name: inside, team: t}
  - {name: outside, team: t, models: [gpt-4o-mini], admin: refused}
expect:
  inside: {can_call: [gpt-4o]}
"""
    refused = {"/key/generate": Failure(400, {"error": {"message": "outside the team", "type": "bad_request"}},
                                        after=1)}
    as_expected, _ = run(world, failures=refused)
    assert outcomes(as_expected) == {"created::create-key-outside::admin": Outcome.PASS,
                                     "created::inside::chat::gpt-4o": Outcome.PASS}

    accepted, targets = run(world)  # created though refusal was expected: a failure, and the rest still runs
    assert outcomes(accepted) == {"created::create-key-outside::admin": Outcome.FAIL,
                                  "created::inside::chat::gpt-4o": Outcome.PASS}
    assert targets.proxies[0].alive() == []  # what was created though refusal was expected is torn down too

    diverged, _ = run(world.replace("admin: refused", "admin: accepted"), failures=refused)
    by_id = {v.check_id: v for v in diverged.verdicts}
    assert by_id["created::create-key-outside::admin"].outcome is Outcome.FAIL
    assert by_id["created::inside::chat::gpt-4o"].outcome is Outcome.SKIP
