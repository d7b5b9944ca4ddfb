"""Running a build's tools (uv, prisma, node) so that a long step never looks hung, nor outlives us.

`run_with_progress` logs a heartbeat with the elapsed time while a tool runs, keeps its output
in a temp file (a chatty tool can never block on a full pipe), ends the tool's whole process
group on a timeout or Ctrl-C, and raises with the output's last lines when the tool fails.
"""

from __future__ import annotations

import signal
import subprocess
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Mapping, Sequence

from harness.common.log import Log
from harness.targets.errors import EnvironmentBuildError
from harness.targets.processes import signal_group


#: Slow steps report "still …" this often so a long build never looks hung.
HEARTBEAT_S = 15.0


@contextmanager
def timed_step(log: Log, label: str) -> Iterator[dict[str, float]]:
    """Log `label …` then `label: done in N s`; the yielded dict gets `seconds` at the end."""
    started = time.monotonic()
    result: dict[str, float] = {}
    log(f"{label} …")
    yield result
    result["seconds"] = time.monotonic() - started
    log(f"{label}: done in {result['seconds']:.1f} s")


def run_with_progress(
    command: Sequence[str],
    *,
    label: str,
    log: Log,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    timeout_s: float = 1800.0,
    error: type[Exception] = EnvironmentBuildError,
    input_text: str | None = None,
) -> str:
    """Run `command`, logging a heartbeat with elapsed time; return its combined output.

    Output goes to a temp file rather than a pipe so a chatty tool can never block on a full
    pipe. A failure raises `error` with the last lines of output.
    """
    started = time.monotonic()
    with tempfile.TemporaryFile("w+") as output:
        proc = subprocess.Popen(
            list(command),
            stdout=output,
            stderr=subprocess.STDOUT,
            stdin=subprocess.PIPE if input_text is not None else subprocess.DEVNULL,
            env=dict(env) if env is not None else None,
            cwd=cwd,
            text=True,
            # Own process group, so an abort can also end grandchildren (node under prisma).
            start_new_session=True,
        )
        if input_text is not None:
            assert proc.stdin is not None
            proc.stdin.write(input_text)
            proc.stdin.close()
        _wait_with_heartbeat(proc, label=label, log=log, started=started, timeout_s=timeout_s, error=error)
        output.seek(0)
        text = output.read()
    if proc.returncode != 0:
        tail = "\n".join(text.strip().splitlines()[-30:])
        raise error(f"{label} failed (exit {proc.returncode}):\n{tail}")
    return text


def _wait_with_heartbeat(
    proc: subprocess.Popen, *, label: str, log: Log, started: float, timeout_s: float, error: type[Exception]
) -> None:
    while True:
        try:
            proc.wait(timeout=HEARTBEAT_S)
            return
        except subprocess.TimeoutExpired:
            elapsed = time.monotonic() - started
            if elapsed > timeout_s:
                _kill_process_group(proc)
                raise error(f"{label} timed out after {elapsed:.0f} s") from None
            log(f"{label}: still running ({elapsed:.0f} s)")
        except BaseException:
            # Ctrl-C while waiting: do not leave the child (uv, prisma, node) running.
            _kill_process_group(proc)
            raise


def _kill_process_group(proc: subprocess.Popen) -> None:
    signal_group(proc.pid, signal.SIGKILL)
    proc.wait()
