"""The scenario language's timeline, proxy configuration, wider world and sharper expectations:
what a file may say, which checks it writes (and their ids), and the file:line error for each new
form written wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.engine.grouping import group_by_models, proxy_group
from harness.model.check import Expect, Judgement
from harness.oracle.explicit import checks_for, expectation_path
from harness.scenario.loader import ScenarioError, load_scenario, parse_scenario
from harness.scenario.schema import scenario_json_schema

TIMELINE = """\
id: timeline
title: a key moved between teams
proxy:
  general_settings: {user_api_key_cache_ttl: 1}
  environment: {DEFAULT_MANAGEMENT_OBJECT_IN_MEMORY_CACHE_TTL: "1"}
models: [gpt-4o, gpt-4o-mini]
teams:
  - {name: a, models: [gpt-4o]}
  - {name: b, models: [gpt-4o-mini]}
keys:
  - {name: k, team: a}
steps:
  - round: before
    expect:
      k: {can_call: [gpt-4o], cannot_call: [gpt-4o-mini]}
  - update: {key: k, team: b}
  - wait: cache_ttl
  - round: after
    expect:
      k: {can_call: [gpt-4o-mini]}
  - delete: {team: b}
    admin: accepted
  - block: {key: k}
    id: block-again
  - wait: 500ms
  - expect:
      k: {cannot_call: [gpt-4o-mini]}
