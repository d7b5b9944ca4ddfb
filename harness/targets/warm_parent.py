"""Warm parents: a program's heavy imports done once, each start of it a fork (harness side).

A `WarmParent` runs `warm_parent_server.py` under the program's own interpreter; once it has
imported what `WarmParentSpec.preload` names, `fork()` starts a copy of the program in a few
milliseconds, with its own argv, environment, working folder, log and session. `WARM_PARENTS`
keeps one parent per `WarmParentSpec.identity` for the life of this process and stops them at
exit.

What a program reads while it is imported is frozen in its warm parent, so everything that
could differ between two starts is part of the identity: the interpreter, the program script,
the modules, the entry, a token the caller derives from the installation (rebuilt → another
parent), and the parent's environment, which is the start's environment minus the variables
the caller declares to be read only after the import (`split_environment`). A start whose
import-time environment differs gets another parent, never a stale one.

Ownership: the parent carries a run marker of its own (`warm-<hex>`, owned by this process) and
`FORK_LEDGER_ENV`, the folder where it records each child's own marker. A forked child's
/proc/<pid>/environ shows the parent's environment, not its own; `processes.py` reads the
child's marker from that ledger, so a forked program is found by its run id like any other,
and a killed owner's parent and children are reaped (`reaping.py`). The parent also stops by
itself, taking its children along, as soon as this process is gone (its stdin closes).
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Sequence

from harness.common.log import Log, quiet
from harness.common.machine import cores
from harness.targets import warm_parent_server
from harness.targets.lifecycle import (
    FORK_LEDGER_ENV,
    OWNER_ENV,
    RUN_ID_ENV,
    current_owner,
    marker_env,
    register_live_target,
    write_owner_file,
)
from harness.targets.processes import is_running, signal_group, wait_until_gone
from harness.targets.reaping import RUN_DIR_PREFIX

#: Run ids of warm parents start with this (their children keep the run ids of their own runs).
WARM_RUN_PREFIX = "warm-"
#: Warm parents kept at once; beyond it the least recently used idle one is stopped.
MAX_WARM_PARENTS = 3
#: How long a parent may take for its imports (a cold machine, a loaded one) before it is given up.
WARM_UP_TIMEOUT_S = 300.0
PROGRESS_EVERY_S = 10.0
_SERVER_SOURCE = Path(warm_parent_server.__file__)
_LOG_TAIL_LINES = 30


class ForkUnavailable(Exception):
    """No fork this time; the caller starts the program plainly and prints `reason`.

    `lasting`: the same parent would fail again (an import error, threads after the import), so
    the pool does not try it again in this process.
    """

    def __init__(self, reason: str, lasting: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.lasting = lasting


def fork_supported() -> str | None:
    """Why this machine cannot fork warm parents' children (None: it can)."""
    if not sys.platform.startswith("linux"):
        return f"forking a warm parent needs Linux (/proc, prctl); this is {sys.platform}"
    if not hasattr(os, "fork"):
        return "this Python has no os.fork"
    return None


def split_environment(env: Mapping[str, str], run_time: Sequence[str]) -> tuple[dict[str, str], dict[str, str]]:
    """(import-time, run-time) parts of a start's environment.

    Only the variables named in `run_time` (and the run marker, which is every start's own) are
    known to be read after the import; every other variable counts as import-time, so a value
    nobody has declared can only ever cost another parent, never give a stale one.
    """
    later = set(run_time) | {RUN_ID_ENV, OWNER_ENV, FORK_LEDGER_ENV}
    import_time = {name: value for name, value in env.items() if name not in later}
    return import_time, {name: value for name, value in env.items() if name in later}


