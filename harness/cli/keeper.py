"""The keeper of `gateconform up` (an entry point: a process of its own): it starts a local proxy and keeps it until `down`.

`gateconform up` starts this module as a detached process (`python -m harness.cli.keeper
SPEC`): it builds the gateway's kept target (a local proxy with its PostgreSQL and recording
upstream, serving no model from its config and storing models in its database, so each url run
adds the models its scenarios need and removes them after), starts it, writes the state file
(`harness.targets.up_state`) and waits. SIGTERM (what `down` sends), SIGINT or SIGHUP stop the
proxy, the upstream and the database, remove the state file and end the process; so does a proxy
that stops answering. The proxy's processes carry the keeper as their owner, so if the keeper
itself is killed with SIGKILL, the next run (or `gateconform clean`) reaps them.
"""

from __future__ import annotations

import signal
import sys
import time
from types import FrameType

import httpx

from harness.gateways import registry
from harness.model.results import now_iso
from harness.targets import spec as target_spec
from harness.targets import up_state
from harness.targets.base import Target
from harness.targets.lifecycle import current_owner

#: How often the keeper asks its proxy whether it still answers, and how many misses end it.
LIVENESS_EVERY_S = 5.0
LIVENESS_MISSES = 3


def _stop_on_signal(signum: int, _frame: FrameType | None) -> None:
    # Unwinds whatever the keeper is doing (a boot, the wait): the `finally` blocks stop the target.
    raise SystemExit(128 + signum)


def keep(spec: str) -> int:
    """Start the kept target of `spec`, record it, keep it until a signal; 0 once stopped cleanly."""
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, _stop_on_signal)
    parsed = target_spec.parse_target_spec(spec, registry)
    gateway = registry.gateway(parsed.gateway)
    target: Target = gateway.launch_kept(parsed, _say)
    try:
        endpoint = target.start([])
        up_state.write(up_state.UpState(
            keeper=current_owner(), target=spec, base_url=endpoint.base_url, master_key=endpoint.master_key,
            upstream_url=endpoint.upstream.url, proxy_version=endpoint.proxy_version or None, started_at=now_iso(),
        ))
        _say(f"up: {spec} at {endpoint.base_url}")
        _watch(endpoint.base_url, gateway.liveness_path)
        return 1
    finally:
        state = up_state.read()
        if state is not None and state.keeper == current_owner():
            up_state.clear()
        target.stop()
        _say("stopped")


def _watch(base_url: str, liveness_path: str) -> None:
    """Until a signal, or until the proxy has not answered `LIVENESS_MISSES` times in a row."""
    misses = 0
    with httpx.Client(timeout=5.0, trust_env=False) as client:
        while misses < LIVENESS_MISSES:
            time.sleep(LIVENESS_EVERY_S)
            try:
                answered = client.get(f"{base_url}{liveness_path}").status_code == 200
            except httpx.HTTPError:
                answered = False
            misses = 0 if answered else misses + 1
    _say(f"the proxy at {base_url} stopped answering; stopping everything")


def _say(message: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {message}", flush=True)


if __name__ == "__main__":
    sys.exit(keep(sys.argv[1]))
