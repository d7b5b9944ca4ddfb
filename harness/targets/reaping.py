"""Reaping what killed runs and builds left: their processes, run folders and build folders.

A run or build owner killed with SIGKILL cannot clean up; the next run (and `gateconform clean`)
does it here. Processes are found by their run marker (`processes.py`), folders by the owner
file they record (`lifecycle.OWNER_FILE`); anything whose owner process still lives (parallel
workers, a build in progress under its lock) is never touched. What a gateway's builds leave
in the cache is swept by the sweepers it passes (`build_sweepers`).
"""

from __future__ import annotations

import shutil
import signal
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

from harness.common.log import Log
from harness.common.cache_root import default_cache_root
from harness.targets.build_sites import SweptFolder, remove_folder, tool_temp_folders
from harness.targets.lifecycle import BUILD_RUN_PREFIX, OWNER_ENV, RUN_ID_ENV, identity_alive, read_owner_file
from harness.targets.processes import (
    command_line,
    descendants,
    describe_process,
    marked_processes,
    send_signal,
    wait_until_gone,
)

#: Sweeps the build folders a gateway's killed builds left under a cache root; reports each one.
BuildSweeper = Callable[[Path], list[SweptFolder]]

#: The temp folder of a local run starts with this (then its run id).
RUN_DIR_PREFIX = "gateconform-run-"
#: The temp folder of a PostgreSQL server started for a run (`postgres.PostgresServer`).
POSTGRES_DIR_PREFIX = "gateconform-pg-"


def _no_log(_message: str) -> None:
    pass


def leftover_run_dirs() -> list[Path]:
    """Temp folders of gateconform runs (proxy runs and PostgreSQL servers) that still exist."""
    temp = Path(tempfile.gettempdir())
    return sorted(p for pattern in (f"{RUN_DIR_PREFIX}*", f"{POSTGRES_DIR_PREFIX}*") for p in temp.glob(pattern))


@dataclass
class Reaped:
    """What `reap_orphans` found left by killed runs and builds, and what it did with it."""

    #: each process killed, as `pid name` (e.g. `4242 uv`)
    processes: list[str] = field(default_factory=list)
    #: run folders (proxy runs, PostgreSQL servers) removed from the temp folder
    run_dirs: list[Path] = field(default_factory=list)
    #: build sites and never-completed environments in the cache: removed, or kept and why
    build_folders: list[SweptFolder] = field(default_factory=list)

    @property
    def removed_build_folders(self) -> list[SweptFolder]:
        return [folder for folder in self.build_folders if folder.removed]

    @property
    def kept_build_folders(self) -> list[SweptFolder]:
        return [folder for folder in self.build_folders if not folder.removed]

    @property
    def anything_removed(self) -> bool:
        return bool(self.processes or self.run_dirs or self.removed_build_folders)


def reap_orphans(
    log: Log | None = None, cache_root: Path | None = None, build_sweepers: Sequence[BuildSweeper] = ()
) -> Reaped:
    """Kill processes and remove folders left by runs and builds whose owner process is gone.

    That is: processes carrying the run marker of a dead owner (a proxy, its engine, PostgreSQL,
    a build's uv, prisma, npm or node) and their children, the run folders in the temp folder,
    the temp folders of the killed builds' tools, and what `build_sweepers` find in
    `cache_root` (default: the user cache). Runs and builds of live owners are never touched.
    """
    log = log or _no_log
    cache_root = (cache_root or default_cache_root()).resolve()
    reaped = Reaped()
    tool_temps: set[Path] = set()
    seen: set[int] = set()
    # Two rounds: a dying proxy may have spawned a new child after the first look (a proxy may
    # respawn its database engine), and that child carries the run marker too.
    for _round in range(2):
        roots = _orphaned_roots()
        if not roots:
            break
        orphans = set(roots) | descendants(set(roots))
        reaped.processes += [describe_process(pid) for pid in sorted(orphans - seen)]
        seen |= orphans
        tool_temps.update(folder for pid in orphans for folder in tool_temp_folders(command_line(pid)))
        # SIGQUIT first: for a PostgreSQL postmaster it is an immediate shutdown that still
        # removes its shared memory (SIGKILL would leave segments behind); fatal for the others.
        # A build's processes (uv, prisma, npm) have nothing to save: SIGKILL at once.
        for pid, run_id in roots.items():
            send_signal(pid, signal.SIGKILL if run_id.startswith(BUILD_RUN_PREFIX) else signal.SIGQUIT)
            send_signal(pid, signal.SIGCONT)  # a stopped (hung) process acts on it only once continued
        wait_until_gone(orphans, timeout_s=5)
        for pid in orphans:
            send_signal(pid, signal.SIGKILL)
        wait_until_gone(orphans, timeout_s=5)  # a killed process lingers until the kernel reaps it
    for run_dir in leftover_run_dirs():
        owner = read_owner_file(run_dir)
        if owner is None:
            continue  # not written yet by a starting run, or not one of ours
        if not identity_alive(owner):
            shutil.rmtree(run_dir, ignore_errors=True)
            if not run_dir.exists():
                reaped.run_dirs.append(run_dir)
    # After the processes: an orphaned uv would otherwise keep writing into what is removed.
    reaped.build_folders = [folder for sweep in build_sweepers for folder in sweep(cache_root)]
    reaped.build_folders += [remove_folder(folder, "a temp folder of a killed build's tool")
                             for folder in sorted(tool_temps)]
    if reaped.anything_removed:
        log(f"removed what killed runs and builds left: {describe_reaped(reaped)}")
    return reaped


def describe_reaped(reaped: Reaped) -> str:
    """`3 process(es), 1 run folder(s), 1 build folder(s) (534 MB)` (`nothing` when empty)."""
    parts = []
    if reaped.processes:
        parts.append(f"{len(reaped.processes)} process(es)")
    if reaped.run_dirs:
        parts.append(f"{len(reaped.run_dirs)} run folder(s)")
    removed = reaped.removed_build_folders
    if removed:
        size = sum(folder.size_bytes for folder in removed)
        parts.append(f"{len(removed)} build folder(s) ({size / 10**6:.0f} MB)")
    return ", ".join(parts) or "nothing"


def _orphaned_roots() -> dict[int, str]:
    """Marked processes whose owning run (or build) process is gone: pid → their run id."""
    return {
        pid: marker.get(RUN_ID_ENV, "") for pid, marker in marked_processes()
        if marker.get(OWNER_ENV) and not identity_alive(marker[OWNER_ENV])
    }
