"""Progress for people: each event of a run as one line, worded here and only here.

`describe(event)` is the wording (the lines users have always seen: "scenario x", "[1.82.3]
starting", "testing 1.82.3 — 2 of ~4", and a verdict as each scenario finishes: "x — FAIL
(3 fail, 4 pass) 2.3 s"); the handlers only dress it:

- `ProgressPrinter`, the one progress printer of every command (run, matrix, bisect, image
  build, clean): the seconds since the command started, on stderr;
- the pytest plugin's `[gateconform] …` line (`harness.pytest.session`);
- `as_lines(log)`, for a caller that wants plain text (a script, a test).

Messages are never rich markup (`package[extra]==1.82.3` prints as written).
"""

from __future__ import annotations

import time
from functools import singledispatch
from typing import Callable

from rich.console import Console
from rich.text import Text

from harness.common.log import Log
from harness.engine.events import (
    BisectStep, BisectVerdict, Event, EventSink, InRelease, ReleaseFinished, ReleaseNote, ReleaseStarted,
    RunStarted, ScenarioFinished, ScenarioProgress, ScenarioStarted, TargetProgress,
)
from harness.model.results import ScenarioResult
from harness.report.bisect_text import STATE_STYLE
from harness.report.terminal import OUTCOME_STYLE, one_line
from harness.report.wording import shown_overall

#: The order outcomes are counted in a verdict line: what needs attention first.
_COUNTED = ("fail", "error", "skip", "pass")


def verdict_line(result: ScenarioResult, elapsed_s: float) -> Text:
    """`issue-23850-… — FAIL (3 fail, 4 pass) 2.3 s`, and why, when the scenario could not run."""
    counts = ", ".join(f"{result.counts[name]} {name}" for name in _COUNTED if result.counts.get(name))
    line = Text(f"{result.id} — ")
    shown = shown_overall(result.overall, result.counts)  # nothing but skips reads SKIP, not PASS
    line.append(shown.upper(), style=OUTCOME_STYLE.get(shown, ""))
    line.append(f" ({counts or 'no checks'}) {elapsed_s:.1f} s")
    if result.error:
        line.append(f" — {one_line(result.error)}")
    return line


@singledispatch
def describe(event: Event, nested_indent: str = "") -> Text | None:
    """The line people see for `event`, or None for an event the terminal does not show.

    Not shown: a target starting, ready or failed (the target says so itself, and the
    scenario's verdict line says why it failed), the end of a run (its tables follow).
    `nested_indent` goes before the lines of a release inside a bisect step.
    """
    return None


@describe.register
def _(event: RunStarted, nested_indent: str = "") -> Text:
    at_once = f", {event.jobs} proxies at a time" if event.jobs > 1 else ""
    return Text(f"{event.scenario_count} scenario(s), target {event.target}{at_once}")


@describe.register(TargetProgress)
@describe.register(ScenarioProgress)
@describe.register(ReleaseNote)
def _free_text(event: TargetProgress | ScenarioProgress | ReleaseNote, nested_indent: str = "") -> Text:
    return Text(event.message)


@describe.register
def _(event: ScenarioStarted, nested_indent: str = "") -> Text:
    return Text(f"scenario {event.scenario_id}")


@describe.register
def _(event: ScenarioFinished, nested_indent: str = "") -> Text:
    return verdict_line(event.result, event.elapsed_s)


@describe.register
def _(event: InRelease, nested_indent: str = "") -> Text | None:
    inner = describe(event.event, nested_indent)
    return None if inner is None else Text(f"{nested_indent}[{event.version}] ").append_text(inner)


@describe.register
def _(event: ReleaseStarted, nested_indent: str = "") -> Text:
    return Text(f"[{event.version}] starting")


@describe.register
def _(event: ReleaseFinished, nested_indent: str = "") -> Text:
    as_released = " (dependencies as released)" if event.deps == "as-released" else ""
    return Text(f"[{event.version}] done in {event.elapsed_s:.0f} s: {event.overall}{as_released}")


@describe.register
def _(event: BisectStep, nested_indent: str = "") -> Text:
    return Text(f"testing {event.version} — {event.step} of ~{event.estimated_total}")


@describe.register
def _(event: BisectVerdict, nested_indent: str = "") -> Text:
    verdict = event.verdict
    state = verdict.state.value
    line = Text(f"{nested_indent}{verdict.version}: ")
    line.append(state, style=STATE_STYLE.get(state, ""))
    if verdict.deps == "as-released":
        line.append(" (dependencies as released)", style="dim")
    line.append(f" — {one_line(verdict.reason)} ")
    line.append(f"({event.elapsed_s:.0f} s)", style="dim")
    return line


class ProgressPrinter:
    """`   12.3s message` lines on a console: call it with an event, or a line of free text (a `Log`)."""

    def __init__(self, console: Console, nested_indent: str = "") -> None:
        self._console = console
        self._nested_indent = nested_indent
        self.started = time.monotonic()

    def __call__(self, event: Event | str) -> None:
        line = Text(event) if isinstance(event, str) else describe(event, self._nested_indent)
        if line is not None:
            self._console.print(Text(f"{self.elapsed_s:7.1f}s ", style="dim").append_text(line), highlight=False)

    @property
    def elapsed_s(self) -> float:
        """Seconds since the printer was made (the command started)."""
        return time.monotonic() - self.started


def as_lines(log: Log, shown: Callable[[Event], bool] = lambda _event: True) -> EventSink:
    """An event sink that hands `log` each shown event's line as plain text."""

    def sink(event: Event) -> None:
        line = describe(event) if shown(event) else None
        if line is not None:
            log(line.plain)

    return sink
