"""Load scenario files, with every problem reported as `file:line: field: message`.

Three passes, each collecting all of its problems before anything is raised (up to
`MAX_PROBLEMS` per file):
1. YAML: syntax errors (with their line) and duplicate mapping keys, which PyYAML would
   otherwise silently resolve to the last value. The file is read within the limits of
   `harness.scenario.bounded_yaml` (size, nesting, aliases expanded), so a hostile one is refused at once.
2. Shape: the pydantic model (types, required and unknown fields, name syntax, world sizes).
3. Meaning: references between names, duplicate names, special names used where LiteLLM
   does not accept them, expectations about models the scenario never declares.
Pass 3 needs a well-shaped scenario, so it runs only when pass 2 found nothing.
Loading reads files and nothing else: no process, no network.
"""

from __future__ import annotations

import copy
import types
import typing
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import yaml
from pydantic import BaseModel, ValidationError

from harness.scenario import bounded_yaml
from harness.model.problems import FileProblem
from harness.model.scenario import (
    ALL_TEAM_MODELS,
    KEY_SPECIAL_NAMES,
    MAX_ACCESS_GROUPS,
    MODEL_NAME_PATTERN,
    MODEL_REF_PATTERN,
    NAME_PATTERN,
    NO_DEFAULT_MODELS,
    SLUG_PATTERN,
    SPECIAL_MODEL_NAMES,
    TEAM_SPECIAL_NAMES,
    URL_PATTERN,
    USER_SPECIAL_NAMES,
    Scenario,
)
from harness.common.spelling import did_you_mean

SCENARIO_SUFFIXES = (".yaml", ".yml")

Loc = tuple[str | int, ...]
#: Problems reported per file at most. Past a few dozen they are mostly one mistake repeated,
#: and stopping there keeps a hostile file (thousands of bad entries) fast to refuse.
MAX_PROBLEMS = 50


class ScenarioProblem(FileProblem):
    """One problem in one scenario file."""


class ScenarioError(Exception):
    """One or more problems in scenario files; nothing should start when this is raised.

    `problems` lists them all (sorted by file, then line); `path`, `line`, `field` and
    `message` are those of the first, for callers that show one. `str()` is one
    `file:line: field: message` line per problem.
    """

    def __init__(self, problems: Sequence[ScenarioProblem]):
        if not problems:
            raise ValueError("ScenarioError needs at least one problem")
        self.problems: list[ScenarioProblem] = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))

    @property
    def path(self) -> str:
        return self.problems[0].path

    @property
    def line(self) -> int | None:
        return self.problems[0].line

    @property
    def field(self) -> str | None:
        return self.problems[0].field

    @property
    def message(self) -> str:
        return self.problems[0].message


