"""`gateconform explore --target V --budget 10m --seed S`: generated worlds against the documented rules.

Worlds (teams, users, keys, access groups, short step sequences) are drawn with Hypothesis from
one model pool, run on one warm proxy, several at once, and judged by the derived oracle; every
distinct disagreement is shrunk to a minimal world and written as a ready-to-run scenario and a
Markdown bug-report draft (`harness.explore`).

Exit codes: 0 no finding and nothing the harness could not decide; 1 findings (also when some
worlds errored: a finding is a definite answer); 2 bad input, the target did not start or install,
or no finding but errors (never "nothing found" when something could not be told).
Heavy modules are imported inside the command, so a refused command starts nothing.
"""

from __future__ import annotations

import json
import re
import shlex
import sys
import time
from pathlib import Path
from typing import Optional

import typer

from harness.cli import console
from harness.cli.console import err, fail, out
from harness.gateways import registry
from harness.model.exit_codes import ExitCode

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)(s|m|h)?$")


def parse_duration(text: str) -> float:
    """`90s`, `10m`, `1.5h` or plain seconds → seconds; `ValueError` otherwise."""
    match = _DURATION.fullmatch(text.strip())
    if match is None or float(match.group(1)) <= 0:
        raise ValueError(f"'{text}' is not a duration (e.g. 90s, 10m, 1h)")
    return float(match.group(1)) * {"s": 1, "m": 60, "h": 3600, None: 1}[match.group(2)]


def explore(
    target: Optional[str] = typer.Option(
        None, "--target", "-t",
        help=f"{registry.spec_name()}==VERSION (local); default {registry.default_gateway().default_target}",
    ),
    seed: int = typer.Option(1, "--seed", min=0, help="same seed and release ⇒ same worlds in the same order"),
    budget: Optional[str] = typer.Option(
        None, "--budget",
        help="wall time of the whole run, e.g. 10m (default 10m unless --worlds): 60% explores, the rest shrinks",
    ),
    worlds: Optional[int] = typer.Option(
        None, "--worlds", min=1, help="run exactly this many worlds (with --budget: at most, within the budget)",
    ),
    concurrency: int = typer.Option(4, "--concurrency", "-c", min=1, max=16, help="worlds at once on the proxy"),
    steps: bool = typer.Option(True, "--steps/--no-steps", help="draw short step sequences (update, block, …)"),
    sweep: bool = typer.Option(False, "--sweep/--no-sweep", help="also sweep every model-bearing route"),
    pool_file: Optional[Path] = typer.Option(
        None, "--pool", help="the models and proxy settings every world shares (default: the gateway's pool)",
    ),
    shrink_runs: int = typer.Option(120, "--shrink-runs", min=0, help="smaller worlds tried per finding at most"),
    out_dir: Optional[Path] = typer.Option(None, "--out", help="where findings go (default reports/explore/<run id>/)"),
) -> None:
    """Generate worlds, run them on a real proxy, report where it disagrees with the documented rules."""
    from harness.explore.pool import PoolError, default_pool_path, load_pool
    from harness.explore.scenarios import world_scenario
    from harness.scenario.loader import ScenarioError

    try:
        budget_s = parse_duration(budget) if budget is not None else (None if worlds is not None else 600.0)
    except ValueError as exc:
        raise fail(f"gateconform: --budget: {exc}")
    spec = target or registry.default_gateway().default_target
    gateway = registry.gateway_of(spec) if _parses(spec) else None
    if gateway is None:
        raise fail(f"gateconform: --target {spec}: not a target spec")
    if gateway.semantics is None:
        raise fail(f"gateconform: {gateway.title} has no documented semantics: explore has nothing to compare with")
    try:
        pool = load_pool(pool_file or default_pool_path(gateway.name))
        world_scenario({"keys": [{"name": "k1"}]}, pool, "explore-pool", "the pool")  # the pool is well-formed
    except PoolError as exc:
        raise fail(f"gateconform: --pool: {exc}")
    except ScenarioError as exc:
        raise fail(f"gateconform: the pool {pool.source} is not a valid world:\n{exc}")

    from harness.cli.release_options import writable_or_exit
    from harness.common.files import OutputError, make_folder, write_text
    from harness.engine.runner import ScenarioRunner, check_target_spec, new_run_id
    from harness.explore.session import ExploreOptions, Explorer
    from harness.explore.writer import RunFacts, summary_document, summary_text, write_finding
    from harness.model.target import LOCAL, target_kind_of
    from harness.targets.errors import TargetError

    if target_kind_of(spec) != LOCAL:
        raise fail(f"gateconform: --target {spec}: explore starts its own proxy (a local target, "
                   f"{registry.spec_name()}==VERSION)")
    try:
        checked = check_target_spec(spec)
    except TargetError as exc:
        raise fail(f"gateconform: --target {spec}: {exc}")
    spec = checked.spec
    for note in checked.notes:
        err.print(note, highlight=False, markup=False)
    run_id = new_run_id()
    folder = out_dir or Path("reports") / "explore" / run_id
    writable_or_exit(folder)

    options = ExploreOptions(seed=seed, worlds=worlds, budget_s=budget_s, concurrency=concurrency,
                             with_steps=steps, sweep=sweep, shrink_runs=shrink_runs)
    progress = console.progress()
    say = _say()
    started = time.monotonic()
    with ScenarioRunner(spec, events=_target_events_only(progress), run_id=run_id) as runner:
        explorer = Explorer(runner, pool, gateway.vocabulary, options, say=say)
        try:
            outcome = explorer.run()
        except TargetError as exc:
            raise fail(f"gateconform: the proxy did not start: {exc}")
        except KeyboardInterrupt:
            err.print("interrupted: stopping the proxy and removing what this run created")
            raise typer.Exit(ExitCode.INTERRUPTED)
        version = runner.proxy_version
        facts = RunFacts(target=spec, version=version, seed=seed, command=_command_line(spec, seed, options))
        try:
            make_folder(folder)
            written = []
            for number, shrunk in enumerate(outcome.findings, start=1):
                derived = gateway.semantics.derive(shrunk.scenario, version)
                written.append(write_finding(folder, number, shrunk, pool, facts, derived))
            write_text(folder / "summary.md", summary_text(outcome, facts, written))
            write_text(folder / "summary.json", json.dumps(summary_document(outcome, facts, written), indent=2) + "\n")
        except OutputError as exc:
            raise fail(f"gateconform: {exc}")

    out.print(summary_text(outcome, facts, written), highlight=False, markup=False, soft_wrap=True)
    for files in written:
        out.print(f"finding {files.number}: {files.scenario_path}  {files.report_path}", highlight=False, soft_wrap=True)
    out.print(f"summary: {folder / 'summary.md'} ({time.monotonic() - started:.0f} s in all)", highlight=False,
              soft_wrap=True)
    if outcome.findings:
        raise typer.Exit(ExitCode.FOUND)
    if outcome.errors:
        err.print(f"gateconform: no finding, but {len(outcome.errors)} worlds could not be judged in full "
                  "(errors): nothing is claimed", highlight=False, markup=False)
        raise typer.Exit(ExitCode.UNDECIDED)
    raise typer.Exit(ExitCode.OK)


