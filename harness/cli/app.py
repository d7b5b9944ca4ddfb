"""`gateconform` command line: run scenarios on a target, export the scenario JSON Schema.

Exit codes of `run` (decided by `harness.compare.gate`): 0 = every check passed or was skipped, or
failed only where expected (`--expected-failures`) or already in the baseline (`--baseline`);
1 = a regression (a check failed that is neither); 2 = the harness could not decide: a check
errored, the target did not start, an input was invalid, or the reports could not be written
(the folder is checked before anything starts). Nothing is started when a scenario file is
invalid.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from harness.gateways import registry
from harness.scenario.loader import ScenarioError, load_scenarios

_GATEWAY = registry.default_gateway()  # what help texts name; `--target` may name another
app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help=f"Regression and conformance harness for LLM gateways ({_GATEWAY.title} first).",
)
out = Console()
err = Console(stderr=True, soft_wrap=True)

EXIT_CONFORM, EXIT_FAIL, EXIT_ERROR = 0, 1, 2
_OUTCOME_STYLE = {"fail": "bold red", "error": "bold magenta", "skip": "yellow", "pass": "green"}
_OUTCOME_ORDER = {"fail": 0, "error": 1, "skip": 2, "pass": 3}


class _Progress:
    """Progress lines on stderr, each with the time since the run started."""

    def __init__(self) -> None:
        self._start = time.monotonic()

    def __call__(self, message: str) -> None:
        err.print(f"[dim]{time.monotonic() - self._start:7.1f}s[/dim] {escape(message)}", highlight=False)


def _load_or_exit(paths: list[Path]) -> list:  # type: ignore[type-arg]
    """The scenarios in `paths`, or every problem printed with file and line and exit 2."""
    try:
        return load_scenarios(paths)
    except ScenarioError as exc:
        err.print(str(exc), highlight=False, markup=False)
    except FileNotFoundError as exc:
        err.print(f"gateconform: {exc}", highlight=False, markup=False)
    raise typer.Exit(EXIT_ERROR)


@app.command()
def run(
    paths: list[Path] = typer.Argument(..., help="scenario files or folders (*.yaml, recursively)"),
    target: Optional[str] = typer.Option(
        None, "--target", "-t",
        help=f"{registry.spec_name()}==VERSION or latest (local, no Docker); docker:{registry.spec_name()}==VERSION "
        f"or docker:IMAGE; default {_GATEWAY.default_target}",
    ),
    report_dir: Optional[Path] = typer.Option(
        None, "--report-dir",
        help="where results.json and the reports (HTML, Markdown, JUnit, Allure) go (default reports/<run id>/)",
    ),
    expected_failures: Optional[Path] = typer.Option(
        None, "--expected-failures", help="YAML list of {check, why, issue?}: known failures that do not fail the gate"
    ),
    baseline: Optional[Path] = typer.Option(
        None, "--baseline", help="results.json of an earlier run: only failures new since then fail the gate"
    ),
    deps: Optional[str] = typer.Option(
        None, "--deps",
        help="local target's dependencies: 'today' (default: what pip installs today) or 'as-released' "
        f"(as of the release's upload date; same as --target {registry.spec_name()}==X@as-released)",
    ),
    scenario_deadline: float = typer.Option(
        120.0, "--scenario-deadline", min=1.0, metavar="SECONDS",
        help="longest a scenario's provisioning and probes may take before their checks are ERROR "
        "(a proxy that stops answering its health route is given up on after 30 s regardless)",
    ),
) -> None:
    """Run scenarios against a real proxy and print the verdicts."""
    scenarios = _load_or_exit(paths)
    if not scenarios:
        err.print("gateconform: no scenario files found in " + ", ".join(map(str, paths)))
        raise typer.Exit(EXIT_ERROR)
    from harness.compare.gate import GateInputError, evaluate_gate, load_gate_inputs

    try:
        expected, baseline_result = load_gate_inputs(expected_failures, baseline)
    except GateInputError as exc:
        err.print(str(exc), highlight=False, markup=False)
        raise typer.Exit(EXIT_ERROR)

    # Imported only now: loading and validating must stay fast and start nothing.
    from harness.common.files import OutputError, check_folder
    from harness.engine.watch import WatchLimits
    from harness.report.outputs import write_run_documents
    from harness.engine.runner import DEFAULT_TARGET, ScenarioRunner, check_target_spec, with_deps
    from harness.targets.errors import TargetError

    spec = target or DEFAULT_TARGET
    try:
        if deps is not None:
            spec = with_deps(spec, deps)
        checked = check_target_spec(spec)  # refused here, once, before anything installs
    except TargetError as exc:
        err.print(f"gateconform: --target {spec}: {exc}", highlight=False, markup=False)
        raise typer.Exit(EXIT_ERROR)
    try:  # a run costs minutes: a report folder that cannot be written is found out now
        check_folder(report_dir or Path("reports"))
    except OutputError as exc:
        hint = "" if report_dir else "choose another folder with --report-dir; "
        err.print(f"gateconform: {exc} ({hint}nothing was started)", highlight=False, markup=False)
        raise typer.Exit(EXIT_ERROR)
    spec = checked.spec
    for note in checked.notes:
        err.print(note, highlight=False, markup=False)
    progress = _Progress()
    progress(f"{len(scenarios)} scenario(s), target {spec}")
    limits = WatchLimits(deadline_s=scenario_deadline)
    with ScenarioRunner(spec, log=progress, watch_limits=limits) as runner:
        try:
            result = runner.run_all(scenarios)
        except KeyboardInterrupt:
            err.print("interrupted: stopping the proxy and removing what this run created")
            raise typer.Exit(130)
        secrets = runner.redactor.secrets

    _print_verdicts(result)  # first: the verdicts are in memory, whatever happens to the files
    folder = report_dir or Path("reports") / result.run_id
    try:
        written, write_error = write_run_documents(result, folder, secrets), None
    except OutputError as exc:
        written, write_error = exc.written, exc
    for path in written:
        out.print(f"report: {path}", highlight=False, soft_wrap=True)  # paths stay copyable
    # The gate decides the exit code: 0 conform or only known failures, 1 regressions, 2 could not tell.
    gate = evaluate_gate(result, expected, baseline_result)
    if expected is not None or baseline_result is not None:
        for line in gate.lines():
            out.print(line, highlight=False, markup=False, soft_wrap=True)  # check ids stay copyable
    if write_error is not None:
        err.print(f"gateconform: {write_error} (the verdicts above are complete; no partial file was left)",
                  highlight=False, markup=False)
        raise typer.Exit(EXIT_ERROR)
    raise typer.Exit(gate.exit_code)


def _shorten(text: str, limit: int = 300) -> str:
    """Keep the terminal readable (a wildcard key can list 200 models); reports keep it all."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… (+{len(text) - limit} characters, in full in the reports)"