@dataclass(frozen=True)
class WarmParentSpec:
    """What a warm parent is: the program it imports and the environment it imports it in."""

    python: Path  # the program's interpreter
    argv0: Path  # the script a plain start runs (sys.argv[0] and sys.path[0] during the import)
    preload: tuple[str, ...]  # modules imported once
    entry: str  # `module:attribute` each child calls, as the script would
    env: Mapping[str, str] = field(hash=False)  # the import-time environment (`split_environment`)
    token: str = ""  # the installation's identity (e.g. when it was built)
    #: a Python file whose `warm_up()` steps the parent runs between requests (`warm_parent_server`)
    warm_up: Path | None = None

    @property
    def identity(self) -> str:
        """A digest of everything the parent's imports could depend on."""
        document = {"python": str(self.python), "argv0": str(self.argv0), "preload": list(self.preload),
                    "entry": self.entry, "env": dict(sorted(self.env.items())), "token": self.token,
                    "warm_up": None if self.warm_up is None else str(self.warm_up)}
        return hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()[:16]


class ForkedProcess:
    """A program forked by a warm parent, handled like a `subprocess.Popen` (pid, poll, wait).

    It is the parent's child, not ours: the parent reaps it and records its exit code.
    """

    def __init__(self, pid: int, parent: "WarmParent") -> None:
        self.pid = pid
        self.parent = parent
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            self.returncode = self.parent.exit_code(self.pid)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() >= deadline:
                raise subprocess.TimeoutExpired(f"forked pid {self.pid}", timeout or 0)
            time.sleep(0.02)
        assert self.returncode is not None
        return self.returncode


