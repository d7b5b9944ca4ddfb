"""A warm parent: imports a program's heavy modules once, then starts each copy of it as a fork.

Application servers preload their code once and fork workers from it; this does the same for a
program we start many times (a proxy whose import alone takes seconds). It runs under the
program's own interpreter, so it is stdlib-only and imports nothing of the harness:

    <python> warm_parent_server.py --argv0 <program script> --preload a,b --entry module:attr \
        --home DIR --owner PID:TICKS --reply-fd N [--warm-up FILE]

`--argv0` is the script the program is normally started as: during the imports `sys.argv` is
`[argv0]` and `sys.path[0]` its folder, as they would be in a plain start. After the imports the
parent checks that a fork is safe (no other thread, no open socket), freezes the garbage
collector's view of what it imported (`gc.freeze()`: children then share those pages instead of
copying them on the first collection) and tells the harness on the reply pipe, one JSON object a
line: `{"event": "ready", ...}`, or `{"event": "unsafe"|"failed", "reason": ...}` and exits.

Then it reads requests on stdin, one JSON object a line, and answers each on the reply pipe:

- `{"op": "fork", "argv": [...], "env": {...}, "cwd": ..., "log": ..., "ledger": {...}}` →
  `{"pid": N}`: the child starts a session of its own (so the caller can stop it and everything
  it spawns as one group), dies with this parent, reads /dev/null, writes stdout and stderr to
  `log`, works in `cwd` with exactly `env` as its environment and `argv` as `sys.argv`, and runs
  the entry as the program's script would. `ledger` is written to `<home>/forked/<pid>` (with the
  child's start ticks) while the child runs: a forked child's /proc/<pid>/environ still shows
  this parent's environment, so that file is where its own run marker can be read.
- `{"op": "ping"}` → `{"pid": <parent pid>, "children": [...], "warm_up": ...}`.

`--warm-up` names a Python file whose `warm_up()` returns an iterator: each step builds a little
of what every copy of the program would otherwise build for itself on first use (a cache the
program keeps), and the iterator's return value says what was built. The parent takes steps only
while no request waits, so it is ready, and forks, as soon as its imports are done; copies forked
later start with more built. When the steps are done the garbage collector's view is frozen
again; a warm-up that fails is dropped (the program builds what it needs itself). `ping` says
where it stands.

Children that exit are reaped at once; each exit code is written to `<home>/exited/<pid>`.
The parent stops, taking every child's group with it, when stdin closes (the harness is gone,
even if killed with SIGKILL), when its owner process (`--owner`) is gone, or on SIGTERM, SIGHUP,
SIGINT or SIGQUIT; during its imports a watchdog thread (joined before the first fork) ends it
at once on the first two.
"""

from __future__ import annotations

import os
import sys

if __name__ == "__main__":  # the program's own folder, not this file's, heads the import path
    _HERE = os.path.dirname(os.path.abspath(__file__))
    if sys.path and os.path.abspath(sys.path[0] or ".") == _HERE:
        del sys.path[0]

import argparse
import ctypes
import gc
import importlib
import json
import select
import signal
import threading
import time
import traceback
from typing import Any, Callable, Iterator

_PR_SET_PDEATHSIG = 1
#: How often the parent looks for exited children and for its owner.
_TICK_S = 0.1
#: How long children get to stop on SIGTERM before their groups are killed.
_STOP_GRACE_S = 5.0
_STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP, signal.SIGINT, signal.SIGQUIT)


class _Stop(Exception):
    """Raised by the stop signals' handler to leave the request loop."""


# --------------------------------------------------------------------------- safety


def fork_hazards() -> list[str]:
    """What would make a fork of this process unsafe: other threads, open sockets.

    A thread does not survive a fork (whatever lock it held stays locked in the child), and a
    socket would be shared by every child.
    """
    hazards = []
    others = [thread.name for thread in threading.enumerate() if thread is not threading.main_thread()]
    if others:
        hazards.append(f"{len(others)} other thread(s) running after the import: {', '.join(sorted(others))}")
    sockets = []
    try:
        for fd in os.listdir("/proc/self/fd"):
            try:
                if os.readlink(f"/proc/self/fd/{fd}").startswith("socket:"):
                    sockets.append(fd)
            except OSError:
                continue
    except OSError:
        hazards.append("/proc/self/fd cannot be read (not Linux?)")
    if sockets:
        hazards.append(f"{len(sockets)} socket(s) open after the import (fds {', '.join(sorted(sockets))})")
    return hazards


