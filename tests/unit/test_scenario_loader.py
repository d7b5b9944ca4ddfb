"""The scenario language as a user meets it: what loads, and what a mistake looks like."""

from __future__ import annotations

import textwrap
import time
from pathlib import Path

import pytest
import yaml

from harness.scenario.loader import ScenarioError, load_scenario, load_scenarios, parse_scenario
from harness.scenario.schema import scenario_json_schema

REPO = Path(__file__).resolve().parents[2]
LIBRARY = REPO / "scenarios"
SEED = LIBRARY / "litellm" / "issue-23850-access-group-limits-service-key.yaml"

# A small valid scenario; tests change one thing in it. Line numbers matter: see the comments.
VALID = """\
id: demo
title: Demo
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
    access_groups: [limited]
expect:
  svc:
    lists: [gpt-4o-mini]
    can_call: [gpt-4o-mini]
    cannot_call: [gpt-4o, claude-sonnet]
"""


def write(tmp_path: Path, text: str, name: str = "x.yaml") -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def problems_of(path: Path) -> list[str]:
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    return [str(p) for p in caught.value.problems]


# --------------------------------------------------------------------------- what loads


def test_seed_loads_with_its_world_and_expectations():
    scenario = load_scenario(SEED)

    assert scenario.id == "litellm-23850-access-group-limits-service-key"
    assert scenario.issue == "https://github.com/BerriAI/litellm/issues/23850"
    assert scenario.model_names == ["gpt-4o", "gpt-4o-mini", "claude-sonnet"]
    assert [(g.name, g.models) for g in scenario.access_groups] == [("limited", ["gpt-4o-mini"])]
    # `models: all-proxy-models` is shorthand for a one-entry list
    assert scenario.teams[0].models == ["all-proxy-models"]
    svc = scenario.keys[0]
    assert (svc.name, svc.team, svc.service_account, svc.models, svc.access_groups) == (
        "svc", "platform", True, None, ["limited"],  # `models` left out (not `[]`)
    )
    assert scenario.expect["svc"].lists == ["gpt-4o-mini"]
    assert scenario.expect["svc"].denied == ["gpt-4o", "claude-sonnet"]
    assert "control" in scenario.expect


def test_loaded_scenario_keeps_its_source_for_reports():
    scenario = load_scenario(SEED)

    assert scenario.path == SEED
    assert scenario.source_text == SEED.read_text()
    line = scenario.line_of("expect", "svc", "cannot_call", 0)
    assert "cannot_call: [gpt-4o, claude-sonnet]" in SEED.read_text().splitlines()[line - 1]


def test_model_specs_carry_config_access_groups(tmp_path):
    pytest.importorskip("harness.targets.upstream", reason="targets package not complete yet")
    text = VALID.replace(
        "models: [gpt-4o, gpt-4o-mini, claude-sonnet]",
        "models: [gpt-4o, {name: gpt-4o-mini, access_groups: [cheap]}, claude-sonnet]",
    )
    specs = load_scenario(write(tmp_path, text)).model_specs()

    assert [(s.name, s.access_groups) for s in specs] == [
        ("gpt-4o", ()), ("gpt-4o-mini", ("cheap",)), ("claude-sonnet", ()),
    ]


def test_whole_library_loads_with_unique_ids():
    scenarios = load_scenarios([LIBRARY])

    assert len(scenarios) >= 4
    assert len({s.id for s in scenarios}) == len(scenarios)
    assert SEED in [s.path for s in scenarios]


def test_directories_are_searched_recursively_in_sorted_order(tmp_path):
    write(tmp_path, VALID.replace("id: demo", "id: b"), "b/two.yml")
    write(tmp_path, VALID.replace("id: demo", "id: a"), "a/one.yaml")
    write(tmp_path, "not a scenario", "a/notes.txt")

    assert [s.id for s in load_scenarios(tmp_path)] == ["a", "b"]


def test_loading_is_fast():
    load_scenario(SEED)  # import and pydantic warm-up are not per-file costs
    started = time.perf_counter()
    for _ in range(10):
        load_scenario(SEED)
    assert (time.perf_counter() - started) / 10 < 0.05


# --------------------------------------------------------------------------- what a mistake looks like


def test_yaml_syntax_error_names_the_line(tmp_path):
    path = write(tmp_path, VALID.replace("  svc:\n", "  svc\n"))

    [problem] = problems_of(path)
    # the wording after "not allowed" differs between PyYAML's C and pure-Python parsers
    assert problem.startswith(f"{path}:16: invalid YAML: mapping values are not allowed")


def test_unknown_field_suggests_the_closest_one(tmp_path):
    path = write(tmp_path, VALID.replace("    team: platform", "    tema: platform"))

    assert problems_of(path) == [f"{path}:12: keys[0].tema: unknown field 'tema' (did you mean 'team'?)"]


