"""What every target shares about living and dying: who owns a run, and the safety net that stops
live targets at exit or on SIGTERM/SIGHUP. When a proxy is ready is its gateway's to say
(`harness.gateways.base.Gateway.readiness`).

A run's owner is recorded as `pid:start-ticks` (a pid alone may be reused by an unrelated process
later), so a later run can tell that an owner killed with SIGKILL is gone and sweep what it left.
"""

from __future__ import annotations

import atexit
import os
import signal
import threading
import time
from pathlib import Path
from types import FrameType
from types import TracebackType
from typing import Callable, Protocol, Self, TypeVar


T = TypeVar("T")


def timed(timings: dict[str, float], name: str, step: Callable[[], T]) -> T:
    """Run `step`, recording its duration in `timings[name]` (also when it fails)."""
    started = time.monotonic()
    try:
        return step()
    finally:
        timings[name] = time.monotonic() - started


class Stoppable(Protocol):
    def stop(self) -> None: ...


class StopsOnExit:
    """Mixin: `with target:` stops the target on the way out, on success, error or Ctrl-C."""

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


class StartableTarget(Stoppable, Protocol):
    label: str
    base_url: str
    timings: dict[str, float]

    def log(self, message: str) -> None: ...


def start_or_clean_up(target: StartableTarget, start: Callable[[], T]) -> T:
    """Run a target's `start` under the safety net; on any failure (or Ctrl-C) stop it first.

    Whatever `start` got as far as creating is removed before the error propagates, so a
    failed or interrupted boot leaves nothing behind.
    """
    register_live_target(target)
    started = time.monotonic()
    try:
        started_thing = start()
    except BaseException:
        target.stop()
        raise
    target.timings["start_total_s"] = time.monotonic() - started
    target.log(f"{target.label}: ready at {target.base_url} ({target.timings['start_total_s']:.1f} s in all)")
    return started_thing


def process_identity(pid: int) -> str:
    """`pid:start-ticks` of a process (`pid:?` when it cannot be read)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        start_ticks = stat.rsplit(")", 1)[-1].split()[19]
    except (OSError, IndexError):
        start_ticks = "?"
    return f"{pid}:{start_ticks}"


def identity_alive(identity: str) -> bool:
    """Whether the process `identity` names is still the same live process.

    A zombie (exited, its parent never reaped it: e.g. a detached process whose new parent does
    not reap, as the keeper of `gateconform up` may be) is gone: it owns nothing any more.
    """
    pid_text, _, _ = identity.partition(":")
    if not pid_text.isdigit():
        return False
    try:
        state = Path(f"/proc/{pid_text}/stat").read_text().rsplit(")", 1)[-1].split()[0]
    except (OSError, IndexError):
        state = "?"
    return state not in ("Z", "X") and process_identity(int(pid_text)) == identity


#: This process, as the owner of the runs it starts.
OWNER_IDENTITY = process_identity(os.getpid())

#: Every process a run or a build starts carries these two variables, and its children inherit
#: them: the run (or build) it belongs to, and the `pid:start-ticks` of the Python process that
#: owns it. The reaper finds processes by them and kills those whose owner is gone.
RUN_ID_ENV = "GATECONFORM_RUN_ID"
OWNER_ENV = "GATECONFORM_RUN_OWNER"
#: Set on a warm parent (`warm_parent.py`): the folder where it records each forked child's own run
#: marker, since a forked child's /proc/<pid>/environ shows the parent's environment, not its own.
FORK_LEDGER_ENV = "GATECONFORM_FORK_LEDGER"
#: Run ids of environment and engine builds start with this (runs use bare hex ids).
BUILD_RUN_PREFIX = "build-"
#: A run or build folder records its owner in this file, so a later sweep can tell it was abandoned.
OWNER_FILE = "owner"


def current_owner() -> str:
    """`pid:start-ticks` of this process, read now (a forked child is not its parent's owner)."""
    return process_identity(os.getpid())


def marker_env(run_id: str, owner: str) -> dict[str, str]:
    """The variables that mark a process (and its children) as part of run `run_id` owned by `owner`."""
    return {RUN_ID_ENV: run_id, OWNER_ENV: owner}


def write_owner_file(folder: Path, owner: str) -> None:
    """Record `owner` (`pid:start-ticks`) as the process a folder belongs to."""
    (folder / OWNER_FILE).write_text(owner + "\n")


def read_owner_file(folder: Path) -> str | None:
    """The owner recorded in `folder`, or None if there is none (not written yet, or not ours)."""
    try:
        owner = (folder / OWNER_FILE).read_text().strip()
    except OSError:
        return None
    return owner or None

_live_targets: set[Stoppable] = set()
_live_lock = threading.Lock()
_safety_net_installed = False


def register_live_target(target: Stoppable) -> None:
    """Have `target.stop()` called at interpreter exit and on SIGTERM/SIGHUP until unregistered."""
    _install_safety_net()
    with _live_lock:
        _live_targets.add(target)


def unregister_live_target(target: Stoppable) -> None:
    """`target` stopped by itself; the safety net no longer needs to."""
    with _live_lock:
        _live_targets.discard(target)


def _stop_all_live_targets() -> None:
    with _live_lock:
        targets = list(_live_targets)
    for target in targets:
        try:
            target.stop()
        except Exception:  # noqa: BLE001 - best effort at exit, keep stopping the others
            pass


def _exit_on_signal(signum: int, _frame: FrameType | None) -> None:
    # Turn SIGTERM/SIGHUP into a normal exit so `finally` blocks, context managers and atexit
    # (which stops every live target) run.
    raise SystemExit(128 + signum)


def _install_safety_net() -> None:
    """Stop live targets at interpreter exit and on SIGTERM/SIGHUP (once per process)."""
    global _safety_net_installed
    if _safety_net_installed:
        return
    _safety_net_installed = True
    atexit.register(_stop_all_live_targets)
    if threading.current_thread() is not threading.main_thread():
        return
    for signum in (signal.SIGTERM, signal.SIGHUP):
        # Only where nobody else (pytest, a CLI framework) installed a handler of their own.
        if signal.getsignal(signum) is signal.SIG_DFL:
            signal.signal(signum, _exit_on_signal)

