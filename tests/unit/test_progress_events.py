"""Progress as typed events: the runner tells what happens; one printer words it as users have always read it.

A run through a stand-in proxy (the LiteLLM look-alike of test_proxy_watch, a local HTTP server)
shows the events in order; the printer keeps today's lines ("scenario x", "[1.82.3] starting",
"testing 1.82.3 — 2 of ~4") and adds each scenario's verdict as it finishes; the pytest plugin
prints the same words after `[gateconform]`.
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any, Iterator

import pytest
from rich.console import Console
from typer.testing import CliRunner

from harness.cli import app as cli
from harness.engine import runner
from harness.engine.events import (
    BisectStep, BisectVerdict, Event, InRelease, ReleaseFinished, ReleaseNote, ReleaseStarted, RunFinished,
    RunStarted, ScenarioFinished, ScenarioProgress, ScenarioStarted, TargetFailed, TargetProgress, TargetReady,
    TargetStarting,
)
from harness.model.bisect import ReleaseState, ReleaseVerdict
from harness.model.results import ScenarioResult
from harness.model.verdict import Outcome, Verdict
from harness.oracle.explicit import checks_for
from harness.pytest.session import terminal_lines
from harness.report.progress import ProgressPrinter, describe
from harness.scenario.loader import parse_scenario
from harness.targets.base import Endpoint
from harness.targets.errors import TargetError
from tests.unit.test_proxy_watch import SCENARIO, FakeTarget, LiteLLMLookAlike, NoUpstream

MASTER_KEY = "sk-master-0000ffff"


@pytest.fixture
def proxy() -> Iterator[LiteLLMLookAlike]:
    fake = LiteLLMLookAlike()
    try:
        yield fake
    finally:
        fake.close()


def talking_target(endpoint: Endpoint) -> Any:
    """A target factory whose target says what it does, as a real one does through its `log`."""

    def factory(spec: str, log: Any) -> FakeTarget:
        log(f"{spec}: starting proxy on {endpoint.base_url} …")
        return FakeTarget(endpoint)

    return factory


def test_the_runner_tells_what_happens_as_typed_events_in_order(proxy: LiteLLMLookAlike) -> None:
    endpoint = Endpoint(proxy.url, MASTER_KEY, NoUpstream(), "1.82.3", "fake")
    events: list[Event] = []
    with runner.ScenarioRunner("litellm==1.82.3", events=events.append, target_factory=talking_target(endpoint)) as run:
        result = run.run_all([parse_scenario(SCENARIO)])

    kinds = [type(event) for event in events]
    assert kinds[:5] == [RunStarted, ScenarioStarted, TargetStarting, TargetProgress, TargetReady]
    assert kinds[-2:] == [ScenarioFinished, RunFinished]
    assert set(kinds[5:-2]) == {ScenarioProgress}  # provisioning said by the admin client
    assert events[0] == RunStarted("litellm==1.82.3", 1)
    assert events[2] == TargetStarting("litellm==1.82.3", ("gpt-4o", "gpt-4o-mini"))
    assert events[3] == TargetProgress("litellm==1.82.3", f"litellm==1.82.3: starting proxy on {proxy.url} …")
    assert events[4] == TargetReady("litellm==1.82.3", proxy.url, "1.82.3")
    finished = events[-2]
    assert isinstance(finished, ScenarioFinished) and finished.result is result.scenarios[0]
    assert finished.elapsed_s > 0
    assert events[-1] == RunFinished(result)


class Unbootable:
    """A target that does not start, saying the master key in its error (as a proxy log might)."""

    def __init__(self, spec: str, log: Any) -> None:
        pass

    def start(self, models: Any) -> Endpoint:
        raise TargetError(f"the proxy exited with code 1 (started with {MASTER_KEY})")

    def stop(self) -> None:
        pass


def test_a_target_that_does_not_start_is_an_event_and_its_scenario_says_why() -> None:
    events: list[Event] = []
    scenario_runner = runner.ScenarioRunner("litellm==1.82.3", events=events.append, target_factory=Unbootable)
    scenario_runner.redactor.add(MASTER_KEY)
    scenario_runner.run(parse_scenario(SCENARIO))

    failed = next(event for event in events if isinstance(event, TargetFailed))
    assert MASTER_KEY not in failed.reason and "the proxy exited with code 1" in failed.reason
    finished = events[-1]
    assert isinstance(finished, ScenarioFinished)
    line = describe(finished)
    assert line is not None
    assert re.fullmatch(r"hang — ERROR \(3 error\) \d+\.\d s — target did not start: the proxy exited with code 1 "
                        r"\(started with sk-…ffff\)", line.plain), line.plain


def finished(outcomes: dict[Outcome, int], elapsed_s: float = 2.3) -> ScenarioFinished:
    """A `ScenarioFinished` of the look-alike's scenario with `outcomes` (its checks, reused)."""
    checks = checks_for(parse_scenario(SCENARIO))
    verdicts = [Verdict(checks[i % len(checks)], outcome, "why", None, "x", "seen")
                for i, outcome in enumerate(o for o, n in outcomes.items() for _ in range(n))]
    return ScenarioFinished(ScenarioResult(id="litellm-23850-svc-key", title="t", verdicts=verdicts), elapsed_s)