def _print_verdicts(result) -> None:  # type: ignore[no-untyped-def]
    """One compact table per scenario, scenarios and checks with failures first, then counts.

    A scenario that could not run (the target did not install or start) prints its error once,
    and once only across scenarios sharing it; its checks' rows say ERROR and repeat nothing.
    """
    out.print(escape(f"target {result.target} — {_proxy_description(result)}"), style="bold")
    scenarios = sorted(result.scenarios, key=lambda s: _OUTCOME_ORDER.get(s.overall, 9))
    first_with_error: dict[str, str] = {}  # error text → the scenario it was printed under
    for scenario in scenarios:
        table = Table(title=escape(f"{scenario.id} — {scenario.overall.upper()}"), title_justify="left")
        for column in ("verdict", "check", "expected", "observed"):
            table.add_column(column, overflow="fold")
        verdicts = sorted(scenario.verdicts, key=lambda v: _OUTCOME_ORDER.get(v.outcome.value, 9))
        for verdict in verdicts:
            outcome = verdict.outcome.value
            table.add_row(
                f"[{_OUTCOME_STYLE[outcome]}]{outcome.upper()}[/]",
                escape(verdict.title), escape(_shorten(verdict.expected)), escape(_shorten(verdict.observed)),
            )
        out.print(table)
        if scenario.error:
            first = first_with_error.setdefault(scenario.error, scenario.id)
            said = scenario.error if first == scenario.id else f"the same error as {first} (above)"
            out.print(f"[bold magenta]{escape(scenario.id)}[/]: {escape(said)}", highlight=False)
        for verdict in verdicts:
            if verdict.outcome.value not in ("fail", "error"):
                continue
            if scenario.error and verdict.message.endswith(scenario.error):
                continue  # the scenario's error, said once just above
            style = _OUTCOME_STYLE[verdict.outcome.value]
            out.print(f"[{style}]✗[/] {escape(_shorten(verdict.message))}", highlight=False)
    counts = result.counts
    summary = ", ".join(f"{counts.get(name, 0)} {name}" for name in ("pass", "fail", "error", "skip"))
    out.print(f"[bold]{result.overall.upper()}[/]: {summary}")


def _proxy_description(result) -> str:  # type: ignore[no-untyped-def]
    """`<gateway title> 1.82.3`, or what happened when no proxy reported a version."""
    if result.proxy_version:
        return f"{registry.title_of(result.target)} {result.proxy_version}"
    if any(s.error and s.error.startswith("target did not start") for s in result.scenarios):
        return "no proxy started (the target did not install or start; see below)"
    return "proxy version not reported"


@app.command()
def schema() -> None:
    """Print the scenario JSON Schema (for editors: yaml-language-server, VS Code)."""
    from harness.scenario.schema import scenario_json_schema

    sys.stdout.write(json.dumps(scenario_json_schema(), indent=2) + "\n")


@app.command()
def validate(paths: list[Path] = typer.Argument(..., help="scenario files or folders")) -> None:
    """Check scenario files without starting anything."""
    scenarios = _load_or_exit(paths)
    for scenario in scenarios:
        out.print(f"ok  {scenario.path}  ({scenario.id})", highlight=False)


def _register_command_modules() -> None:
    # Each module keeps its heavy imports inside its commands, so `run` stays fast to start.
    from harness.cli import clean, docker, releases, report

    for module in (report, releases, docker, clean):
        module.register(app)


_register_command_modules()


def main() -> None:
    """Console-script entry point."""
    app()