class WarmParent:
    """One warm parent process (see the module doc); `WARM_PARENTS` hands them out."""

    def __init__(self, spec: WarmParentSpec, log: Log = quiet) -> None:
        self.spec = spec
        self.log = log
        self.run_id = f"{WARM_RUN_PREFIX}{secrets.token_hex(6)}"
        self.home: Path | None = None
        self.process: subprocess.Popen[bytes] | None = None
        self.import_s: float | None = None
        self.last_used = time.monotonic()
        self._replies: int | None = None
        self._buffer = b""
        self._ready = False
        self._failure: ForkUnavailable | None = None
        self._forked: set[int] = set()
        self._lock = threading.RLock()

    @property
    def log_path(self) -> Path | None:
        """The parent's own stdout/stderr (what the program printed while it was imported)."""
        return self.home / "parent.log" if self.home else None

    def spawn(self) -> None:
        """Start the parent; its imports go on in the background (`wait_ready` waits for them)."""
        with self._lock:
            if self.process is not None:
                return
            self.home = Path(tempfile.mkdtemp(prefix=f"{RUN_DIR_PREFIX}{self.run_id}-"))
            owner = current_owner()
            write_owner_file(self.home, owner)
            env = dict(self.spec.env)
            env.update(marker_env(self.run_id, owner))
            env[FORK_LEDGER_ENV] = str(self.home / "forked")
            read_end, write_end = os.pipe()
            command = [str(self.spec.python), str(_SERVER_SOURCE), "--argv0", str(self.spec.argv0),
                       "--preload", ",".join(self.spec.preload), "--entry", self.spec.entry,
                       "--home", str(self.home), "--owner", owner, "--reply-fd", str(write_end)]
            if self.spec.warm_up is not None:
                command += ["--warm-up", str(self.spec.warm_up)]
            try:
                with open(self.home / "parent.log", "wb") as log_file:
                    # Own session: a Ctrl-C in the terminal reaches us, and we stop the parent in order.
                    self.process = subprocess.Popen(
                        command, cwd=self.home, env=env, stdin=subprocess.PIPE, stdout=log_file,
                        stderr=subprocess.STDOUT, pass_fds=(write_end,), start_new_session=True,
                    )
            except BaseException:
                os.close(read_end)
                raise
            finally:
                os.close(write_end)
            self._replies = read_end

    def wait_ready(self, timeout_s: float = WARM_UP_TIMEOUT_S) -> None:
        """Wait until the parent has imported everything; `ForkUnavailable` if it cannot fork."""
        with self._lock:
            if self._ready:
                return
            if self._failure is not None:
                raise self._failure
            started = time.monotonic()
            next_progress = started + PROGRESS_EVERY_S
            while True:
                remaining = started + timeout_s - time.monotonic()
                if remaining <= 0:
                    raise self._fail(f"the warm parent did not finish its imports in {timeout_s:.0f} s", False)
                message = self._read_reply(min(remaining, 1.0))
                if message is not None:
                    break
                if self.process is None or self.process.poll() is not None:
                    code = None if self.process is None else self.process.returncode
                    raise self._fail(f"the warm parent exited (code {code}) during its imports{self._log_tail()}", True)
                if time.monotonic() >= next_progress:
                    self.log(f"warm parent still importing ({time.monotonic() - started:.0f} s)")
                    next_progress += PROGRESS_EVERY_S
            if message.get("event") != "ready":
                reason = str(message.get("reason", message))
                raise self._fail(f"the warm parent cannot fork ({message.get('event')}): {reason}", True)
            self.import_s = float(message.get("import_s", 0.0))
            self._ready = True

    def fork(self, argv: Sequence[str], env: Mapping[str, str], cwd: Path, log_path: Path) -> ForkedProcess:
        """Start a copy of the program: `argv` as sys.argv, exactly `env`, in `cwd`, output to `log_path`.

        The child leads a session of its own (stop it and what it spawns with one group signal).
        """
        ledger = {name: env[name] for name in (RUN_ID_ENV, OWNER_ENV) if name in env}
        request = {"op": "fork", "argv": list(argv), "env": dict(env), "cwd": str(cwd), "log": str(log_path),
                   "ledger": ledger}
        with self._lock:
            self.wait_ready()
            self.last_used = time.monotonic()
            answer = self._ask(request)
            if "pid" not in answer:
                raise ForkUnavailable(f"the warm parent did not fork: {answer.get('error', answer)}")
            pid = int(answer["pid"])
            self._forked.add(pid)
            return ForkedProcess(pid, self)

    def exit_code(self, pid: int) -> int | None:
        """The exit code of a child of this parent, None while it runs."""
        home = self.home
        if home is not None:
            try:
                return int((home / "exited" / str(pid)).read_text())
            except (OSError, ValueError):
                pass
        if self.alive() or is_running(pid):
            return None
        return -signal.SIGKILL  # the parent is gone, and its children went with it

    def live_children(self) -> list[int]:
        """Children this parent forked that have not exited (forgetting those that have)."""
        with self._lock:
            self._forked = {pid for pid in self._forked if self.exit_code(pid) is None}
            return sorted(self._forked)

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    @property
    def ready(self) -> bool:
        """Whether its imports are done (it forks at once)."""
        return self._ready

    def stop(self) -> None:
        """Stop the parent and every child of it; remove its folder. Idempotent."""
        with self._lock:
            children = self.live_children() if self.process is not None else []
            process, self.process = self.process, None
            if process is not None:
                if process.stdin is not None:
                    try:
                        process.stdin.close()  # end of requests: the parent stops its children and exits
                    except OSError:
                        pass
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    signal_group(process.pid, signal.SIGKILL)
                    process.wait(timeout=10)
                wait_until_gone(children, timeout_s=5)
            if self._replies is not None:
                os.close(self._replies)
                self._replies = None
            home, self.home = self.home, None
            if home is not None:
                shutil.rmtree(home, ignore_errors=True)
            self._ready = False

    # -- the pipes

    def ping(self) -> dict:
        """The parent's own answer about itself: pid, children, and how its warm-up stands."""
        with self._lock:
            self.wait_ready()
            return self._ask({"op": "ping"})

    def _ask(self, request: dict) -> dict:
        assert self.process is not None and self.process.stdin is not None
        try:
            self.process.stdin.write((json.dumps(request) + "\n").encode())
            self.process.stdin.flush()
        except OSError as error:
            raise ForkUnavailable(f"the warm parent is gone ({error})") from None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            answer = self._read_reply(0.5)
            if answer is not None:
                return answer
            if not self.alive():
                break
        raise ForkUnavailable(f"the warm parent did not answer{self._log_tail()}")

    def _read_reply(self, timeout_s: float) -> dict | None:
        """The next JSON line on the reply pipe, or None if none came within `timeout_s`."""
        assert self._replies is not None
        deadline = time.monotonic() + timeout_s
        while b"\n" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            readable, _, _ = select.select([self._replies], [], [], remaining)
            if not readable:
                return None
            chunk = os.read(self._replies, 65536)
            if not chunk:
                return None  # the parent closed it: it is exiting
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        return json.loads(line)

    def _fail(self, reason: str, lasting: bool) -> ForkUnavailable:
        self._failure = ForkUnavailable(reason, lasting)
        return self._failure

    def _log_tail(self) -> str:
        try:
            lines = self.log_path.read_text(errors="replace").splitlines() if self.log_path else []
        except OSError:
            return ""
        return f"; last lines of its log:\n" + "\n".join(lines[-_LOG_TAIL_LINES:]) if lines else ""