def test_unknown_field_without_a_close_match_lists_the_valid_ones(tmp_path):
    path = write(tmp_path, VALID.replace("id: demo", "id: demo\nowner: me"))

    [problem] = problems_of(path)
    assert problem.startswith(f"{path}:2: owner: unknown field 'owner' (valid fields: id, title, issue,")


@pytest.mark.parametrize("field", ["end_users", "model_aliases", "proxy_settings", "budgets"])
def test_a_field_the_language_lacks_gets_the_valid_fields_not_a_guess(tmp_path, field):
    path = write(tmp_path, VALID.replace("id: demo", f"id: demo\n{field}: []"))

    assert problems_of(path) == [
        f"{path}:2: {field}: unknown field '{field}' (valid fields: id, title, issue, description, not_expressed, "
        "proxy, models, not_served, organizations, access_groups, teams, users, keys, expect, steps, sweep, oracle)"
    ]


@pytest.mark.parametrize(
    ("written", "meant", "line", "where"),
    [
        ("tems:", "teams", 7, "tems"),
        ("acess_groups:", "access_groups", 4, "acess_groups"),
        ("    servce_account: true\n    team:", "service_account", 12, "keys[0].servce_account"),
        ("    acess_groups: [limited]", "access_groups", 13, "keys[0].acess_groups"),
    ],
)
def test_a_misspelt_field_gets_the_field_it_is_close_to(tmp_path, written, meant, line, where):
    original = {"tems:": "teams:", "acess_groups:": "access_groups:",
                "    servce_account: true\n    team:": "    team:",
                "    acess_groups: [limited]": "    access_groups: [limited]"}[written]
    path = write(tmp_path, VALID.replace(original, written, 1))

    problems = problems_of(path)
    assert f"{path}:{line}: {where}: unknown field '{where.split('.')[-1]}' (did you mean '{meant}'?)" in problems


def test_unknown_team_suggests_the_closest_one(tmp_path):
    path = write(tmp_path, VALID.replace("    team: platform", "    team: platfrom"))

    assert problems_of(path) == [
        f"{path}:12: keys[0].team: unknown team 'platfrom' (did you mean 'platform'?)"
    ]


def test_wrong_type_says_what_was_expected_and_found(tmp_path):
    path = write(tmp_path, VALID.replace("    access_groups: [limited]", "    access_groups: limited"))

    assert problems_of(path) == [
        f"{path}:13: keys[0].access_groups: expected a list, got a string ('limited')"
    ]


def test_yaml_number_where_a_name_belongs_suggests_quotes(tmp_path):
    path = write(tmp_path, VALID.replace("    team: platform", "    team: 1.5"))

    assert problems_of(path) == [
        f"{path}:12: keys[0].team: expected a string, got a number (1.5) (put it in quotes to make it a name)"
    ]


def test_missing_required_field(tmp_path):
    path = write(tmp_path, VALID.replace("title: Demo\n", ""))

    assert problems_of(path) == [f"{path}:1: title: missing required field 'title'"]


def test_duplicate_names(tmp_path):
    path = write(tmp_path, VALID.replace(
        "    access_groups: [limited]\n",
        "    access_groups: [limited]\n  - name: svc\n    team: platform\n",
    ))

    assert problems_of(path) == [f"{path}:14: keys[1].name: duplicate key name 'svc' (first at line 11)"]


def test_duplicate_yaml_mapping_key_is_not_silently_dropped(tmp_path):
    path = write(tmp_path, VALID + "  svc:\n    can_call: [gpt-4o]\n")

    assert problems_of(path) == [
        f"{path}:19: expect.svc: duplicate key 'svc' (first at line 15); YAML keeps only this one"
    ]


def test_undeclared_model_in_expectations(tmp_path):
    path = write(tmp_path, VALID.replace("cannot_call: [gpt-4o, claude-sonnet]", "cannot_call: [gpt-4o, claude-sonet]"))

    assert problems_of(path) == [
        f"{path}:18: expect.svc.cannot_call[1]: unknown model 'claude-sonet' (did you mean 'claude-sonnet'?)"
    ]


def test_expectation_for_unknown_key(tmp_path):
    path = write(tmp_path, VALID.replace("  svc:\n    lists", "  svx:\n    lists"))

    assert problems_of(path) == [f"{path}:15: expect.svx: unknown key 'svx' (did you mean 'svc'?)"]


def test_model_both_allowed_and_denied(tmp_path):
    path = write(tmp_path, VALID.replace("can_call: [gpt-4o-mini]", "can_call: [gpt-4o-mini, gpt-4o]"))

    assert problems_of(path) == [
        f"{path}:18: expect.svc.cannot_call[0]: 'gpt-4o' is in both can_call and cannot_call"
    ]


def test_access_group_where_a_model_is_expected(tmp_path):
    path = write(tmp_path, VALID.replace("lists: [gpt-4o-mini]", "lists: [limited]"))

    assert problems_of(path) == [
        f"{path}:16: expect.svc.lists[0]: 'limited' is an access group, not a model: list the models it grants"
    ]


