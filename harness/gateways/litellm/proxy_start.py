"""How the local target starts a LiteLLM proxy process: forked from a warm parent, or plainly.

Two costs dominate a plain start, both outside the request path: importing the proxy
(`import litellm.proxy.proxy_server`, most of a start) and, before uvicorn starts, LiteLLM's
calls of the Prisma CLI (Node, seconds each). Start modes (`GATECONFORM_PROXY_START`):

- `fork` (default): a warm parent per environment and import-time environment has imported the
  proxy, its CLI and uvicorn once (`harness.targets.warm_parent`); each proxy is a fork of it
  that runs LiteLLM's CLI command as the `litellm` script would, with its own config, port,
  database, environment, working folder, log and session. The Prisma CLI's start-up calls are
  answered by a shim replaying the real CLI's recorded answers (`prisma_shim.py`).
- `plain`: the reference. The `litellm` script in a new process, the real Prisma CLI: exactly
  what a user runs; CI compares the two (`tests/integration/test_start_parity.py`).

Where a fork is unsafe or fails — not Linux, threads or sockets in the parent after the import,
the parent's import fails, a forked proxy exits before it is ready — the proxy is started
plainly (with the shim), and the reason is printed.

What LiteLLM reads while it is imported is frozen in a warm parent, so it is part of the
parent's identity: every variable of the proxy's environment except those known to be read only
later (`RUN_TIME_VARIABLES`: the database URL, the master key, the run marker), plus the
environment's build. A start that differs in any other variable (a cache TTL constant such as
`DEFAULT_MANAGEMENT_OBJECT_IN_MEMORY_CACHE_TTL`, `LITELLM_LICENSE`, `LITELLM_MODE`,
`LITELLM_LOCAL_MODEL_COST_MAP`, TLS or proxy variables …) gets another parent, never a stale one.
A variable a scenario adds is import-time unless declared otherwise (`run_time=` of
`ProxyStarter`).
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Protocol, Sequence

from harness.common.log import Log
from harness.gateways.litellm.environments import LiteLLMEnvironment, read_stamp
from harness.gateways.litellm.prisma_shim import PRISMA_CALLS_ENV, ensure_shim, shim_bin_dir
from harness.targets.errors import TargetError
from harness.targets.warm_parent import WARM_PARENTS, ForkUnavailable, WarmParentSpec, split_environment

START_MODE_ENV = "GATECONFORM_PROXY_START"
FORK = "fork"
PLAIN = "plain"
START_MODES = (FORK, PLAIN)

#: What a warm parent imports: the proxy app, the CLI that starts it, the server it runs on.
PRELOAD = ("litellm.proxy.proxy_server", "litellm.proxy.proxy_cli", "uvicorn")
#: What the `litellm` console script calls (`from litellm import run_server`).
ENTRY = "litellm:run_server"
#: Run by the warm parent between forks (`route_state_warm_up.py`): FastAPI's per-route state,
#: built once there instead of on the first requests of every forked proxy.
ROUTE_STATE_WARM_UP = Path(__file__).with_name("route_state_warm_up.py")
#: Variables LiteLLM reads only once started (checked: neither the proxy's modules nor the CLI
#: read them at import), so they may differ between the forks of one parent.
RUN_TIME_VARIABLES = ("DATABASE_URL", "LITELLM_MASTER_KEY", PRISMA_CALLS_ENV)


class ProxyProcess(Protocol):
    """A started proxy as the launcher handles it: `subprocess.Popen` or a `ForkedProcess`."""

    pid: int

    def poll(self) -> int | None: ...

    def wait(self, timeout: float | None = None) -> int: ...


def start_mode(value: str | None = None) -> str:
    """The start mode asked for (`value`, else `GATECONFORM_PROXY_START`, else `fork`)."""
    chosen = (value if value is not None else os.environ.get(START_MODE_ENV, "")).strip().lower() or FORK
    if chosen not in START_MODES:
        raise TargetError(f"{START_MODE_ENV}={chosen!r}: use {' or '.join(START_MODES)}")
    return chosen


@dataclass
class Launch:
    """A proxy process and how it was started (printed and kept in the target's timings)."""

    process: ProxyProcess
    forked: bool
    how: str


class ProxyStarter:
    """Starts the proxies of one local target in its start mode (see the module doc).

    `prepare(env)` comes first, as early as the environment is known: it puts the Prisma shim on
    PATH and starts the warm parent's imports in the background, while the database and the
    upstream start. `launch(...)` then starts a proxy.
    """

    def __init__(self, mode: str, environment: LiteLLMEnvironment, label: str, log: Log,
                 run_time: Sequence[str] = ()) -> None:
        self.mode = start_mode(mode)
        self.environment = environment
        self.label = label
        self.log = log
        self.run_time = tuple(RUN_TIME_VARIABLES) + tuple(run_time)

    def prepare(self, env: Mapping[str, str]) -> dict[str, str]:
        """`env` as the proxy gets it in this mode; in `fork` mode the warm parent starts warming."""
        prepared = self._with_shim(env)
        if self.mode == PLAIN:
            return prepared
        WARM_PARENTS.warm(self.parent_spec(prepared), self.log)
        shim = ensure_shim(self.environment, env, self.log)
        if not shim.replays_anything:
            self.log(f"{self.label}: the Prisma CLI's start-up answers cannot be replayed here; it runs as usual")
        return prepared

    def warm_ahead(self, env: Mapping[str, str]) -> bool:
        """Start the imports of the warm parent a later `prepare(env)` will want, if that costs
        nobody now (`WarmParents.warm(ahead=True)`); whether that parent exists now."""
        if self.mode == PLAIN:
            return False
        return WARM_PARENTS.warm(self.parent_spec(self._with_shim(env)), self.log, ahead=True)

    def _with_shim(self, env: Mapping[str, str]) -> dict[str, str]:
        """`env`, in `fork` mode with the Prisma shim first on PATH."""
        prepared = dict(env)
        if self.mode != PLAIN:
            # The shim's place is known before it exists: the parent starts its imports meanwhile.
            prepared["PATH"] = f"{shim_bin_dir(self.environment, env)}{os.pathsep}{prepared.get('PATH', '')}"
        return prepared

    def parent_spec(self, env: Mapping[str, str]) -> WarmParentSpec:
        """The warm parent a proxy with environment `env` is forked from."""
        import_time, _ = split_environment(env, self.run_time)
        stamp = read_stamp(self.environment.root) or {}
        return WarmParentSpec(
            python=self.environment.python, argv0=self.environment.litellm_executable, preload=PRELOAD,
            entry=ENTRY, env=import_time, token=f"{self.environment.root} built {stamp.get('built_at')}",
            warm_up=ROUTE_STATE_WARM_UP,
        )

    def launch(self, command: Sequence[str], env: Mapping[str, str], cwd: Path, log_path: Path,
               plain: bool = False) -> Launch:
        """Start the proxy `command` would start; `plain` forces a plain start (a fallback)."""
        if self.mode == PLAIN or plain:
            return Launch(_popen(command, env, cwd, log_path), False, "plain start")
        try:
            parent = WARM_PARENTS.parent_for(self.parent_spec(env), self.log)
            process = parent.fork(command, env, cwd, log_path)
        except ForkUnavailable as unavailable:
            self.log(f"{self.label}: starting the proxy plainly: {unavailable.reason}")
            return Launch(_popen(command, env, cwd, log_path), False, f"plain start ({unavailable.reason})")
        return Launch(process, True, f"forked from warm parent {parent.run_id} "
                                     f"(its imports took {parent.import_s or 0:.1f} s, once)")


def _popen(command: Sequence[str], env: Mapping[str, str], cwd: Path, log_path: Path) -> subprocess.Popen[bytes]:
    with open(log_path, "wb") as log_file:
        # Own session: stop() can signal the proxy and every child (the Prisma engine) at once,
        # and a Ctrl-C in the terminal reaches us, not the proxy, so shutdown stays ordered.
        return subprocess.Popen(
            list(command), cwd=cwd, env=dict(env), stdin=subprocess.DEVNULL, stdout=log_file,
            stderr=subprocess.STDOUT, start_new_session=True,
        )
