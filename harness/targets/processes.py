"""Processes on this machine as the harness sees them: which ones run from a folder, which are ours.

Every process a run or a build starts carries the run marker (`lifecycle.RUN_ID_ENV` and
`OWNER_ENV`) in its environment, and its children inherit it; `running_children()` and
`processes_owned_by()` find them by it, which is how a target kills its stragglers, how the
reaper (`reaping.py`) finds what a killed run left, and how tests check that nothing survived.
Read from /proc (Linux); signals to processes that are gone or not ours are ignored.

A process forked by a warm parent (`warm_parent.py`) shows its parent's environment in
/proc/<pid>/environ, so its own marker is read from the ledger its parent keeps
(`lifecycle.FORK_LEDGER_ENV`, one file per child, checked against the child's start time).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Iterable, Iterator

from harness.targets.lifecycle import FORK_LEDGER_ENV, OWNER_ENV, RUN_ID_ENV

_PROC = Path("/proc")


def _pids(*, but_ours: bool = True) -> Iterator[int]:
    """Every pid listed in /proc (but this process's own, unless `but_ours` is False)."""
    for entry in _PROC.iterdir():
        if entry.name.isdigit() and not (but_ours and int(entry.name) == os.getpid()):
            yield int(entry.name)


def _stat_fields(pid: int) -> list[str] | None:
    """The fields of /proc/<pid>/stat after the command name (state first), or None if unreadable.

    The command name is parenthesised and may itself contain spaces and parentheses.
    """
    try:
        return (_PROC / str(pid) / "stat").read_text().rsplit(")", 1)[-1].split()
    except OSError:
        return None


def _is_zombie(fields: list[str]) -> bool:
    """Exited, not yet reaped by its parent: it holds nothing and only its parent can reap it."""
    return not fields or fields[0] in ("Z", "X")


def is_running(pid: int) -> bool:
    """True if `pid` runs; a zombie counts as gone."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # another user's process: it exists
    fields = _stat_fields(pid)
    if fields is None:
        return True  # no /proc (not Linux): trust kill(0)
    return not _is_zombie(fields)


def send_signal(pid: int, sig: int) -> None:
    """Signal `pid`; one that is gone already, or not ours to signal, is left alone."""
    try:
        os.kill(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def signal_group(pgid: int, sig: int) -> None:
    """Signal every process of group `pgid`; a group that is gone, or not ours, is left alone."""
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def wait_until_gone(pids: Iterable[int], timeout_s: float) -> bool:
    """Wait until none of `pids` runs (zombies count as gone); False if some still run at the end."""
    pids = set(pids)
    deadline = time.monotonic() + timeout_s
    while True:
        if not any(is_running(pid) for pid in pids):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)


def processes_using(root: Path) -> list[int]:
    """Pids of live processes started from `root` (its python or scripts in their command line)."""
    marker = str(root.resolve()).encode() + b"/"
    pids = []
    for pid in _pids():
        try:
            cmdline = (_PROC / str(pid) / "cmdline").read_bytes()
        except OSError:
            continue
        if marker in cmdline:
            pids.append(pid)
    return pids


def command_line(pid: int) -> list[str]:
    """The arguments `pid` was started with (empty when it is gone or unreadable)."""
    try:
        raw = (_PROC / str(pid) / "cmdline").read_bytes()
    except OSError:
        return []
    return [arg.decode(errors="replace") for arg in raw.split(b"\0") if arg]


def describe_process(pid: int) -> str:
    """`pid name` (the kernel's short command name), for telling the user what was killed."""
    try:
        return f"{pid} {(_PROC / str(pid) / 'comm').read_text().strip()}"
    except OSError:
        return str(pid)


# --------------------------------------------------------------------------- processes of ours


def running_children(run_id: str | None = None) -> list[int]:
    """Pids of live processes started by gateconform runs (one run if `run_id` is given).

    Found by the run marker in their environment, which children inherit (the proxy, the Prisma
    engine it spawns, the PostgreSQL postmaster), plus every descendant of those: PostgreSQL's
    own children overwrite their environment with their process title. Zombies do not count
    (they hold nothing and only their parent can reap them).
    """
    roots = {pid for pid, marker in marked_processes() if run_id is None or marker.get(RUN_ID_ENV) == run_id}
    return sorted(roots | descendants(roots))


def processes_owned_by(owner: str) -> list[int]:
    """Pids of live processes whose run marker names `owner` (`pid:start-ticks`), and their descendants.

    What a run or build of that owner process started; how tests check a killed build was reaped.
    """
    roots = {pid for pid, marker in marked_processes() if marker.get(OWNER_ENV) == owner}
    return sorted(roots | descendants(roots))


def marked_processes() -> list[tuple[int, dict[str, str]]]:
    """(pid, run marker) of every live process that carries a run marker (zombies aside)."""
    found = []
    for pid in _pids():
        marker = _read_marker(pid)
        if marker and not _is_zombie(_stat_fields(pid) or []) and _in_our_pid_namespace(pid):
            found.append((pid, marker))
    return found


_OUR_PID_NAMESPACE = os.readlink("/proc/self/ns/pid") if Path("/proc/self/ns/pid").exists() else None


def _in_our_pid_namespace(pid: int) -> bool:
    """Whether the process lives in our PID namespace. A marker's owner `pid:ticks` only means
    something there: a build inside a container (an image build runs our own recipe, markers
    and all) names owners by the container's pids, which look dead from here."""
    if _OUR_PID_NAMESPACE is None:
        return True
    try:
        return os.readlink(f"/proc/{pid}/ns/pid") == _OUR_PID_NAMESPACE
    except OSError:
        return False  # not ours to inspect


def descendants(roots: set[int]) -> set[int]:
    """Every live process below `roots` (children, their children …), `roots` themselves aside."""
    children: dict[int, list[int]] = {}
    for pid, parent in _parent_pids().items():
        children.setdefault(parent, []).append(pid)
    found: set[int] = set()
    pending = list(roots)
    while pending:
        for child in children.get(pending.pop(), []):
            if child not in found and child not in roots:
                found.add(child)
                pending.append(child)
    return found


def _parent_pids() -> dict[int, int]:
    """pid → parent pid of every live, non-zombie process."""
    parents = {}
    for pid in _pids(but_ours=False):
        fields = _stat_fields(pid)
        if fields and not _is_zombie(fields):
            parents[pid] = int(fields[1])
    return parents


def _read_marker(pid: int) -> dict[str, str]:
    try:
        raw = (_PROC / str(pid) / "environ").read_bytes()
    except OSError:  # gone, or not ours to read
        return {}
    if RUN_ID_ENV.encode() not in raw:
        return {}
    marker = {}
    names = (RUN_ID_ENV.encode(), OWNER_ENV.encode(), FORK_LEDGER_ENV.encode())
    for item in raw.split(b"\0"):
        key, _, value = item.partition(b"=")
        if key in names:
            marker[key.decode()] = value.decode(errors="replace")
    ledger = marker.pop(FORK_LEDGER_ENV, None)
    if ledger:
        return _forked_marker(Path(ledger), pid) or marker
    return marker


def _forked_marker(ledger: Path, pid: int) -> dict[str, str] | None:
    """The own marker of a warm parent's child `pid`, from the parent's ledger (None: not a child of it).

    The entry names the child's start time, so a pid reused by another process is not taken for it.
    """
    try:
        entry = json.loads((ledger / str(pid)).read_text())
    except (OSError, ValueError):
        return None
    fields = _stat_fields(pid)
    if not isinstance(entry, dict) or not fields or len(fields) < 20 or entry.get("start_ticks") != fields[19]:
        return None
    return {name: str(entry[name]) for name in (RUN_ID_ENV, OWNER_ENV) if name in entry}
