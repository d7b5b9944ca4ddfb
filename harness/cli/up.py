"""`gateconform up` and `down`: a local proxy kept warm for the edit-and-rerun loop of a bug.

`up` starts a keeper process (`harness.cli.keeper`) that runs a local proxy with its
PostgreSQL and recording upstream until `down`; `run --target url:<its URL>` then needs no
master key or upstream of its own (the state file gives both) and adds the models each scenario
needs for the run only, so a rerun costs the scenario, not a proxy boot. `up` again names the
proxy that is up (exit 0 for the same target; exit 2 for another: `down` first). `down` stops
the keeper, which stops everything it started, and removes its state: nothing is left behind.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Optional

import typer

from harness.cli import console
from harness.cli.console import err, fail, out
from harness.model.exit_codes import ExitCode

if TYPE_CHECKING:
    from harness.targets.up_state import UpState

#: How long `up` waits for the keeper's proxy to be ready (a first run may build its environment).
UP_TIMEOUT_S = 900.0
#: How long `down` waits for the keeper to stop everything before it kills what is left.
DOWN_TIMEOUT_S = 60.0


def register(app: typer.Typer) -> None:
    """Add `up` and `down` to the `gateconform` app."""
    app.command("up")(up)
    app.command("down")(down)


def up(
    target: Optional[str] = typer.Option(
        None, "--target", "-t", help="the local target to keep up (default: the default target)"),
) -> None:
    """Start a local proxy (with its database and recording upstream) and keep it up until `gateconform down`.

    Run scenarios against it with `gateconform run … --target url:<URL>` (printed): each rerun
    costs the scenario, not a proxy boot.
    """
    from harness.engine.runner import DEFAULT_TARGET, check_target_spec
    from harness.model.target import LOCAL, target_kind_of
    from harness.targets import up_state
    from harness.targets.errors import TargetError

    spec = target or DEFAULT_TARGET
    try:
        if target_kind_of(spec) != LOCAL:
            raise TargetError("gateconform up keeps a local proxy: give a release, e.g. --target latest")
        spec = check_target_spec(spec).spec
    except TargetError as exc:
        raise fail(f"gateconform: --target {spec}: {exc}")
    state = up_state.read()
    if state is not None and state.alive:
        if state.target != spec:
            raise fail(f"gateconform: {state.target} is already up at {state.base_url}; "
                       "`gateconform down` first to keep another target up")
        _print_up(state, "already up")
        raise typer.Exit(ExitCode.OK)
    if state is not None:
        _clear_stale(state)
    folder = up_state.up_dir()
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o700)
    log_path = folder / up_state.KEEPER_LOG
    progress = console.progress()
    progress(f"starting {spec} (proxy, PostgreSQL, recording upstream) …")
    with open(log_path, "wb") as log:
        keeper = subprocess.Popen(
            [sys.executable, "-m", "harness.cli.keeper", spec], cwd=folder, stdin=subprocess.DEVNULL,
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,  # outlives this command and its terminal
            env={**os.environ, "PYTHONPATH": _import_path()},
        )
    try:
        state = _wait_for_keeper(keeper, log_path)
    except KeyboardInterrupt:
        keeper.terminate()
        keeper.wait(DOWN_TIMEOUT_S)
        err.print("interrupted: the proxy was stopped")
        raise typer.Exit(ExitCode.INTERRUPTED)
    progress(f"up in {progress.elapsed_s:.0f} s")
    _print_up(state, "up")


def down() -> None:
    """Stop the proxy `gateconform up` keeps, with its database and upstream; nothing is left behind."""
    import signal

    from harness.targets import up_state
    from harness.targets.processes import send_signal, wait_until_gone

    state = up_state.read()
    if state is None:
        out.print("nothing is up")
        raise typer.Exit(ExitCode.OK)
    if not state.alive:
        _clear_stale(state)
        out.print(f"{state.target} at {state.base_url} was not running any more; cleared what it left")
        raise typer.Exit(ExitCode.OK)
    started = time.monotonic()
    send_signal(state.pid, signal.SIGTERM)
    if not wait_until_gone([state.pid], DOWN_TIMEOUT_S):
        send_signal(state.pid, signal.SIGKILL)
        wait_until_gone([state.pid], 10)
        _clear_stale(state)
        raise fail(f"gateconform: the keeper of {state.base_url} did not stop in {DOWN_TIMEOUT_S:.0f} s; "
                   "it was killed and what it left was removed")
    up_state.clear()
    _remove_up_folder()
    out.print(f"down: {state.target} at {state.base_url} stopped ({time.monotonic() - started:.1f} s)")


def _wait_for_keeper(keeper: "subprocess.Popen[bytes]", log_path: Path) -> "UpState":
    """The state the keeper wrote once its proxy is ready; exit 2 with its log's end if it ended first."""
    from harness.targets import up_state

    deadline = time.monotonic() + UP_TIMEOUT_S
    while time.monotonic() < deadline:
        state = up_state.read()
        if state is not None and state.pid == keeper.pid and state.alive:
            return state
        if keeper.poll() is not None:
            tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-25:])
            log_path.unlink(missing_ok=True)
            raise fail(f"gateconform: the proxy did not come up (exit {keeper.returncode}):\n{tail}")
        time.sleep(0.2)
    keeper.terminate()
    keeper.wait(DOWN_TIMEOUT_S)
    raise fail(f"gateconform: the proxy was not up after {UP_TIMEOUT_S:.0f} s; stopped it")


def _print_up(state: "UpState", how: str) -> None:
    version = f", version {state.proxy_version}" if state.proxy_version else ""
    out.print(f"{how}: {state.target} at {state.base_url}{version} (recording upstream {state.upstream_url})",
              highlight=False, soft_wrap=True)
    out.print(f"run:  gateconform run SCENARIO.yaml --target url:{state.base_url}", highlight=False, soft_wrap=True)
    out.print("stop: gateconform down", highlight=False)


def _clear_stale(state: "UpState") -> None:
    """A keeper that is gone (killed): reap what it left, forget its state."""
    from harness.gateways import registry
    from harness.targets import reaping, up_state

    sweepers = [sweep for name in registry.names() for sweep in registry.gateway(name).build_sweepers()]
    reaping.reap_orphans(lambda message: err.print(message, highlight=False), build_sweepers=sweepers)
    up_state.clear()
    _remove_up_folder()


def _remove_up_folder() -> None:
    """The keeper's log and the models' lock, then the folder if nothing else is in it."""
    from harness.targets import up_state

    folder = up_state.up_dir()
    for name in (up_state.KEEPER_LOG, up_state.MODELS_LOCK):
        (folder / name).unlink(missing_ok=True)
    try:
        folder.rmdir()
    except OSError:
        pass  # not empty (something of the user's) or already gone


def _import_path() -> str:
    """The keeper imports this very harness, wherever it was imported from (a checkout or an install)."""
    import harness

    root = str(Path(harness.__file__).resolve().parents[1])
    existing = os.environ.get("PYTHONPATH", "")
    return root if not existing else f"{root}{os.pathsep}{existing}"