def _parses(spec: str) -> bool:
    try:
        registry.gateway_of(spec)
    except Exception:
        return False
    return True


def _say():  # type: ignore[no-untyped-def]
    """Progress lines on stderr, from any thread."""
    import threading

    lock = threading.Lock()

    def say(line: str) -> None:
        with lock:
            err.print(line, highlight=False, markup=False)

    return say


def _target_events_only(progress):  # type: ignore[no-untyped-def]
    """The runner's events, less the per-scenario ones (explore words its worlds itself)."""
    from harness.engine.events import (
        ScenarioFinished, ScenarioProgress, ScenarioStarted, TargetFailed, TargetProgress, TargetReady, TargetStarting,
    )

    def sink(event):  # type: ignore[no-untyped-def]
        if isinstance(event, (ScenarioStarted, ScenarioFinished, ScenarioProgress)):
            return
        if isinstance(event, (TargetStarting, TargetProgress, TargetReady, TargetFailed)):
            progress(event)

    return sink


def _command_line(spec: str, seed: int, options) -> str:  # type: ignore[no-untyped-def]
    """The explore command that makes the same worlds (what a report says to rerun)."""
    parts = ["gateconform", "explore", "--target", spec, "--seed", str(seed)]
    if options.worlds is not None:
        parts += ["--worlds", str(options.worlds)]
    if options.budget_s is not None and options.worlds is None:
        parts += ["--budget", f"{options.budget_s:.0f}s"]
    if not options.with_steps:
        parts.append("--no-steps")
    if options.sweep:
        parts.append("--sweep")
    return " ".join(shlex.quote(part) for part in parts)


def register(app: typer.Typer) -> None:
    """Add `explore` to the `gateconform` app."""
    app.command("explore")(explore)