def start_ticks(pid: int) -> str:
    """The start time of `pid` in clock ticks since boot (field 22 of /proc/<pid>/stat), or `?`."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[-1].split()[19]
    except (OSError, IndexError):
        return "?"


def owner_alive(owner: str) -> bool:
    """Whether `pid:ticks` still names the same live process."""
    pid_text, _, ticks = owner.partition(":")
    return pid_text.isdigit() and start_ticks(int(pid_text)) == ticks


class ImportWatchdog:
    """Ends the process while it imports if stdin closes or the owner is gone (no requests come
    before `ready`, so stdin is only watched for its end, never read)."""

    def __init__(self, owner: str) -> None:
        self.owner = owner
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="warm-parent-import-watchdog", daemon=True)

    def __enter__(self) -> "ImportWatchdog":
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._done.set()
        self._thread.join()

    def _watch(self) -> None:
        poller = select.poll()
        poller.register(0, select.POLLHUP | select.POLLERR)
        while not self._done.is_set():
            if poller.poll(int(_TICK_S * 1000)) or not owner_alive(self.owner):
                os._exit(1)  # nobody is left to fork for; nothing of ours is running yet


# --------------------------------------------------------------------------- the child


def _die_with(parent_pid: int) -> None:
    """SIGKILL this process when its parent dies (Linux); exit now if it already has."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent_pid:
        os._exit(1)


def _resolve(entry: str) -> Callable[[], Any]:
    module_name, _, attribute = entry.partition(":")
    found: Any = importlib.import_module(module_name)
    for part in attribute.split("."):
        found = getattr(found, part)
    return found


def _warm_up_dropped(error: Exception) -> str:
    return f"warm-up failed, the program builds it itself: {type(error).__name__}: {error}"


def _load_file(path: str) -> Any:
    """The module in the Python file at `path`."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("_warm_parent_warm_up", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"{path} cannot be loaded")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _exit_code(value: object) -> int:
    """What the interpreter would exit with after `sys.exit(value)`."""
    if value is None:
        return 0
    if isinstance(value, int):
        return value & 0xFF
    print(value, file=sys.stderr)
    return 1


def _become_child(request: dict, parent_pid: int, entry: str, reply_fd: int,
                  original_handlers: dict[int, Any]) -> None:
    """Turn a freshly forked process into the program (never returns)."""
    code = 1
    try:
        os.setsid()
        _die_with(parent_pid)
        for signum, handler in original_handlers.items():
            signal.signal(signum, handler)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP_SIGNALS)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        log = os.open(request["log"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(log, 1)
        os.dup2(log, 2)
        for fd in {null, log, reply_fd} - {0, 1, 2}:
            os.close(fd)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        sys.argv = list(request["argv"])
        try:
            code = _exit_code(_resolve(entry)())
        except SystemExit as exit_:
            code = _exit_code(exit_.code)
    except BaseException:  # noqa: BLE001 - whatever happens, never return into the parent's loop
        traceback.print_exc()
        code = 1
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:  # noqa: BLE001
                pass
        os._exit(code)


# --------------------------------------------------------------------------- the parent


class WarmParent:
    """The request loop of a warm parent (see the module doc)."""

    def __init__(self, entry: str, home: str, owner: str, reply_fd: int) -> None:
        self.entry = entry
        self.home = home
        self.owner = owner
        self.reply_fd = reply_fd
        self.children: set[int] = set()
        self.warming: Iterator[Any] | None = None  # the warm-up's remaining steps
        self.warm_up_state: str | None = None
        self.original_handlers: dict[int, Any] = {}
        for folder in ("forked", "exited"):
            os.makedirs(os.path.join(home, folder), exist_ok=True)

    def reply(self, message: dict) -> None:
        data = (json.dumps(message) + "\n").encode()
        while data:
            data = data[os.write(self.reply_fd, data):]

    def install_stop_handlers(self) -> None:
        def stop(_signum: int, _frame: object) -> None:
            raise _Stop()

        for signum in _STOP_SIGNALS:
            self.original_handlers[signum] = signal.getsignal(signum)
            signal.signal(signum, stop)

    def serve(self) -> None:
        """Answer requests until stdin closes, the owner is gone or a stop signal comes."""
        buffered = b""
        try:
            while True:
                readable, _, _ = select.select([0], [], [], 0 if self.warming is not None else _TICK_S)
                self.reap()
                if not owner_alive(self.owner):
                    return
                if not readable:
                    self.warm_up_step()
                    continue
                chunk = os.read(0, 65536)
                if not chunk:
                    return
                buffered += chunk
                while b"\n" in buffered:
                    line, buffered = buffered.split(b"\n", 1)
                    if line.strip():
                        self.reply(self.handle(json.loads(line)))
        except _Stop:
            return
        finally:
            self.stop_children()

    def start_warm_up(self, path: str) -> None:
        """Load the warm-up file's steps (run between requests by `serve`)."""
        try:
            self.warming = iter(_load_file(path).warm_up())
            self.warm_up_state = "warming up"
        except Exception as error:  # noqa: BLE001 - a cache not built is built by the program itself
            self.warm_up_state = _warm_up_dropped(error)

    def warm_up_step(self) -> None:
        """One step of the warm-up, if any is left."""
        if self.warming is None:
            return
        try:
            next(self.warming)
            return
        except _Stop:
            raise  # a stop signal during a step stops the parent, as between requests
        except StopIteration as done:
            self.warm_up_state = str(done.value)
            gc.collect()
            gc.freeze()  # what the warm-up built is shared by the children like the imports
        except Exception as error:  # noqa: BLE001 - as in start_warm_up
            self.warm_up_state = _warm_up_dropped(error)
        self.warming = None
        print(f"warm parent: {self.warm_up_state}", flush=True)

    def handle(self, request: dict) -> dict:
        if request.get("op") == "ping":
            return {"pid": os.getpid(), "children": sorted(self.children), "warm_up": self.warm_up_state}
        if request.get("op") != "fork":
            return {"error": f"unknown op {request.get('op')!r}"}
        hazards = fork_hazards()
        if hazards:
            return {"error": "fork is unsafe now: " + "; ".join(hazards)}
        for stream in (sys.stdout, sys.stderr):
            stream.flush()
        parent_pid = os.getpid()
        # The stop signals wait until each side has the handlers it should: a child must never
        # run the parent's (it would stop the parent's other children).
        signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)
        try:
            pid = os.fork()
        except OSError as error:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP_SIGNALS)
            return {"error": f"fork failed: {error}"}
        if pid == 0:
            _become_child(request, parent_pid, self.entry, self.reply_fd, self.original_handlers)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP_SIGNALS)
        self.children.add(pid)
        _remove(os.path.join(self.home, "exited", str(pid)))  # a reused pid's old exit code
        ledger = dict(request.get("ledger") or {}, start_ticks=start_ticks(pid))
        _write_atomically(os.path.join(self.home, "forked", str(pid)), json.dumps(ledger))
        return {"pid": pid}

    def reap(self) -> None:
        """Collect exited children: record their exit codes, drop their ledger entries."""
        while self.children:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                self.children.clear()
                return
            if pid == 0:
                return
            self.children.discard(pid)
            _write_atomically(os.path.join(self.home, "exited", str(pid)), str(os.waitstatus_to_exitcode(status)))
            _remove(os.path.join(self.home, "forked", str(pid)))

    def stop_children(self) -> None:
        """SIGTERM every child's group, wait a little, SIGKILL what is left."""
        for signum in (signal.SIGTERM, signal.SIGCONT):
            for pid in list(self.children):
                _signal_group(pid, signum)
        deadline = time.monotonic() + _STOP_GRACE_S
        while self.children and time.monotonic() < deadline:
            self.reap()
            time.sleep(0.02)
        for pid in list(self.children):
            _signal_group(pid, signal.SIGKILL)
        deadline = time.monotonic() + _STOP_GRACE_S
        while self.children and time.monotonic() < deadline:
            self.reap()
            time.sleep(0.02)


