"""When a booting LiteLLM proxy is ready: `/health/readiness` answers 200 with its database connected.

LiteLLM binds its port only after its imports, and answers readiness before Prisma has
connected; admin calls made before `db == "connected"` fail. Both launchers (local and Docker)
wait on this probe.
"""

from __future__ import annotations

import time
from typing import Callable

import httpx

from harness.common.log import Log
from harness.targets.errors import TargetError

READINESS_PATH = "/health/readiness"


def probe_readiness(client: httpx.Client, base_url: str) -> tuple[bool, str]:
    """(ready, what was seen): ready = `/health/readiness` answers 200 with the database connected.

    What was seen reads as the state of a boot in progress ("port not open yet"), since it is
    printed while the proxy starts; only a timeout turns it into an error.
    """
    try:
        response = client.get(f"{base_url}{READINESS_PATH}")
    except httpx.ConnectError:
        return False, "port not open yet"  # the proxy binds its port only after its imports
    except httpx.TimeoutException:
        return False, "port open, no answer yet"
    except httpx.HTTPError as error:
        return False, f"no answer yet ({type(error).__name__})"
    if response.status_code != 200:
        return False, f"readiness answers HTTP {response.status_code}"
    try:
        document = response.json()
    except ValueError:
        return False, "readiness answer is not JSON"
    db = document.get("db") if isinstance(document, dict) else None
    if db == "connected":
        return True, "database connected"
    return False, f"database not connected yet (db={db})"


PROGRESS_EVERY_S = 10.0  # a "still starting" line this often while a proxy boots
FAST_POLL_S = 5.0  # readiness is polled every 0.1 s for this long, then every 0.5 s


def wait_until_ready(
    base_url: str,
    *,
    label: str,
    timeout_s: float,
    log: Log,
    exited: Callable[[], str | None],
    failure: Callable[[str], str],
    on_ready: Callable[[httpx.Client], None] | None = None,
) -> None:
    """Poll the proxy's readiness until it is ready; raise `TargetError` when it exits or times out.

    `exited()` says why the proxy (or something it needs) is gone, None while it runs;
    `failure(reason)` words the error (with the log's last lines); `on_ready(client)` runs once
    ready (e.g. learn the version it reports). Progress reads as a boot in progress.
    """
    started = time.monotonic()
    next_progress = started + PROGRESS_EVERY_S
    last_seen = "no answer yet"
    with httpx.Client(timeout=5.0, trust_env=False) as client:
        while True:
            elapsed = time.monotonic() - started
            gone = exited()
            if gone is not None:
                raise TargetError(failure(gone))
            if elapsed > timeout_s:
                raise TargetError(failure(f"the proxy was not ready after {timeout_s:.0f} s (last: {last_seen})"))
            ready, last_seen = probe_readiness(client, base_url)
            if ready:
                if on_ready is not None:
                    on_ready(client)
                log(f"{label}: proxy ready in {elapsed:.1f} s")
                return
            if time.monotonic() >= next_progress:
                log(f"{label}: still starting ({elapsed:.0f} s; {last_seen})")
                next_progress += PROGRESS_EVERY_S
            # A forked proxy is ready within a second or two: look often at first.
            time.sleep(0.1 if elapsed < FAST_POLL_S else 0.5)