def printed(*events: Event | str, nested_indent: str = "") -> list[str]:
    """What the progress printer shows for `events`, without the seconds in front."""
    buffer = io.StringIO()
    printer = ProgressPrinter(Console(file=buffer, width=400, color_system=None), nested_indent)
    for event in events:
        printer(event)
    return [re.sub(r"^ *\d+\.\ds ", "", line) for line in buffer.getvalue().splitlines()]


def test_the_printer_keeps_the_lines_users_know_and_adds_each_verdict_as_it_finishes() -> None:
    assert printed(
        RunStarted("litellm==1.82.3", 3),
        ScenarioStarted("litellm-23850-svc-key"),
        TargetStarting("litellm==1.82.3", ("gpt-4o",)),  # the target says so itself
        TargetProgress("litellm==1.82.3", "uv pip install litellm[proxy]==1.82.3 …"),  # not markup
        TargetReady("litellm==1.82.3", "http://127.0.0.1:4000", "1.82.3"),
        ScenarioProgress("litellm-23850-svc-key", "teardown of litellm-23850-svc-key: left in the proxy: key gc-1"),
        finished({Outcome.FAIL: 3, Outcome.PASS: 4}),
        finished({Outcome.PASS: 2, Outcome.SKIP: 1}, 0.04),
        "a line of free text",
    ) == [
        "3 scenario(s), target litellm==1.82.3",
        "scenario litellm-23850-svc-key",
        "uv pip install litellm[proxy]==1.82.3 …",
        "teardown of litellm-23850-svc-key: left in the proxy: key gc-1",
        "litellm-23850-svc-key — FAIL (3 fail, 4 pass) 2.3 s",
        "litellm-23850-svc-key — PASS (1 skip, 2 pass) 0.0 s",
        "a line of free text",
    ]


def test_release_lines_of_a_matrix_and_of_a_bisect_read_as_before() -> None:
    bad = ReleaseVerdict("1.82.3", ReleaseState.BAD, "svc cannot call gpt-4o: expected denied, observed allowed",
                         deps="as-released")
    assert printed(
        ReleaseStarted("1.82.3"),
        InRelease("1.82.3", ScenarioStarted("x")),
        InRelease("1.82.3", TargetReady("litellm==1.82.3", "http://127.0.0.1:4000", "1.82.3")),  # not shown
        InRelease("1.82.3", ReleaseNote("1.82.3", "reports not written for litellm 1.82.3: disk full")),
        ReleaseFinished("1.82.3", "fail", 31.6, "as-released"),
    ) == [
        "[1.82.3] starting",
        "[1.82.3] scenario x",
        "[1.82.3] reports not written for litellm 1.82.3: disk full",
        "[1.82.3] done in 32 s: fail (dependencies as released)",
    ]
    assert printed(
        BisectStep("1.82.3", 2, 4),
        InRelease("1.82.3", ScenarioStarted("x")),
        BisectVerdict(bad, 41.2),
        ReleaseNote("1.81.0", "(background) environment for litellm 1.81.0 ready in 12 s"),
        nested_indent="  ",
    ) == [
        "testing 1.82.3 — 2 of ~4",
        "  [1.82.3] scenario x",
        "  1.82.3: bad (dependencies as released) — svc cannot call gpt-4o: expected denied, observed allowed (41 s)",
        "(background) environment for litellm 1.81.0 ready in 12 s",
    ]


def test_gateconform_run_shows_each_scenario_verdict_as_it_finishes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, proxy: LiteLLMLookAlike
) -> None:
    endpoint = Endpoint(proxy.url, MASTER_KEY, NoUpstream(), "1.82.3", "fake")
    monkeypatch.setattr(runner, "make_target", talking_target(endpoint))
    scenario = tmp_path / "hang.yaml"
    scenario.write_text(SCENARIO)
    done = CliRunner().invoke(cli.app, ["run", str(scenario), "--target", "litellm==1.82.3",
                                        "--report-dir", str(tmp_path / "out")])
    assert done.exit_code == 2, done.output  # the look-alike's chat answers are not chat completions: ERROR
    text = " ".join(done.output.split())
    assert "1 scenario(s), target litellm==1.82.3" in text and "scenario hang" in text
    assert re.search(r"hang — ERROR \(2 error, 1 pass\) \d+\.\d s", text), text
    assert text.index("hang — ERROR (") < text.index("target litellm==1.82.3 — ")  # before the verdict tables


class Reporter:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def write_line(self, line: str) -> None:
        self.lines.append(line)


class Config:
    """What `terminal_lines` reads of a pytest config: the terminal reporter."""

    def __init__(self, reporter: Reporter) -> None:
        self.pluginmanager = self
        self.reporter = reporter

    def get_plugin(self, name: str) -> Reporter | None:
        return self.reporter if name == "terminalreporter" else None


def test_pytest_prints_what_targets_say_and_each_verdict_not_each_start() -> None:
    reporter = Reporter()
    show = terminal_lines(Config(reporter))  # type: ignore[arg-type]
    for event in (ScenarioStarted("litellm-23850-svc-key"),
                  TargetProgress("litellm==1.82.3", "litellm==1.82.3: proxy ready in 21.0 s"),
                  finished({Outcome.FAIL: 3, Outcome.PASS: 4})):
        show(event)
    assert reporter.lines == ["[gateconform] litellm==1.82.3: proxy ready in 21.0 s",
                              "[gateconform] litellm-23850-svc-key — FAIL (3 fail, 4 pass) 2.3 s"]
