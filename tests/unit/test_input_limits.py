"""Hostile input files are refused at once, with file:line and the limit, and nothing starts.

An alias bomb, deep nesting or a huge world used to take minutes and gigabytes (or crash the
interpreter). Cases that could do that again if the limits regressed run in a subprocess with
a memory limit and a timeout, so a regression fails the test instead of the machine.
"""

from __future__ import annotations

import json
import resource
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from typer.testing import CliRunner

from harness.cli import app as cli
from harness.scenario.bounded_yaml import MAX_DEPTH, MAX_FILE_BYTES, MAX_NODES
from harness.compare.gate import ExpectedFailuresError, load_expected_failures, parse_expected_failures
from harness.scenario.loader import MAX_PROBLEMS, ScenarioError, load_scenario, parse_scenario
from harness.model.scenario import MAX_ACCESS_GROUPS, MAX_KEYS, MAX_MODELS, MAX_NAME_LENGTH
from harness.scenario.schema import scenario_json_schema

REPO = Path(__file__).resolve().parents[2]
MEMORY_LIMIT = 512 * 2**20  # a Python with pydantic needs well under this; an alias bomb, gigabytes
SANDBOX_TIMEOUT_S = 30

HEAD = "id: hostile\ntitle: A hostile scenario\nmodels: [gpt-4o]\nkeys: [{name: svc}]\nexpect: {svc: {can_call: [gpt-4o]}}\n"


def alias_bomb(levels: int = 9, width: int = 9) -> str:
    """`levels` levels of `width` aliases each: 500 bytes standing for width**levels values."""
    lines = ["bomb_0: &bomb_0 [" + ", ".join(["lol"] * width) + "]"]
    for level in range(1, levels):
        lines.append(f"bomb_{level}: &bomb_{level} [" + ", ".join([f"*bomb_{level - 1}"] * width) + "]")
    return HEAD + "\n".join(lines) + "\n"


