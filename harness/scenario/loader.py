"""Load scenario files, with every problem reported as `file:line: field: message`.

Three passes, each collecting all of its problems before anything is raised (up to
`MAX_PROBLEMS` per file):
1. YAML (`harness.scenario.yaml_lines`): syntax errors (with their line) and duplicate mapping
   keys. The file is read within the limits of `harness.scenario.bounded_yaml`, so a hostile one
   is refused at once.
2. Shape (`harness.scenario.shape`): the pydantic model (types, required and unknown fields,
   name syntax, world sizes).
3. Meaning (`harness.scenario.rules`): references between names, duplicate names, special names
   used where the gateway does not accept them, expectations about models the scenario never
   declares.
Pass 3 needs a well-shaped scenario, so it runs only when pass 2 found nothing.
Loading reads files and nothing else: no process, no network.

Which gateway's words (special model names) a file may use: the vocabulary passed in, else
that of the gateway the file names in its optional top-level `gateway:` field, else the
default gateway's (`harness.gateways.registry`). `gateway:` is read before the shape pass and is
not part of the language itself; `Scenario.gateway` says what the file named.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable, Sequence

from pydantic import ValidationError

from harness.common.spelling import did_you_mean
from harness.gateways import registry
from harness.gateways.base import Vocabulary
from harness.model.problems import FileProblem
from harness.model.scenario import VOCABULARY_CONTEXT, Scenario
from harness.scenario import bounded_yaml
from harness.scenario.rules import meaning_problems
from harness.scenario.shape import shape_message, validate_without_unknown_fields
from harness.scenario.yaml_lines import Lines, Loc, Report, as_written, format_loc, kind_of, parse_yaml

SCENARIO_SUFFIXES = (".yaml", ".yml")

#: The optional top-level field naming the scenario's gateway (default: the default gateway).
GATEWAY_FIELD = "gateway"
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


def load_scenario(path: str | Path, vocabulary: Vocabulary | None = None) -> Scenario:
    """Read and validate one scenario file; raise `ScenarioError` listing every problem.

    `vocabulary`: the gateway words the file may use (default: its gateway's, see the module doc).
    """
    path_text = str(path)
    try:
        text = bounded_yaml.read_text(path)
    except bounded_yaml.YamlLimitError as exc:
        raise ScenarioError([ScenarioProblem(path_text, exc.line, None, exc.message)]) from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ScenarioError([ScenarioProblem(path_text, None, None, f"cannot read: {reason}")]) from None
    return parse_scenario(text, path, vocabulary)


def parse_scenario(text: str, path: str | Path = "<string>", vocabulary: Vocabulary | None = None) -> Scenario:
    """Validate scenario YAML given as text; `path` is only used in messages and `scenario.path`."""
    path_text = str(path)
    problems: list[ScenarioProblem] = []

    def report(line: int | None, field: str | None, message: str) -> None:
        if len(problems) == MAX_PROBLEMS:
            raise _EnoughProblems
        problems.append(ScenarioProblem(path_text, line, field, message))

    try:
        checked = _check(text, report, vocabulary)
    except _EnoughProblems:
        stop = ScenarioProblem(path_text, None, None,
                               f"stopped after {MAX_PROBLEMS} problems: fix these and check again")
        raise ScenarioError(sorted(problems, key=lambda p: (p.line or 0)) + [stop]) from None
    if problems or checked is None:
        raise ScenarioError(sorted(problems, key=lambda p: (p.line or 0)))
    scenario, lines, gateway = checked
    scenario._path = Path(path)
    scenario._source_text = text
    scenario._lines = lines.lines
    scenario._gateway = gateway
    scenario._special_names = (vocabulary or registry.gateway(gateway or registry.default_name()).vocabulary).names
    return scenario


class _EnoughProblems(Exception):
    """A file reached `MAX_PROBLEMS`: stop looking for more."""


def _check(text: str, report: Report, vocabulary: Vocabulary | None) -> tuple[Scenario, Lines, str | None] | None:
    """The three passes; every problem goes to `report`. None when the YAML is unusable."""
    data, lines = parse_yaml(text, report)
    if data is None:
        return None
    gateway = _gateway_named(data, lines, report)
    if vocabulary is None:
        vocabulary = registry.gateway(gateway or registry.default_name()).vocabulary
    context = {VOCABULARY_CONTEXT: vocabulary}

    scenario: Scenario | None = None
    try:
        scenario = Scenario.model_validate(data, context=context)
    except ValidationError as exc:
        seen: set[Loc] = set()
        for err in exc.errors():
            loc = tuple(part for part in err["loc"] if part != "[key]")
            if loc in seen:  # one problem per place; unions can report the same spot twice
                continue
            seen.add(loc)
            message = shape_message(err, loc, header_fields=(GATEWAY_FIELD,))
            report(lines.line_of(loc), format_loc(as_written(data, loc)), message)
        # Unknown fields are the most common slip (a typo); without them the scenario may still
        # be well-shaped, and then its reference problems can be reported in the same run.
        scenario = validate_without_unknown_fields(data, exc, context)
        if scenario is None:
            return None

    def add(loc: Loc, message: str) -> None:
        report(lines.line_of(loc), format_loc(as_written(data, loc)), message)

    meaning_problems(scenario, lines, add, vocabulary)
    return scenario, lines, gateway


def _gateway_named(data: dict, lines: Lines, report: Report) -> str | None:
    """The gateway the file names (taken out of `data`: it is not part of the language), if a known one."""
    if GATEWAY_FIELD not in data:
        return None
    named = data.pop(GATEWAY_FIELD)
    where = (lines.line_of((GATEWAY_FIELD,)), GATEWAY_FIELD)
    if not isinstance(named, str):
        report(*where, f"expected a gateway name, got {kind_of(named)}")
        return None
    installed = registry.names()
    if named not in installed:
        hint = did_you_mean(named, installed) or f" (installed: {', '.join(installed)})"
        report(*where, f"unknown gateway '{named}'{hint}")
        return None
    return named


def load_scenarios(paths: str | Path | Iterable[str | Path], vocabulary: Vocabulary | None = None) -> list[Scenario]:
    """Load scenario files and directories (searched recursively for `*.yaml`/`*.yml`, sorted).

    Every file is validated before anything is raised, so one `ScenarioError` lists the
    problems of all files. Scenario ids must be unique across the files loaded together.
    `vocabulary` as for `load_scenario`.
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
            scenario = load_scenario(file, vocabulary)
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
