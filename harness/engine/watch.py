"""Keeps a scenario from waiting forever on a proxy that stopped answering.

A stopped proxy (SIGSTOP, a deadlock, a full event loop) still accepts TCP connections, so
every request to it waits for its full read timeout, one after another: 26 minutes of silence
for one scenario. Here the work (provisioning, probing, teardown) runs in a worker thread while
the calling thread watches it:

- a liveness thread polls a cheap health route with a short timeout; any HTTP answer counts;
- when the route has not answered for `unresponsive_after_s`, or the scenario's deadline
  passed, every connection the work holds is shut down at once (`ConnectionGuard.abandon`), so
  outstanding requests end now with that reason instead of after their 30 s timeouts;
- progress is logged while waiting ("probing x: 12 of 40 probes answered, 10 s").

It speaks plain HTTP only, so it works for any target (local, Docker, a URL).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, TypeVar

import httpx

from harness.common.log import Log
from harness.common.abandonable import ConnectionGuard
from harness.model.observation import DEADLINE_PASSED, STOPPED_ANSWERING

T = TypeVar("T")

_TICK_S = 0.05  # how often the watching thread looks at the work, the clock and the liveness


@dataclass(frozen=True)
class WatchLimits:
    """How patient the harness is with a proxy (seconds)."""

    liveness_every_s: float = 1.0  # one GET of the health route at most this often
    liveness_timeout_s: float = 2.0  # one such GET gives up after this long
    # No answer to the health route for this long: stopped. Generous on purpose: a proxy's event
    # loop legitimately stalls, e.g. 7.6 s for 1.108.7's first /openapi.json (4.0 s for 1.82.3),
    # measured on 2 busy cores (load 5); a false "stopped answering" would make a run flaky.
    unresponsive_after_s: float = 30.0
    deadline_s: float = 120.0  # a scenario's capabilities + provisioning + probes, in all
    teardown_s: float = 30.0  # deleting what a scenario created
    progress_every_s: float = 10.0  # a progress line this often while waiting
    abandon_grace_s: float = 5.0  # after abandoning, how long the work gets to wind down


class ProxyStoppedAnswering(Exception):
    """The work was abandoned during `step`: the proxy stopped answering, or the deadline passed."""

    def __init__(self, reason: str, step: str) -> None:
        super().__init__(f"while {step}, {reason}")
        self.reason = reason
        self.step = step


def is_silence(reason: str | None) -> bool:
    """Whether an abandonment `reason` says the proxy stopped answering (not a deadline, not Ctrl-C)."""
    return reason is not None and reason.startswith(STOPPED_ANSWERING)


def answers(base_url: str, path: str, timeout: float) -> bool:
    """Whether the proxy answers `GET path` (any HTTP status) within `timeout` seconds."""
    try:
        with httpx.Client(timeout=timeout, trust_env=False, verify=base_url.startswith("https://")) as client:
            client.get(f"{base_url.rstrip('/')}{path}")
    except httpx.HTTPError:
        return False
    return True


class ProxyWatch:
    """Watches one proxy while work is outstanding: liveness, a deadline, progress lines.

    Use as a context manager around the work of one scenario (or its teardown); the deadline
    counts from entering it. `run()` runs one step of the work under the watch; `subject`
    (a scenario id) names what the work is for in progress lines.
    """

    def __init__(
        self,
        base_url: str,
        liveness_path: str,
        limits: WatchLimits,
        log: Log,
        *,
        subject: str = "",
        deadline_s: float | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.subject = subject
        self.liveness_path = liveness_path
        self.limits = limits
        self.deadline_s = limits.deadline_s if deadline_s is None else deadline_s
        self._log = log
        self._started = time.monotonic()
        self._last_answer = self._started
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> "ProxyWatch":
        self._started = self._last_answer = time.monotonic()
        self._thread = threading.Thread(target=self._poll_liveness, name="gateconform liveness", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            # A poll in flight ends at its own short timeout; the thread is a daemon either way.
            self._thread.join(timeout=self.limits.liveness_timeout_s + 1)

    def silence_s(self) -> float:
        """Seconds since the health route last answered (or since the watch began)."""
        return time.monotonic() - self._last_answer

    def run(
        self,
        step: str,
        guard: ConnectionGuard,
        work: Callable[[], T],
        progress: Callable[[], object] | None = None,
    ) -> T:
        """Run `work` (whose clients use `guard`) while watching the proxy; return its result.

        Raises `ProxyStoppedAnswering` when the proxy stopped answering or the deadline passed
        and the work could not finish with that (e.g. provisioning); work that records the
        reason itself (probes) returns normally once abandoned. `step` names the work in
        progress lines ("probing"); `progress()` says how far it got ("12 of 40 …").
        """
        phase = f"{step} {self.subject}".strip()
        outcome: dict[str, Any] = {}
        finished = threading.Event()

        def work_thread() -> None:
            try:
                outcome["value"] = work()
            except BaseException as error:  # noqa: BLE001 - handed to the watching thread
                outcome["error"] = error
            finally:
                finished.set()

        threading.Thread(target=work_thread, name=f"gateconform {phase}", daemon=True).start()
        phase_started = time.monotonic()
        next_progress = phase_started + self.limits.progress_every_s
        try:
            while not finished.wait(_TICK_S):
                reason = self._trouble(progress)
                if reason is not None:
                    guard.abandon(reason)
                    finished.wait(self.limits.abandon_grace_s)
                    break
                now = time.monotonic()
                if now >= next_progress:
                    self._log(self._progress_line(phase, progress, now - phase_started))
                    next_progress += self.limits.progress_every_s
        except BaseException:
            # Ctrl-C (or any surprise): stop the work's requests so it does not carry on
            # creating things behind the teardown's back.
            guard.abandon("interrupted")
            finished.wait(self.limits.abandon_grace_s)
            raise
        if not finished.is_set():  # abandoned, yet still stuck: leave it behind (a daemon)
            raise ProxyStoppedAnswering(guard.reason or "abandoned", step)
        if "error" in outcome:
            if guard.reason is not None:
                raise ProxyStoppedAnswering(guard.reason, step) from outcome["error"]
            raise outcome["error"]
        return outcome["value"]

    # -- internals ---------------------------------------------------------------------

    def _trouble(self, progress: Callable[[], object] | None) -> str | None:
        """The reason to abandon the work now, or None while all is well."""
        if self.silence_s() >= self.limits.unresponsive_after_s:
            return (f"{STOPPED_ANSWERING}: no answer to GET {self.liveness_path} "
                    f"for {self.limits.unresponsive_after_s:g} s")
        if time.monotonic() - self._started >= self.deadline_s:
            done = f" ({progress()})" if progress is not None else ""
            return (f"{DEADLINE_PASSED} {self.deadline_s:g} s passed{done}; "
                    f"the proxy answers GET {self.liveness_path} but not these requests")
        return None

    def _progress_line(self, phase: str, progress: Callable[[], object] | None, elapsed: float) -> str:
        parts = [phase + ":"]
        if progress is not None:
            parts.append(f"{progress()},")
        parts.append(f"{elapsed:.0f} s")
        silence = self.silence_s()
        if silence >= 2 * self.limits.liveness_every_s + self.limits.liveness_timeout_s:
            parts.append(f"(no answer to GET {self.liveness_path} for {silence:.0f} s)")
        return " ".join(parts)

    def _poll_liveness(self) -> None:
        limits = self.limits
        url = f"{self.base_url}{self.liveness_path}"
        verify = self.base_url.startswith("https://")
        with httpx.Client(timeout=limits.liveness_timeout_s, trust_env=False, verify=verify) as client:
            while not self._stop.is_set():
                polled = time.monotonic()
                try:
                    client.get(url)
                except httpx.HTTPError:
                    pass  # silence grows; the watching thread decides when it is too long
                else:
                    self._last_answer = time.monotonic()
                self._stop.wait(max(0.0, limits.liveness_every_s - (time.monotonic() - polled)))