def _signal_group(pid: int, signum: int) -> None:
    try:
        os.killpg(pid, signum)
    except OSError:
        try:  # not (yet) the leader of its own group
            os.kill(pid, signum)
        except OSError:
            pass


def _write_atomically(path: str, text: str) -> None:
    temporary = f"{path}.tmp"
    with open(temporary, "w") as handle:
        handle.write(text)
    os.replace(temporary, path)


def _remove(path: str) -> None:
    try:
        os.remove(path)
    except OSError:
        pass


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--argv0", required=True)
    parser.add_argument("--preload", required=True, help="modules to import once, comma-separated")
    parser.add_argument("--entry", required=True, help="module:attribute each child calls")
    parser.add_argument("--home", required=True)
    parser.add_argument("--owner", required=True, help="pid:start-ticks of the process this parent serves")
    parser.add_argument("--reply-fd", type=int, required=True)
    parser.add_argument("--warm-up", help="a Python file whose warm_up() steps run between requests")
    options = parser.parse_args(argv)
    parent = WarmParent(options.entry, options.home, options.owner, options.reply_fd)
    # As in a plain start of the program's script.
    sys.argv = [options.argv0]
    sys.path.insert(0, os.path.dirname(os.path.abspath(options.argv0)))
    started = time.monotonic()
    try:
        with ImportWatchdog(options.owner):
            for module in filter(None, options.preload.split(",")):
                importlib.import_module(module)
            _resolve(options.entry)
    except BaseException:  # noqa: BLE001 - any failure of the program's import is reported, not raised
        parent.reply({"event": "failed", "reason": traceback.format_exc(limit=8)[-4000:]})
        return 1
    import_s = time.monotonic() - started
    gc.collect()
    hazards = fork_hazards()
    if hazards:
        parent.reply({"event": "unsafe", "reason": "; ".join(hazards)})
        return 1
    gc.freeze()
    if options.warm_up:
        parent.start_warm_up(options.warm_up)
    parent.install_stop_handlers()
    parent.reply({"event": "ready", "pid": os.getpid(), "import_s": round(import_s, 3)})
    parent.serve()
    return 0


if __name__ == "__main__":
    sys.exit(main())