def write(tmp_path: Path, text: str, name: str = "hostile.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _limit_memory() -> None:  # runs in the child before it starts Python
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def run_sandboxed(*args: str) -> subprocess.CompletedProcess[str]:
    """Python with `args`, in the repository, with a memory limit and a timeout."""
    try:
        return subprocess.run([sys.executable, *args], cwd=REPO, capture_output=True, text=True,
                              preexec_fn=_limit_memory, timeout=SANDBOX_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        pytest.fail(f"still running after {SANDBOX_TIMEOUT_S} s: the input was not refused")


LOAD_AND_TIME = textwrap.dedent("""\
    import json, sys, time
    from harness.scenario.loader import ScenarioError, load_scenario
    started = time.perf_counter()
    try:
        load_scenario(sys.argv[1])
        problems = []
    except ScenarioError as exc:
        problems = [str(p) for p in exc.problems]
    print(json.dumps({"seconds": time.perf_counter() - started, "problems": problems}))
""")


def load_sandboxed(path: Path) -> tuple[list[str], float]:
    """The problems `load_scenario` reports for `path` and the seconds it took, in a sandbox."""
    done = run_sandboxed("-c", LOAD_AND_TIME, str(path))
    assert done.returncode == 0, f"exit {done.returncode}: {done.stderr[-2000:]}"
    result = json.loads(done.stdout)
    return result["problems"], result["seconds"]


@contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Fail an in-process test that runs longer than `seconds` (SIGALRM interrupts Python code)."""
    def expire(signum, frame):  # type: ignore[no-untyped-def]
        raise TimeoutError(f"still running after {seconds} s: the input was not refused")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def problems_of(path: Path) -> list[str]:
    with deadline(10), pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    return [str(p) for p in caught.value.problems]


# --------------------------------------------------------------------------- YAML: aliases, nesting, size


def test_alias_bomb_is_refused_at_once_at_the_alias_that_crosses_the_limit(tmp_path: Path) -> None:
    path = write(tmp_path, alias_bomb())

    problems, _seconds = load_sandboxed(path)  # the sandbox's timeout and memory limit guard against a hang

    # 9 + 1 values at level 0, ×9 per level: level 4 (line 10) is the first past the limit
    assert problems == [
        f"{path}:10: more than {MAX_NODES:,} YAML nodes (keys, values and list items, each alias counted "
        f"as a copy of what it names) (the alias '*bomb_3' here stands for 7,381): gateconform's limit "
        "for a hand-written file"
    ]


def test_validate_refuses_an_alias_bomb_in_bounded_time_and_memory(tmp_path: Path) -> None:
    path = write(tmp_path, alias_bomb())

    done = run_sandboxed("-c", "from harness.cli.app import main; main()", "validate", str(path))

    assert done.returncode == 2, done.stderr[-2000:]
    assert f"{path}:10: more than {MAX_NODES:,} YAML nodes" in done.stderr
    assert "ok " not in done.stdout


def test_run_refuses_an_alias_bomb_before_starting_anything(tmp_path: Path, no_target: list[str]) -> None:
    path = write(tmp_path, alias_bomb())

    with deadline(10):
        result = CliRunner().invoke(cli.app, ["run", str(path), "--target", "litellm==1.82.3"])

    assert result.exit_code == 2
    assert f"{path}:10: more than {MAX_NODES:,} YAML nodes" in result.output
    assert no_target == []


def test_aliases_within_the_limit_still_work(tmp_path: Path) -> None:
    path = write(tmp_path, HEAD.replace("keys: [{name: svc}]", "keys: [{name: svc, models: &mine [gpt-4o]}]")
                 .replace("can_call: [gpt-4o]", "can_call: *mine"))

    assert load_scenario(path).expect["svc"].allowed == ["gpt-4o"]


def test_deep_nesting_is_refused_not_a_crash(tmp_path: Path) -> None:
    # libyaml's composer recursed in C on this and the interpreter died (SIGSEGV)
    path = write(tmp_path, HEAD + "description: " + "[" * 200_000 + "]" * 200_000 + "\n")

    problems, _seconds = load_sandboxed(path)  # the sandbox's timeout and memory limit guard against a hang

    assert problems == [f"{path}:6: nested more than {MAX_DEPTH} levels deep: gateconform's limit for a "
                        "hand-written file"]


def test_nesting_hidden_behind_aliases_counts_too(tmp_path: Path) -> None:
    deep = "[" * (MAX_DEPTH - 2) + "x" + "]" * (MAX_DEPTH - 2)
    path = write(tmp_path, HEAD + f"a: &deep {deep}\nb: [[[*deep]]]\n")

    assert problems_of(path) == [
        f"{path}:7: nested more than {MAX_DEPTH} levels deep (with what the alias '*deep' stands for): "
        "gateconform's limit for a hand-written file"
    ]


def test_recursive_alias_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, HEAD + "description: &loop [a, *loop]\n")

    assert problems_of(path) == [
        f"{path}:6: the alias '*loop' is inside the value it names (a recursive alias): the data would "
        "contain itself"
    ]


def oversized_text() -> str:
    """A scenario a little over the size limit: a valid world and a very long description."""
    return HEAD + "description: |\n" + ("  " + "x" * 98 + "\n") * (MAX_FILE_BYTES // 100 + 100)


def test_oversized_file_is_refused_before_parsing(tmp_path: Path) -> None:
    path = write(tmp_path, oversized_text())
    line_at_limit = oversized_text().encode()[:MAX_FILE_BYTES].count(b"\n") + 1

    with deadline(10):  # a guard against a hang, not a timing goal (those live in benchmarks/)
        problems = problems_of(path)
    assert problems == [
        f"{path}:{line_at_limit}: file larger than {MAX_FILE_BYTES:,} bytes, gateconform's limit for a "
        "hand-written YAML file (it passes the limit at this line)"
    ]


def test_oversized_text_is_refused_too() -> None:
    with deadline(10), pytest.raises(ScenarioError) as caught:
        parse_scenario(oversized_text(), "inline.yaml")

    assert f"larger than {MAX_FILE_BYTES:,} bytes" in caught.value.message


# --------------------------------------------------------------------------- world sizes


def _world(models: int = 1, keys: int = 1, access_groups: int = 0) -> str:
    lines = ["id: big-world", "title: A big world", "models:"]
    lines += [f"  - model-{i}" for i in range(models)]
    if access_groups:
        lines += ["access_groups:"] + [f"  - {{name: group-{i}}}" for i in range(access_groups)]
    lines += ["keys:"] + [f"  - name: key-{i}" for i in range(keys)]
    lines += ["expect:", "  key-0: {can_call: [model-0]}"]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(
    ("text", "line", "field", "count", "limit"),
    [
        (_world(keys=MAX_KEYS + 1), 5, "keys", MAX_KEYS + 1, MAX_KEYS),
        (_world(models=MAX_MODELS + 1), 3, "models", MAX_MODELS + 1, MAX_MODELS),
        (_world(access_groups=MAX_ACCESS_GROUPS + 1), 5, "access_groups", MAX_ACCESS_GROUPS + 1, MAX_ACCESS_GROUPS),
    ],
    ids=["keys", "models", "access_groups"],
)
def test_world_over_the_limits_is_refused_with_the_limit(
    tmp_path: Path, text: str, line: int, field: str, count: int, limit: int
) -> None:
    path = write(tmp_path, text)

    assert problems_of(path) == [
        f"{path}:{line}: {field}: {count} entries; a scenario may have at most {limit} (gateconform's limit, "
        "far above what a real scenario needs: split the world into several scenarios)"
    ]


def test_a_world_at_the_limits_loads_quickly(tmp_path: Path) -> None:
    path = write(tmp_path, _world(models=MAX_MODELS, keys=MAX_KEYS, access_groups=MAX_ACCESS_GROUPS))

    with deadline(10):  # a guard against a hang, not a timing goal
        scenario = load_scenario(path)

    assert (len(scenario.models), len(scenario.keys), len(scenario.access_groups)) == (
        MAX_MODELS, MAX_KEYS, MAX_ACCESS_GROUPS)


def test_too_many_config_access_groups_are_refused(tmp_path: Path) -> None:
    groups = ", ".join(f"g{i}" for i in range(MAX_ACCESS_GROUPS // 2 + 1))
    more = ", ".join(f"h{i}" for i in range(MAX_ACCESS_GROUPS // 2 + 1))
    path = write(tmp_path, HEAD.replace("models: [gpt-4o]", f"models:\n  - {{name: a, access_groups: [{groups}]}}\n"
                                        f"  - {{name: gpt-4o, access_groups: [{more}]}}"))

    assert problems_of(path) == [
        f"{path}:5: models[1].access_groups: {MAX_ACCESS_GROUPS + 2} config access groups in all; a scenario "
        f"may have at most {MAX_ACCESS_GROUPS} (gateconform's limit, far above what a real scenario needs)"
    ]


def test_a_name_too_long_is_refused(tmp_path: Path) -> None:
    long_name = "k" * (MAX_NAME_LENGTH + 1)
    path = write(tmp_path, HEAD.replace("{name: svc}", f"{{name: {long_name}}}"))

    assert problems_of(path) == [
        f"{path}:4: keys[0].name: longer than {MAX_NAME_LENGTH} characters (gateconform's limit)"
    ]


def test_the_schema_states_the_world_limits() -> None:
    properties = scenario_json_schema()["properties"]

    assert properties["keys"]["maxItems"] == MAX_KEYS
    assert properties["models"]["maxItems"] == MAX_MODELS
    assert properties["expect"]["anyOf"][0]["maxProperties"] == MAX_KEYS


def test_a_file_with_thousands_of_mistakes_stops_after_the_limit_quickly(tmp_path: Path) -> None:
    refs = ", ".join(f"unknown-model-number-{i:05d}" for i in range(150))
    keys = "\n".join(f"  - {{name: key-{k}, models: [{refs}]}}" for k in range(MAX_KEYS))
    path = write(tmp_path, f"id: x\ntitle: x\nmodels: [gpt-4o]\nkeys:\n{keys}\nexpect: {{key-0: {{can_call: [gpt-4o]}}}}\n")

    with deadline(10):  # a guard against a hang, not a timing goal
        problems = problems_of(path)

    assert len(problems) == MAX_PROBLEMS + 1
    assert problems[-1] == f"{path}: stopped after {MAX_PROBLEMS} problems: fix these and check again"


# --------------------------------------------------------------------------- expected-failures lists


def test_expected_failures_alias_bomb_is_refused_with_line_and_limit() -> None:
    entry = "- check: a::b::chat::m\n  why: x\n"
    with deadline(10), pytest.raises(ExpectedFailuresError) as caught:
        parse_expected_failures(entry + "- " + alias_bomb(levels=6).replace(HEAD, "").replace("\n", "\n  "),
                                "known.yaml")

    [problem] = caught.value.problems
    assert (problem.path, problem.line) == ("known.yaml", 7)
    assert f"more than {MAX_NODES:,} YAML nodes" in problem.message


def test_expected_failures_deep_nesting_is_refused() -> None:
    # the pure-Python composer used here before raised RecursionError: a traceback
    with deadline(10), pytest.raises(ExpectedFailuresError) as caught:
        parse_expected_failures("- " + "[" * 5000 + "]" * 5000 + "\n", "known.yaml")

    assert str(caught.value) == (f"known.yaml:1: nested more than {MAX_DEPTH} levels deep: gateconform's "
                                 "limit for a hand-written file")


def test_expected_failures_oversized_file_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "- check: a::b::chat::m\n  why: |\n" + ("    " + "x" * 96 + "\n") * (MAX_FILE_BYTES // 100 + 1),
                 "known.yaml")

    with deadline(10), pytest.raises(ExpectedFailuresError) as caught:
        load_expected_failures(path)

    [problem] = caught.value.problems
    assert problem.line and f"larger than {MAX_FILE_BYTES:,} bytes" in problem.message