def test_all_team_models_on_a_key_without_team_is_a_valid_scenario(tmp_path):
    # LiteLLM documents that it then matches nothing (every call denied): a rule worth checking.
    path = write(tmp_path, VALID.replace("    team: platform\n", "    models: all-team-models\n"))

    scenario = load_scenario(path)
    assert scenario.keys[0].team is None and scenario.keys[0].models == ["all-team-models"]


def test_a_special_name_is_accepted_wherever_the_gateways_admin_api_accepts_it(tmp_path):
    # LiteLLM's /team/new takes `all-team-models` as any other entry: what it then means is for a
    # scenario to observe, not for the language to forbid (no stricter rule than the proxy's)
    path = write(tmp_path, VALID.replace("    models: all-proxy-models", "    models: [all-team-models]"))

    assert load_scenario(path).teams[0].models == ["all-team-models"]


def test_entity_access_group_put_in_models_is_explained(tmp_path):
    path = write(tmp_path, VALID.replace("    access_groups: [limited]", "    models: [limited]"))

    assert problems_of(path) == [
        f"{path}:13: keys[0].models[0]: 'limited' is an access-group entity: attach it with "
        "`access_groups: [limited]`, not in `models`"
    ]


def test_service_account_needs_a_team(tmp_path):
    path = write(tmp_path, VALID.replace("    team: platform\n", "    service_account: true\n"))

    assert problems_of(path) == [
        f"{path}:12: keys[0].service_account: a service-account key belongs to a team: set `team`"
    ]


def test_single_model_name_is_not_a_list(tmp_path):
    path = write(tmp_path, VALID.replace("    models: all-proxy-models", "    models: gpt-4o"))

    [problem] = problems_of(path)
    assert problem.startswith(f"{path}:9: teams[0].models: expected a list of model names, e.g. [gpt-4o]")


def test_all_problems_in_a_file_are_reported_together(tmp_path):
    path = write(tmp_path, VALID.replace("    team: platform", "    tema: platfrom").replace(
        "    models: [gpt-4o-mini]", "    models: [gpt-4o-mni]").replace(
        "can_call: [gpt-4o-mini]", "can_call: [gpt4o-mini]"))

    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)

    error = caught.value
    assert [(p.line, p.field) for p in error.problems] == [
        (6, "access_groups[0].models[0]"),
        (12, "keys[0].tema"),
        (17, "expect.svc.can_call[0]"),
    ]
    # str() lists every problem, one `file:line: field: message` per line
    assert str(error).splitlines() == [str(p) for p in error.problems]
    # the first problem is also available directly
    assert (error.path, error.line, error.field) == (str(path), 6, "access_groups[0].models[0]")
    assert error.message == "unknown model 'gpt-4o-mni' (did you mean 'gpt-4o-mini'?)"


def test_problems_of_all_files_are_reported_together(tmp_path):
    write(tmp_path, VALID, "a.yaml")
    write(tmp_path, VALID, "b.yaml")  # same id
    bad = write(tmp_path, "id: [", "c.yaml")

    with pytest.raises(ScenarioError) as caught:
        load_scenarios([tmp_path, tmp_path / "missing.yaml"])

    lines = str(caught.value).splitlines()
    assert lines[0] == f"{tmp_path / 'missing.yaml'}: no such file or directory"
    assert lines[1] == f"{tmp_path / 'b.yaml'}:1: id: duplicate scenario id 'demo' (also in {tmp_path / 'a.yaml'}:1)"
    assert lines[2].startswith(f"{bad}:") and "invalid YAML: " in lines[2]


def test_empty_file_and_non_mapping(tmp_path):
    empty = write(tmp_path, "# only a comment\n", "empty.yaml")
    listed = write(tmp_path, "- a\n- b\n", "list.yaml")

    assert problems_of(empty) == [f"{empty}: empty file: a scenario needs at least id, title, models and expect"]
    assert problems_of(listed) == [f"{listed}:1: a scenario is a mapping of fields, got a list"]


# --------------------------------------------------------------------------- JSON Schema


def test_json_schema_describes_and_accepts_the_library():
    schema = scenario_json_schema()

    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] and schema["title"]
    assert schema["properties"]["keys"]["description"]
    jsonschema = pytest.importorskip("jsonschema")
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    for path in sorted(LIBRARY.rglob("*.yaml")):
        assert list(validator.iter_errors(yaml.safe_load(path.read_text()))) == [], path
    assert list(validator.iter_errors({**yaml.safe_load(SEED.read_text()), "tema": "x"}))


def test_parse_scenario_accepts_text():
    scenario = parse_scenario(VALID, "inline.yaml")

    assert scenario.id == "demo"
    assert str(scenario.path) == "inline.yaml"