"""

WORLD = """\
id: world
title: the whole world
not_expressed: [the reporter's UI clicks]
models:
  - gpt-4o
  - {name: claude, deployments: [{id: east}, {id: west, model: anthropic/claude-3-5}], aliases: [sonnet]}
  - "openai/*"
  - {name: team-gpt, team: apps}
not_served: [gpt-5]
organizations:
  - {name: acme, models: [gpt-4o]}
access_groups:
  - {name: grp, models: [gpt-4o], teams: [apps], keys: [svc]}
teams:
  - {name: apps, models: [gpt-4o, claude], model_aliases: {fast: gpt-4o}, blocked: true, organization: acme}
users:
  - {name: bob, models: [gpt-4o], teams: [{team: apps, role: admin}], role: internal_user, key: bob-key}
keys:
  - {name: svc, team: apps, models: [], aliases: {mine: claude}}
  - {name: made, team: apps, made_by: bob-key}
  - {name: outside, team: apps, models: [gpt-5], admin: refused}
expect:
  svc:
    lists: [gpt-4o]
    listing: {includes: [gpt-4o], excludes: [claude], no_wildcards: true, no_special_names: true, no_duplicates: true}
    can_call: [{model: claude, served_by: [east]}, sonnet, openai/gpt-4.1, mine, fast]
    cannot_call: [{model: gpt-5, status: 403, error_type: key_model_access_denied, message: "not allowed"}]
    may_call: [{model: team-gpt, served_by: [team-gpt], because: the docs leave it open}]
  bob-key:
    can_call: [gpt-4o]
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "x.yaml"
    path.write_text(text)
    return path


def problems_of(path: Path) -> list[str]:
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    return [str(p) for p in caught.value.problems]


# --------------------------------------------------------------------------- checks and their ids


def test_a_timeline_writes_checks_per_round_with_the_round_in_the_principal_segment() -> None:
    checks = checks_for(parse_scenario(TIMELINE))

    assert [c.id for c in checks] == [
        "timeline::k@before::chat::gpt-4o",
        "timeline::k@before::chat::gpt-4o-mini",
        "timeline::update-key-k::admin",
        "timeline::k@after::chat::gpt-4o-mini",
        "timeline::delete-team-b::admin",
        "timeline::block-again::admin",
        "timeline::k@3::chat::gpt-4o-mini",  # an unnamed round is named by its number
    ]
    assert [c.title for c in checks][:3] == [
        "k can call gpt-4o (round before)", "k cannot call gpt-4o-mini (round before)",
        "update-key-k is accepted by the admin API"]
    assert {c.judgement for c in checks} == {Judgement.CALL, Judgement.ADMIN}


def test_a_timeline_with_one_round_keeps_the_ids_of_a_scenario_written_with_expect() -> None:
    one_round = TIMELINE[:TIMELINE.index("  - update:")]
    written_with_expect = (
        TIMELINE[:TIMELINE.index("steps:")] + "expect:\n  k: {can_call: [gpt-4o], cannot_call: [gpt-4o-mini]}\n")

    assert [c.id for c in checks_for(parse_scenario(one_round))] == [
        c.id for c in checks_for(parse_scenario(written_with_expect))] == [
        "timeline::k::chat::gpt-4o", "timeline::k::chat::gpt-4o-mini"]


def test_each_check_points_at_the_line_it_is_written_on() -> None:
    scenario = parse_scenario(TIMELINE)
    lines = {c.id: scenario.line_of(*expectation_path(scenario, c)) for c in checks_for(scenario)}

    assert lines["timeline::k@before::chat::gpt-4o-mini"] == 15
    assert lines["timeline::update-key-k::admin"] == 16
    assert lines["timeline::k@3::chat::gpt-4o-mini"] == 27


def test_the_whole_world_loads_and_writes_its_sharper_checks() -> None:
    scenario = parse_scenario(WORLD)
    checks = {c.id: c for c in checks_for(scenario)}

    refused = checks["world::create-key-outside::admin"]
    assert (refused.expect, refused.judgement) == (Expect.REFUSED, Judgement.ADMIN)
    listing = checks["world::svc::list_models"]
    assert listing.listed == {"gpt-4o"} and listing.includes == {"gpt-4o"}
    assert listing.excludes == {"claude", "all-proxy-models", "all-team-models", "no-default-models"}
    assert listing.no_wildcards and listing.no_duplicates
    claude = checks["world::svc::chat::claude"]
    assert (claude.served_by, claude.deployments) == ({"east"}, {"east", "west"})
    # an alias, a wildcard's match and a team or key alias are served by their targets' deployments
    assert checks["world::svc::chat::sonnet"].deployments == {"east", "west"}
    assert checks["world::svc::chat::openai/gpt-4.1"].deployments == {"openai/*"}
    assert checks["world::svc::chat::mine"].deployments == {"east", "west"}
    assert checks["world::svc::chat::fast"].deployments == {"gpt-4o"}
    denied = checks["world::svc::chat::gpt-5"]
    assert (denied.deployments, denied.denial_status, denied.denial_type, denied.denial_message) == (
        frozenset(), 403, "key_model_access_denied", "not allowed")
    assert denied.title == "svc cannot call gpt-5 (HTTP 403, key_model_access_denied, message ~ /not allowed/)"
    either = checks["world::svc::chat::team-gpt"]
    assert (either.expect, either.because) == (Expect.EITHER, "the docs leave it open")
    assert "world::bob-key::chat::gpt-4o" in checks  # the key /user/new makes is a principal
    assert scenario.not_expressed == ["the reporter's UI clicks"]


def test_a_plain_models_check_carries_none_of_the_new_fields() -> None:
    plain = next(c for c in checks_for(parse_scenario(WORLD)) if c.model == "gpt-4o")
    assert (plain.deployments, plain.served_by, plain.round, plain.denial_status) == (None, None, None, None)


# --------------------------------------------------------------------------- proxy identity


def test_scenarios_with_other_settings_never_share_a_proxy() -> None:
    first = parse_scenario(TIMELINE)
    same = parse_scenario(TIMELINE.replace("id: timeline", "id: same"))
    other = parse_scenario(TIMELINE.replace("id: timeline", "id: other").replace("ttl: 1}", "ttl: 2}"))
    no_settings = parse_scenario(TIMELINE.replace("id: timeline", "id: plain")
                                 .replace(TIMELINE[TIMELINE.index("proxy:"):TIMELINE.index("models:")], ""))

    assert [[s.id for s in group] for group in group_by_models([first, other, same, no_settings])] == [
        ["timeline", "same"], ["other"], ["plain"]]
    assert proxy_group(first) == proxy_group(same) != proxy_group(other)
    assert no_settings.proxy_spec().settings.empty


def test_a_team_only_model_is_not_in_the_proxy_config_but_makes_it_accept_admin_models() -> None:
    spec = parse_scenario(WORLD).proxy_spec()
    assert [m.name for m in spec.models] == ["gpt-4o", "claude", "openai/*"]
    assert spec.settings.admin_models


# --------------------------------------------------------------------------- file:line errors


@pytest.mark.parametrize(("change", "problem"), [
    ("  - wait: cache_ttl\n", None),
    ("  - wiat: 1s\n", "7: steps[1]: a step needs exactly one of: expect, wait, update, delete, block, unblock, "
                       "regenerate, add_member, remove_member, remove_row"),
    ("  - {wait: 1s, block: {key: k}}\n", "7: steps[1]: a step needs exactly one of"),
    ("  - wait: 5 minutes\n", "7: steps[1].wait: invalid wait '5 minutes': write a duration (`12s`, `500ms`) or `cache_ttl`"),
    ("  - wait: 601s\n", "7: steps[1].wait: a wait lasts more than 0 s and at most 600 s"),
    ("  - update: {key: kk, team: a}\n", "7: steps[1].update.key: unknown key 'kk' (did you mean 'k'?)"),
    ("  - update: {key: k, teams: [a]}\n", "7: steps[1].update.teams: a key update sets team, user, models, "
                                           "access_groups, aliases, not teams"),
    ("  - update: {key: k}\n", "7: steps[1].update: nothing to change: give one of team, user, models"),
    ("  - update: {key: k, team: c}\n", "7: steps[1].update.team: unknown team 'c' (did you mean 'a'?)"),
    ("  - block: {user: u}\n", "7: steps[1].block.user: this step applies to key, team, not to a user"),
    ("  - block: {team: a, key: k}\n", "7: steps[1].block: name exactly one of: key, team"),
    ("  - regenerate: {key: k, old: k}\n", "7: steps[1].regenerate.old: 'k' is already a key's name"),
    ("  - {delete: {team: a}, id: x}\n  - {delete: {team: b}, id: x}\n", "8: steps[2].id: duplicate change id 'x'"),
    ("  - delete: {team: a}\n  - delete: {team: a}\n", None),  # the second is delete-team-a-2,
    ("  - expect: {k: {can_call: [gpt-4o]}}\n    round: '1'\n", "8: steps[1].round: duplicate round name '1' (first at line 6)"),
    ("  - remove_row: {access_group: g}\n", "7: steps[1].remove_row.access_group: this step applies to key, team, "
                                            "user, not to a access group"),
])
def test_each_step_written_wrong_is_reported_at_its_line(tmp_path: Path, change: str, problem: str | None) -> None:
    path = write(tmp_path, "id: t\ntitle: t\nmodels: [gpt-4o]\nteams: [{name: a}, {name: b}]\nsteps:\n"
                           "  - expect: {k: {can_call: [gpt-4o]}}\n" + change + "keys: [{name: k, team: a}]\n")
    if problem is None:
        load_scenario(path)
        return
    found = problems_of(path)
    assert any(p.startswith(f"{path}:{problem}") for p in found), found


@pytest.mark.parametrize(("replace", "by", "problem"), [
    ("  general_settings:", "  genral_settings:",
     "4: proxy.genral_settings: unknown field 'genral_settings' (did you mean 'general_settings'?)"),
    ("{user_api_key_cache_ttl: 1}", "{master_key: sk-x}",
     "4: proxy.general_settings.master_key: 'master_key' is set by the harness for every proxy"),
    ("{DEFAULT_MANAGEMENT_OBJECT_IN_MEMORY_CACHE_TTL: \"1\"}", "{DATABASE_URL: x}",
     "5: proxy.environment.DATABASE_URL: 'DATABASE_URL' is set by the harness for every proxy"),
    ("{DEFAULT_MANAGEMENT_OBJECT_IN_MEMORY_CACHE_TTL: \"1\"}", "{DEFAULT_X: 1}",
     "5: proxy.environment.DEFAULT_X: expected a string, got a number (1) (put it in quotes to make it a name)"),
    ("  general_settings: {user_api_key_cache_ttl: 1}", "  general_settings: 3",
     "4: proxy.general_settings: expected a mapping, got a number (3)"),
    ("  - wait: cache_ttl\n", "",  None),
    ("steps:", "expect: {k: {can_call: [gpt-4o]}}\nsteps:",
     "13: steps: give either `expect` (one round) or `steps` (a timeline), not both"),
])
def test_each_proxy_setting_written_wrong_is_reported_at_its_line(tmp_path: Path, replace: str, by: str,
                                                                    problem: str | None) -> None:
    assert replace in TIMELINE
    path = write(tmp_path, TIMELINE.replace(replace, by, 1))
    if problem is None:
        load_scenario(path)
        return
    assert f"{path}:{problem}" in problems_of(path)


@pytest.mark.parametrize(("replace", "by", "problem"), [
    ("served_by: [east]", "served_by: [eats]", "26: expect.svc.can_call[0].served_by[0]: unknown deployment 'eats' (did you mean 'east'?)"),
    ('message: "not allowed"', 'message: "not ("',
     "27: expect.svc.cannot_call[0].message: not a regular expression: missing ), unterminated subpattern"),
    ("not_served: [gpt-5]\n", "", "20: keys[2].models[0]: unknown model or access group 'gpt-5'"),
    ("made_by: bob-key", "made_by: outside", "20: keys[1].made_by: unknown key 'outside' (declare it before this key)"),
    ("aliases: {mine: claude}", "aliases: {mine: cluade}",
     "19: keys[0].aliases.mine: alias 'mine' points at unknown model 'cluade' (did you mean 'claude'?)"),
    ("{name: team-gpt, team: apps}", "{name: team-gpt, team: ops}", "8: models[3].team: unknown team 'ops'"),
    ("- gpt-4o\n", "- {name: gpt-4o, admin: refused}\n",
     "5: models[0].admin: only a team-only model (`team:`) is created through the admin API"),
    ("{id: west, model", "{id: east, model",
     "6: models[1].deployments[1].id: deployment 'east' is also a deployment of 'claude'"),
    ("teams: [apps], keys: [svc]", "teams: [apps], keys: [svc, outside]",
     "13: access_groups[0].keys[1]: key 'outside' is expected to be refused: nothing can belong to it"),
    ("  bob-key:\n", "  outside:\n", "29: expect.outside: key 'outside' is expected to be refused"),
    ("may_call: [{model: team-gpt, served_by: [team-gpt], because: the docs leave it open}]",
     "may_call: [{model: team-gpt, served_by: [team-gpt]}]", "28: expect.svc.may_call[0].because: missing required field 'because'"),
    ("listing: {includes: [gpt-4o], excludes: [claude]", "listing: {includes: [gpt-4o], excludes: [gpt-4o]",
     "25: expect.svc.listing.excludes[0]: 'gpt-4o' is both included and excluded"),
    ("can_call: [{model: claude", "can_call: [{model: openai/*",
     "26: expect.svc.can_call[0].model: invalid model name 'openai/*': no spaces, no '*' (a wildcard is not a name a key calls"),
])
def test_each_new_world_and_expectation_form_written_wrong_is_reported_at_its_line(
        tmp_path: Path, replace: str, by: str, problem: str) -> None:
    assert replace in WORLD
    path = write(tmp_path, WORLD.replace(replace, by, 1))
    found = problems_of(path)
    assert any(p.startswith(f"{path}:{problem}") for p in found), found


def test_a_name_meant_to_be_unserved_is_marked_so_and_a_typo_still_fails(tmp_path: Path) -> None:
    typo = write(tmp_path, WORLD.replace("models: [gpt-5], admin: refused", "models: [gpt-6], admin: refused"))
    assert problems_of(typo) == [f"{typo}:21: keys[2].models[0]: unknown model or access group 'gpt-6' "
                                 "(did you mean 'gpt-5'?)"]
    served = write(tmp_path, WORLD.replace("not_served: [gpt-5]", "not_served: [gpt-4o]"))
    assert f"{served}:9: not_served[0]: 'gpt-4o' is served by the proxy: remove it from not_served" in problems_of(served)


# --------------------------------------------------------------------------- schema


def test_the_json_schema_describes_and_accepts_the_new_forms() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    schema = scenario_json_schema()
    validator = jsonschema.Draft202012Validator(schema)
    import yaml

    for text in (TIMELINE, WORLD):
        assert list(validator.iter_errors(yaml.safe_load(text))) == []
    proxy = schema["$defs"]["ProxyDecl"]
    assert set(proxy["properties"]) == {"environment", "general_settings", "litellm_settings", "router_settings"}
    assert proxy["additionalProperties"] is False
    wrong = yaml.safe_load(TIMELINE.replace("general_settings", "genral_settings"))
    assert list(validator.iter_errors(wrong))
    assert {"steps", "not_served", "organizations", "not_expressed", "proxy"} <= set(schema["properties"])