# --------------------------------------------------------------------------- public API


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate one scenario file; raise `ScenarioError` listing every problem."""
    path_text = str(path)
    try:
        text = bounded_yaml.read_text(path)
    except bounded_yaml.YamlLimitError as exc:
        raise ScenarioError([ScenarioProblem(path_text, exc.line, None, exc.message)]) from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ScenarioError([ScenarioProblem(path_text, None, None, f"cannot read: {reason}")]) from None
    return parse_scenario(text, path)


def parse_scenario(text: str, path: str | Path = "<string>") -> Scenario:
    """Validate scenario YAML given as text; `path` is only used in messages and `scenario.path`."""
    path_text = str(path)
    problems: list[ScenarioProblem] = []

    def report(line: int | None, field: str | None, message: str) -> None:
        if len(problems) == MAX_PROBLEMS:
            raise _EnoughProblems
        problems.append(ScenarioProblem(path_text, line, field, message))

    try:
        checked = _check(text, report)
    except _EnoughProblems:
        stop = ScenarioProblem(path_text, None, None,
                               f"stopped after {MAX_PROBLEMS} problems: fix these and check again")
        raise ScenarioError(sorted(problems, key=lambda p: (p.line or 0)) + [stop]) from None
    if problems or checked is None:
        raise ScenarioError(sorted(problems, key=lambda p: (p.line or 0)))
    scenario, lines = checked
    scenario._path = Path(path)
    scenario._source_text = text
    scenario._lines = lines.lines
    return scenario


class _EnoughProblems(Exception):
    """A file reached `MAX_PROBLEMS`: stop looking for more."""


def _check(text: str, report: Any) -> tuple[Scenario, _Lines] | None:
    """The three passes; every problem goes to `report`. None when the YAML is unusable."""
    data, lines = _parse_yaml(text, report)
    if data is None:
        return None

    scenario: Scenario | None = None
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        seen: set[Loc] = set()
        for err in exc.errors():
            loc = tuple(part for part in err["loc"] if part != "[key]")
            if loc in seen:  # one problem per place; unions can report the same spot twice
                continue
            seen.add(loc)
            report(lines.line_of(loc), _format_loc(_as_written(data, loc)), _shape_message(err, loc))
        # Unknown fields are the most common slip (a typo); without them the scenario may still
        # be well-shaped, and then its reference problems can be reported in the same run.
        scenario = _validate_without_unknown_fields(data, exc)
        if scenario is None:
            return None

    def add(loc: Loc, message: str) -> None:
        report(lines.line_of(loc), _format_loc(_as_written(data, loc)), message)

    _meaning_problems(scenario, lines, add)
    return scenario, lines


def load_scenarios(paths: str | Path | Iterable[str | Path]) -> list[Scenario]:
    """Load scenario files and directories (searched recursively for `*.yaml`/`*.yml`, sorted).

    Every file is validated before anything is raised, so one `ScenarioError` lists the
    problems of all files. Scenario ids must be unique across the files loaded together.
    """
    if isinstance(paths, (str, Path)):
        paths = [paths]
    files: list[Path] = []
    problems: list[ScenarioProblem] = []
    for given in paths:
        given = Path(given)
        if given.is_dir():
            found = sorted(
                (p for p in given.rglob("*") if p.suffix in SCENARIO_SUFFIXES and p.is_file()),
                key=lambda p: p.relative_to(given).as_posix(),
            )
            if not found:
                problems.append(
                    ScenarioProblem(str(given), None, None, "no *.yaml or *.yml scenario files here")
                )
            files.extend(found)
        elif given.is_file():
            files.append(given)
        else:
            problems.append(ScenarioProblem(str(given), None, None, "no such file or directory"))

    scenarios: list[Scenario] = []
    loaded: set[Path] = set()
    first_by_id: dict[str, Scenario] = {}
    for file in files:
        if file.resolve() in loaded:  # named twice, e.g. a file inside a directory also given
            continue
        loaded.add(file.resolve())
        try:
            scenario = load_scenario(file)
        except ScenarioError as exc:
            problems.extend(exc.problems)
            continue
        first = first_by_id.get(scenario.id)
        if first is not None:
            problems.append(
                ScenarioProblem(
                    str(file),
                    scenario.line_of("id"),
                    "id",
                    f"duplicate scenario id '{scenario.id}' (also in {first.path}:{first.line_of('id')})",
                )
            )
            continue
        first_by_id[scenario.id] = scenario
        scenarios.append(scenario)
    if problems:
        raise ScenarioError(problems)
    return scenarios


# --------------------------------------------------------------------------- pass 1: YAML


def _validate_without_unknown_fields(data: dict, exc: ValidationError) -> Scenario | None:
    errors = exc.errors()
    if any(err["type"] != "extra_forbidden" for err in errors):
        return None
    pruned = copy.deepcopy(data)
    for err in errors:
        parent: Any = pruned
        for part in err["loc"][:-1]:
            parent = parent[part]
        parent.pop(err["loc"][-1], None)
    try:
        return Scenario.model_validate(pruned)
    except ValidationError:
        return None


def _as_written(data: Any, loc: Loc) -> Loc:
    """`loc` cut where the file holds a plain value: `models[2]`, not `models[2].name`,
    when the model was written as a bare name (shorthands are normalised by the model)."""
    node = data
    for depth, part in enumerate(loc):
        if isinstance(node, dict):
            if part not in node:
                return loc  # a missing field: name it in full
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
        else:
            return loc[:depth] or loc
    return loc


class _Lines:
    """Field path → 1-based line, from the YAML node tree.

    A mapping entry's line is its key's line (where a reader looks for `team:`); a list
    item's is where the item starts. Mapping keys are stored as written (strings).
    """

    def __init__(self) -> None:
        self.lines: dict[Loc, int] = {}

    def _deepest(self, loc: Loc) -> Loc:
        found: Loc = ()
        for part in loc:
            for candidate in (found + (part,), found + (str(part),)):
                if candidate in self.lines:
                    found = candidate
                    break
            else:
                break
        return found

    def line_of(self, loc: Loc) -> int | None:
        """Line of `loc`, or of its nearest enclosing node when `loc` is not in the file."""
        return self.lines.get(self._deepest(loc))


def _parse_yaml(text: str, report: Any) -> tuple[dict | None, _Lines]:
    lines = _Lines()
    try:
        root = bounded_yaml.compose(text)  # refuses alias bombs and the like before any walk
        if root is None:
            report(None, None, "empty file: a scenario needs at least id, title, models and expect")
            return None, lines
        data = bounded_yaml.construct(root)
    except bounded_yaml.YamlLimitError as exc:
        report(exc.line, None, exc.message)
        return None, lines
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        message = f"invalid YAML: {exc.problem or exc.context}"
        if exc.context and exc.context_mark and mark and exc.context_mark.line != mark.line:
            message += f" ({exc.context} at line {exc.context_mark.line + 1})"
        report(mark.line + 1 if mark else None, None, message)
        return None, lines
    except yaml.YAMLError as exc:
        report(None, None, f"invalid YAML: {exc}")
        return None, lines

    if not isinstance(root, yaml.MappingNode) or not isinstance(data, dict):
        report(root.start_mark.line + 1, None, f"a scenario is a mapping of fields, got {_kind(data)}")
        return None, lines
    lines.lines[()] = root.start_mark.line + 1
    _index_nodes(root, (), lines, report, set())
    return data, lines


def _index_nodes(node: yaml.Node, loc: Loc, lines: _Lines, report: Any, active: set[int]) -> None:
    if id(node) in active:  # a recursive alias; it cannot be a valid scenario anyway
        return
    active.add(id(node))
    if isinstance(node, yaml.MappingNode):
        first_line: dict[str, int] = {}
        for key_node, value_node in node.value:
            key = str(key_node.value) if isinstance(key_node, yaml.ScalarNode) else "?"
            line = key_node.start_mark.line + 1
            if key in first_line:
                report(line, _format_loc(loc + (key,)),
                       f"duplicate key '{key}' (first at line {first_line[key]}); YAML keeps only this one")
            else:
                first_line[key] = line
            lines.lines[loc + (key,)] = line
            _index_nodes(value_node, loc + (key,), lines, report, active)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            lines.lines[loc + (index,)] = item.start_mark.line + 1
            _index_nodes(item, loc + (index,), lines, report, active)
    active.discard(id(node))


# --------------------------------------------------------------------------- pass 2: shape

_PATTERN_MESSAGES = {
    NAME_PATTERN: "invalid name '{input}': use letters, digits, '-', '_' and '.', starting with a letter or digit",
    SLUG_PATTERN: "invalid id '{input}': use lowercase letters, digits, '-', '_' and '.'",
    MODEL_NAME_PATTERN: (
        "invalid model name '{input}': no spaces, no '*' (wildcards belong in a team's or key's "
        "models, not in a list of declared models) and no '::'"
    ),
    MODEL_REF_PATTERN: "invalid models entry '{input}': no spaces and no '::'",
    URL_PATTERN: "expected an http(s) URL, got '{input}'",
}


def _shape_message(err: dict, loc: Loc) -> str:
    kind, value = err["type"], err.get("input")
    if kind == "extra_forbidden":
        name = str(loc[-1])
        valid = _fields_at(loc[:-1])
        hint = did_you_mean(name, valid) or (f" (valid fields: {', '.join(valid)})" if valid else "")
        return f"unknown field '{name}'{hint}"
    if kind == "missing":
        return f"missing required field '{loc[-1]}'"
    if kind == "string_type":
        return f"expected a string, got {_kind(value)}{_quote_hint(value)}"
    if kind == "model_entry":
        return f"expected a model name or a mapping {{name, access_groups}}, got {_kind(value)}{_quote_hint(value)}"
    if kind == "list_type":
        return f"expected a list, got {_kind(value)}"
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return f"expected a mapping, got {_kind(value)}"
    if kind in ("bool_type", "bool_parsing"):
        return f"expected true or false, got {_kind(value)}"
    if kind == "string_pattern_mismatch":
        template = _PATTERN_MESSAGES.get(err.get("ctx", {}).get("pattern", ""))
        if template:
            return template.format(input=value)
    if kind == "string_too_short":
        return "must not be empty"
    if kind == "string_too_long":
        limit = err.get("ctx", {}).get("max_length")
        return f"longer than {limit} characters (gateconform's limit)"
    if kind == "too_short" and loc == ("models",):
        return "declare at least one model"
    if kind == "too_long":
        limit, actual = err.get("ctx", {}).get("max_length"), err.get("ctx", {}).get("actual_length")
        return (f"{actual} entries; a scenario may have at most {limit} (gateconform's limit, far above "
                "what a real scenario needs: split the world into several scenarios)")
    if kind == "value_error":
        return str(err["msg"]).removeprefix("Value error, ")
    return str(err["msg"])


def _kind(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    if isinstance(value, (int, float)):
        return f"a number ({value})"
    if isinstance(value, str):
        return f"a string ('{value}')"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def _quote_hint(value: Any) -> str:
    # YAML reads `1.5` as a number and `no`/`on` as booleans; quoting keeps them names.
    if isinstance(value, (bool, int, float)):
        return " (put it in quotes to make it a name)"
    return ""


def _fields_at(loc: Loc) -> list[str]:
    """The valid field names of the model found at `loc` (for unknown-field suggestions)."""
    annotation: Any = Scenario
    for part in loc:
        model = _model_in(annotation)
        if model is not None and isinstance(part, str) and part in model.model_fields:
            annotation = model.model_fields[part].annotation
            continue
        container = _container_item(annotation)
        if container is None:
            return []
        annotation = container
    model = _model_in(annotation)
    return list(model.model_fields) if model else []


def _model_in(annotation: Any) -> type[BaseModel] | None:
    for candidate in _flatten(annotation):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None


def _container_item(annotation: Any) -> Any:
    for candidate in _flatten(annotation):
        origin = typing.get_origin(candidate)
        if origin in (list, dict):
            return typing.get_args(candidate)[-1]
    return None


def _flatten(annotation: Any) -> list[Any]:
    """Unwrap Annotated and unions into the plain types they may stand for."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _flatten(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return [t for arg in typing.get_args(annotation) for t in _flatten(arg)]
    return [annotation]


