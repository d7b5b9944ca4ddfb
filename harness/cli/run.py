"""`gateconform run`, `validate` and `schema`: scenarios against a real proxy, checked, or described.

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
from pathlib import Path
from typing import Optional

import typer

from harness.cli import console
from harness.cli.console import err, out
from harness.cli.oracle_option import ORACLE_HELP, oracle_or_exit
from harness.gateways import registry
from harness.model.exit_codes import ExitCode
from harness.report import registry as renderers
from harness.scenario.loader import ScenarioError, load_scenarios


def _load_or_exit(paths: list[Path]) -> list:  # type: ignore[type-arg]
    """The scenarios in `paths`, or every problem printed with file and line and exit 2."""
    try:
        return load_scenarios(paths)
    except ScenarioError as exc:
        err.print(str(exc), highlight=False, markup=False)
    except FileNotFoundError as exc:
        err.print(f"gateconform: {exc}", highlight=False, markup=False)
    raise typer.Exit(ExitCode.UNDECIDED)


def run(
    paths: list[Path] = typer.Argument(..., help="scenario files or folders (*.yaml, recursively)"),
    target: Optional[str] = typer.Option(
        None, "--target", "-t",
        help=f"{registry.spec_name()}==VERSION or latest (local, no Docker); docker:{registry.spec_name()}==VERSION "
        f"or docker:IMAGE; url:http://HOST:PORT (a running proxy, master key from $GATECONFORM_MASTER_KEY); "
        f"default {registry.default_gateway().default_target}",
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
    upstream: Optional[str] = typer.Option(
        None, "--upstream", metavar="URL",
        help="url target: the recording upstream (`gateconform upstream serve`) its test models point at, "
        "for full evidence (default $GATECONFORM_UPSTREAM_URL); the master key comes from $GATECONFORM_MASTER_KEY",
    ),
    add_models: Optional[bool] = typer.Option(
        None, "--add-models/--no-add-models",
        help="url target: add the models a scenario needs and the proxy lacks, for the run only (the proxy must "
        "store models in its database; needs --upstream). Default $GATECONFORM_ADD_MODELS, or yes for `gateconform up`",
    ),
    jobs: Optional[int] = typer.Option(
        None, "--jobs", "-j", min=1,
        help="proxies at once, one per distinct model list (default: from the machine's cores and free memory)",
    ),
    oracle: Optional[str] = typer.Option(None, "--oracle", help=ORACLE_HELP),
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
        raise typer.Exit(ExitCode.UNDECIDED)
    oracle_or_exit(oracle, scenarios)
    from harness.compare.gate import GateInputError, evaluate_gate, load_gate_inputs

    try:
        expected, baseline_result = load_gate_inputs(expected_failures, baseline)
    except GateInputError as exc:
        err.print(str(exc), highlight=False, markup=False)
        raise typer.Exit(ExitCode.UNDECIDED)

    # Imported only now: loading and validating must stay fast and start nothing.
    from harness.cli.release_options import writable_or_exit
    from harness.common.files import OutputError
    from harness.engine.watch import WatchLimits
    from harness.report.outputs import write_run_documents
    from harness.engine.runner import (
        DEFAULT_TARGET, ScenarioRunner, attached_target_factory, check_target_spec, with_deps,
    )
    from harness.model.target import URL, target_kind_of
    from harness.targets.attach import AttachOptions
    from harness.targets.errors import TargetError

    spec = target or DEFAULT_TARGET
    attach = AttachOptions(upstream_url=upstream, add_models=add_models)
    try:
        if deps is not None:
            spec = with_deps(spec, deps)
        if (upstream is not None or add_models is not None) and target_kind_of(spec) != URL:
            raise TargetError("--upstream and --add-models are for a url target (url:http://host:port)")
        checked = check_target_spec(spec, attach)  # refused here, once, before anything installs
    except TargetError as exc:
        err.print(f"gateconform: --target {spec}: {exc}", highlight=False, markup=False)
        raise typer.Exit(ExitCode.UNDECIDED)
    writable_or_exit(report_dir)  # a run costs minutes: a folder that cannot be written is found out now
    spec = checked.spec
    for note in checked.notes:
        err.print(note, highlight=False, markup=False)
    limits = WatchLimits(deadline_s=scenario_deadline)
    jobs = jobs or _default_jobs(spec, scenarios)
    factory = attached_target_factory(attach) if target_kind_of(spec) == URL else None
    with ScenarioRunner(spec, events=console.progress(), watch_limits=limits, target_factory=factory,
                        oracle=oracle) as runner:
        try:
            result = runner.run_all(scenarios, jobs=jobs)
        except KeyboardInterrupt:
            err.print("interrupted: stopping the proxy and removing what this run created")
            raise typer.Exit(ExitCode.INTERRUPTED)
        secrets = runner.redactor.secrets

    renderers.show(renderers.RUN, result, out)  # first: the verdicts are in memory, whatever happens to the files
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
        raise typer.Exit(ExitCode.UNDECIDED)
    raise typer.Exit(gate.exit_code)


def _default_jobs(spec: str, scenarios: list) -> int:  # type: ignore[type-arg]
    """Proxies at once when `--jobs` is not given: what the machine holds, one per model list.

    A url target is one proxy whatever the model lists: its scenarios run one at a time, so a
    listing never sees the models another scenario added for itself.
    """
    from harness.engine.grouping import group_by_models
    from harness.engine.scheduler import default_jobs
    from harness.model.target import URL, target_kind_of

    if target_kind_of(spec) == URL:
        return 1
    return default_jobs(groups=len(group_by_models(scenarios)))


def schema() -> None:
    """Print the scenario JSON Schema (for editors: yaml-language-server, VS Code)."""
    from harness.scenario.schema import scenario_json_schema

    sys.stdout.write(json.dumps(scenario_json_schema(), indent=2) + "\n")


def validate(paths: list[Path] = typer.Argument(..., help="scenario files or folders")) -> None:
    """Check scenario files without starting anything."""
    scenarios = _load_or_exit(paths)
    for scenario in scenarios:
        out.print(f"ok  {scenario.path}  ({scenario.id})", highlight=False)


def register(app: typer.Typer) -> None:
    """Add `run`, `validate` and `schema` to the command line."""
    app.command()(run)
    app.command()(validate)
    app.command()(schema)