class WarmParents:
    """The warm parents of this process, one per identity, stopped at exit (at most `limit`)."""

    def __init__(self, limit: int = MAX_WARM_PARENTS) -> None:
        self.limit = limit
        self._parents: dict[str, WarmParent] = {}
        self._lasting_failures: dict[str, str] = {}
        self._lock = threading.Lock()

    def warm(self, spec: WarmParentSpec, log: Log = quiet, ahead: bool = False) -> bool:
        """Start the parent for `spec` if there is none, without waiting for its imports.

        `ahead`: for a start to come later, so only if that costs nobody: no parent is stopped to
        make room, and no more parents import at once than there are cores (each import keeps
        one busy). Returns whether the parent exists now.
        """
        if ahead:
            with self._lock:
                if spec.identity not in self._parents:
                    alive = [parent for parent in self._parents.values() if parent.alive()]
                    importing = sum(1 for parent in alive if not parent.ready)
                    if len(alive) >= self.limit or importing >= cores():
                        return False
        try:
            self._parent(spec, log)
        except ForkUnavailable:
            return False  # told again, with the reason, when a fork is asked for
        return True

    def parent_for(self, spec: WarmParentSpec, log: Log = quiet, timeout_s: float = WARM_UP_TIMEOUT_S) -> WarmParent:
        """The ready parent for `spec` (started and waited for if need be); `ForkUnavailable` if none."""
        parent = self._parent(spec, log)
        try:
            parent.wait_ready(timeout_s)
        except ForkUnavailable as failure:
            with self._lock:
                if failure.lasting:
                    self._lasting_failures[spec.identity] = failure.reason
                if self._parents.get(spec.identity) is parent:
                    del self._parents[spec.identity]
            parent.stop()
            raise
        return parent

    def _parent(self, spec: WarmParentSpec, log: Log) -> WarmParent:
        identity = spec.identity
        with self._lock:
            if identity in self._lasting_failures:
                raise ForkUnavailable(self._lasting_failures[identity], lasting=True)
            parent = self._parents.get(identity)
            if parent is not None and parent.alive():
                parent.last_used = time.monotonic()
                return parent
            unsupported = fork_supported()
            if unsupported:
                raise ForkUnavailable(unsupported, lasting=True)
            self._make_room()
            parent = WarmParent(spec, log)
            register_live_target(self)  # stopped at exit and on SIGTERM/SIGHUP, like a target
            parent.spawn()  # milliseconds: the imports go on in the background
            self._parents[identity] = parent
            return parent

    def _make_room(self) -> None:
        """Stop idle parents (least recently used first) until one more fits; also the dead ones."""
        for identity, parent in sorted(self._parents.items(), key=lambda item: item[1].last_used):
            if len(self._parents) < self.limit and parent.alive():
                continue
            if parent.alive() and (not parent.ready or parent.live_children()):
                continue  # still importing (someone waits for it), or its children would die with it
            del self._parents[identity]
            parent.stop()

    def parents(self) -> list[WarmParent]:
        with self._lock:
            return list(self._parents.values())

    def stop(self) -> None:
        """Stop every parent (and so every child of theirs)."""
        with self._lock:
            parents, self._parents = list(self._parents.values()), {}
        for parent in parents:
            parent.stop()


#: This process's warm parents.
WARM_PARENTS = WarmParents()