# --------------------------------------------------------------------------- pass 3: meaning


def _meaning_problems(s: Scenario, lines: _Lines, add: Callable[[Loc, str], None]) -> None:
    """Pass 3: every problem of meaning, given to `add(loc, message)`."""
    models = [m.name for m in s.models]
    config_groups = list(dict.fromkeys(g for m in s.models for g in m.access_groups))
    if len(config_groups) > MAX_ACCESS_GROUPS:  # the shape bounds the models, not the groups they name
        named: set[str] = set()
        for index, model in enumerate(s.models):
            named.update(model.access_groups)
            if len(named) > MAX_ACCESS_GROUPS:
                add(("models", index, "access_groups"),
                    f"{len(config_groups)} config access groups in all; a scenario may have at most "
                    f"{MAX_ACCESS_GROUPS} (gateconform's limit, far above what a real scenario needs)")
                return
    entities = [g.name for g in s.access_groups]
    teams = [t.name for t in s.teams]
    users = [u.name for u in s.users]
    keys = [k.name for k in s.keys]

    # Names: unique per kind, and not confusable with what a `models` entry can mean.
    for field, names, label in (
        ("models", models, "model"),
        ("access_groups", entities, "access group"),
        ("teams", teams, "team"),
        ("users", users, "user"),
        ("keys", keys, "key"),
    ):
        first: dict[str, int] = {}
        for index, name in enumerate(names):
            if name in first:
                add((field, index, "name"), f"duplicate {label} name '{name}' "
                    f"(first at line {lines.line_of((field, first[name], 'name'))})")
            else:
                first[name] = index
    for index, name in enumerate(models):
        if name in SPECIAL_MODEL_NAMES:
            add(("models", index, "name"), f"'{name}' is a special LiteLLM name, not a model name")
    for m_index, model in enumerate(s.models):
        for g_index, group in enumerate(model.access_groups):
            loc = ("models", m_index, "access_groups", g_index)
            if group in models:
                add(loc, f"config access group '{group}' has the name of a model; "
                    "a `models` entry naming it would be ambiguous")
            elif group in SPECIAL_MODEL_NAMES:
                add(loc, f"'{group}' is a special LiteLLM name, not an access group name")

    def check_model_ref(loc: Loc, ref: str, allowed_special: Sequence[str]) -> None:
        """An entry of a team's, user's or key's `models` list."""
        if ref in SPECIAL_MODEL_NAMES:
            if ref not in allowed_special:
                if ref == ALL_TEAM_MODELS:
                    add(loc, f"'{ref}' only applies to a key's models (a key with a team)")
                elif ref == NO_DEFAULT_MODELS:
                    add(loc, f"'{ref}' only applies to users and teams, not keys")
                else:
                    add(loc, f"'{ref}' is not accepted here")
            # `all-team-models` on a key without a team is allowed: LiteLLM documents that it then
            # matches nothing, so every call is denied, and a scenario may want to check exactly that.
            return
        if "*" in ref or ref in models or ref in config_groups:
            return
        if ref in entities:
            add(loc, f"'{ref}' is an access-group entity: attach it with `access_groups: [{ref}]`, "
                "not in `models`")
            return
        add(loc, _unknown("model or access group", ref, models + config_groups + list(allowed_special),
                          "no models"))

    def check_entity_ref(loc: Loc, name: str) -> None:
        if name in entities:
            return
        if name in config_groups:
            add(loc, f"'{name}' is a config model access group: put it in `models`, "
                "not in `access_groups` (which names access-group entities)")
            return
        add(loc, _unknown("access group", name, entities, "no access_groups"))

    for g_index, group in enumerate(s.access_groups):
        for m_index, name in enumerate(group.models):
            _check_declared_model(add, ("access_groups", g_index, "models", m_index), name,
                                 models, config_groups, entities)

    for t_index, team in enumerate(s.teams):
        for m_index, ref in enumerate(team.models):
            check_model_ref(("teams", t_index, "models", m_index), ref, TEAM_SPECIAL_NAMES)
        for a_index, name in enumerate(team.access_groups):
            check_entity_ref(("teams", t_index, "access_groups", a_index), name)

    for u_index, user in enumerate(s.users):
        for m_index, ref in enumerate(user.models or ()):
            check_model_ref(("users", u_index, "models", m_index), ref, USER_SPECIAL_NAMES)
        for team_index, name in enumerate(user.teams):
            if name not in teams:
                add(("users", u_index, "teams", team_index), _unknown("team", name, teams, "no teams"))

    for k_index, key in enumerate(s.keys):
        if key.team is not None and key.team not in teams:
            add(("keys", k_index, "team"), _unknown("team", key.team, teams, "no teams"))
        if key.user is not None and key.user not in users:
            add(("keys", k_index, "user"), _unknown("user", key.user, users, "no users"))
        if key.service_account and key.team is None:
            add(("keys", k_index, "service_account"), "a service-account key belongs to a team: set `team`")
        if key.service_account and key.user is not None:
            add(("keys", k_index, "user"), "a service-account key has no user: remove `user`")
        for m_index, ref in enumerate(key.models):
            check_model_ref(("keys", k_index, "models", m_index), ref, KEY_SPECIAL_NAMES)
        for a_index, name in enumerate(key.access_groups):
            check_entity_ref(("keys", k_index, "access_groups", a_index), name)

    if not s.expect:
        add(("expect",), "no expectations: name at least one key under `expect`")
    for key_name, expectation in s.expect.items():
        if key_name not in keys:
            add(("expect", key_name), _unknown("key", key_name, keys, "no keys"))
        if expectation.lists is None and not expectation.can_call and not expectation.cannot_call:
            add(("expect", key_name), "expects nothing: give `lists`, `can_call` or `cannot_call`")
        can_call = set(expectation.can_call)
        for field in ("lists", "can_call", "cannot_call"):
            seen: set[str] = set()
            for index, name in enumerate(getattr(expectation, field) or ()):
                loc = ("expect", key_name, field, index)
                if name in seen:
                    add(loc, f"'{name}' appears twice in {field}")
                    continue
                seen.add(name)
                _check_declared_model(add, loc, name, models, config_groups, entities)
                if field == "cannot_call" and name in can_call:
                    add(loc, f"'{name}' is in both can_call and cannot_call")


def _check_declared_model(add: Any, loc: Loc, name: str, models: list[str],
                         config_groups: list[str], entities: list[str]) -> None:
    """A place that takes declared models only: access-group entity members, expectations."""
    if name in models:
        return
    if name in SPECIAL_MODEL_NAMES:
        add(loc, f"'{name}' is a special LiteLLM name: list the declared models it stands for")
    elif name in config_groups or name in entities:
        add(loc, f"'{name}' is an access group, not a model: list the models it grants")
    else:
        add(loc, _unknown("model", name, models, "no models"))


def _unknown(label: str, name: str, candidates: Sequence[str], none_declared: str) -> str:
    if not candidates:
        return f"unknown {label} '{name}' (the scenario declares {none_declared})"
    return f"unknown {label} '{name}'{did_you_mean(name, candidates)}"


def _format_loc(loc: Loc) -> str:
    """`('keys', 0, 'team')` → `keys[0].team`."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text
