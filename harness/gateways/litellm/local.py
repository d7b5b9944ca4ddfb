"""The `local` target: a LiteLLM release from PyPI, started on this machine without Docker.

`LocalTarget("litellm==1.82.3").start(models)` builds (or reuses) the release's environment,
gets a fresh database with LiteLLM's schema (on the process's shared PostgreSQL server), starts
the fake upstream and the proxy, and waits until the proxy reports its database connected. The
proxy is forked from a warm parent that imported LiteLLM once, or started plainly
(`proxy_start.py`: start modes, fallback). `stop()` leaves nothing of this start behind: the
proxy's whole process group (including the Prisma engine it spawns), the upstream, the database
and every temp folder; what the process shares between starts (the PostgreSQL server, warm
parents) is stopped at interpreter exit. It also runs on Ctrl-C (use the target as a context
manager), at interpreter exit and on SIGTERM/SIGHUP; a later run (and `gateconform clean`) also
reaps what a killed run or environment build (SIGKILL) left: `reap_orphans`.

Every process started for a run or a build carries the run marker (`GATECONFORM_RUN_ID` and its
owner) in its environment, and inherits it to its children; `processes.running_children()` finds
them by it (a forked proxy through its warm parent's ledger), which is how tests check that
nothing of ours survived.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Mapping, Sequence


from harness.common.log import Log
from harness.common.redact import Redactor
from harness.model.proxy import ProxySettings
from harness.targets.base import Endpoint, ModelSpec, ProxyTarget
from harness.common.cache_root import default_cache_root
from harness.gateways.litellm.environment_build import ensure_environment
from harness.gateways.litellm.environments import (
    LiteLLMEnvironment,
    find_complete_environment,
    prisma_env,
    remove_interrupted_builds,
)
from harness.targets.errors import TargetError
from harness.targets import reaping
from harness.targets.lifecycle import (
    OWNER_FILE,
    OWNER_IDENTITY,
    marker_env,
    start_or_clean_up,
    unregister_live_target,
)
from harness.targets.processes import running_children, send_signal, signal_group
from harness.targets.reaping import RUN_DIR_PREFIX, Reaped
from harness.targets.postgres import PostgresServer, free_port
from harness.targets.shared_postgres import SHARED_POSTGRES
from harness.gateways.litellm.prisma_shim import PRISMA_CALLS_ENV
from harness.gateways.litellm.proxy_config import write_proxy_config
from harness.gateways.litellm.proxy_start import FORK, Launch, ProxyProcess, ProxyStarter
from harness.gateways.litellm.proxy_start import start_mode as start_mode_of
from harness.gateways.litellm.readiness import wait_until_ready
from harness.gateways.litellm.latest import resolve_version
from harness.gateways.litellm.release_list import newest_release
from harness.gateways.litellm.database_schema import database_schema, provenance_lines
from harness.gateways.litellm.releases import (
    DEPS_TODAY,
    MOVING_VERSIONS,
    parse_version_spec,
    split_deps,
    with_deps,
)
from harness.targets.upstream import Upstream
from harness.gateways.litellm.wasm_engine import ensure_wasm_engine, remove_interrupted_installs


READY_TIMEOUT_S = 180.0
PORT_ATTEMPTS = 3
STOP_WAIT_S = 5.0  # for a killed proxy to be reaped
LOG_TAIL_LINES = 40

#: The only variables the proxy inherits from the user's environment. Anything else (HTTP(S)_PROXY,
#: LITELLM_*, OPENAI_API_KEY, DATABASE_URL, REDIS_*, PYTHONPATH …) could change its behaviour.
INHERITED_ENV = ("HOME", "USER", "LOGNAME", "LANG", "TZ", "TMPDIR", "SSL_CERT_FILE", "SSL_CERT_DIR")

#: Fixed settings for every proxy we start.
PROXY_FIXED_ENV = {
    # We apply the migrations ourselves; the proxy must not try (it would need the schema engine).
    "DISABLE_SCHEMA_UPDATE": "true",
    # The model cost map is otherwise fetched from the internet at import time.
    "LITELLM_LOCAL_MODEL_COST_MAP": "True",
    "LITELLM_TELEMETRY": "False",
    "PYTHONUNBUFFERED": "1",
}


#: What killed builds of a LiteLLM environment leave in the cache, and how each is swept.
LITELLM_BUILD_SWEEPERS = (remove_interrupted_builds, remove_interrupted_installs)


def _no_log(_message: str) -> None:
    pass


def reap_orphans(log: Log | None = None, cache_root: Path | None = None) -> Reaped:
    """Kill processes and remove folders left by runs and builds whose owner process is gone.

    `reaping.reap_orphans` with what killed LiteLLM builds leave in `cache_root` (default: the
    user cache): the build sites and never-completed environments of `environments`, and the
    wasm engine's interrupted installs.
    """
    return reaping.reap_orphans(log, cache_root, LITELLM_BUILD_SWEEPERS)


# --------------------------------------------------------------------------- the target


class LocalTarget(ProxyTarget):
    """A LiteLLM release from PyPI run locally against a throwaway PostgreSQL.

    `postgres`: a started `PostgresServer` to use; by default the process's shared server
    (`shared_postgres.SHARED_POSTGRES`). Either way each start gets a fresh database of its own,
    copied from its migrated template and dropped by `stop()`; the server is not stopped. `start_mode`: `fork` or `plain` (default: the
    `GATECONFORM_PROXY_START` variable, else `fork`; see `proxy_start.py`). `models_in_database`: the
    proxy also serves models added through its admin API (the proxy `gateconform up` keeps).
    """

    #: `stop()` drops the proxy's database (a fresh one per start) and ends its processes
    discards_state_on_stop = True

    def __init__(
        self,
        version_spec: str,
        cache_root: Path | None = None,
        log: Log | None = None,
        *,
        postgres: PostgresServer | None = None,
        ready_timeout_s: float = READY_TIMEOUT_S,
        deps: str = DEPS_TODAY,
        start_mode: str | None = None,
        models_in_database: bool = False,
    ) -> None:
        self.start_mode = start_mode_of(start_mode)  # a bad value is refused before any work
        # `litellm==1.95.0@as-released` asks for the release's dependencies as of its upload date
        self.version_spec, self.deps = split_deps(with_deps(version_spec, deps))
        parse_version_spec(self.version_spec)  # bad or compromised specs fail here, before any work
        self.cache_root = (cache_root or default_cache_root()).resolve()
        self.log = log or _no_log
        self.ready_timeout_s = ready_timeout_s
        #: the proxy also serves models added through its admin API (`gateconform up`'s proxy)
        self.models_in_database = models_in_database
        self.version: str | None = None
        self.environment: LiteLLMEnvironment | None = None
        self.timings: dict[str, float] = {}
        self.run_id = ""
        self.run_dir: Path | None = None
        self.master_key = ""
        self.base_url = ""
        self.routes_identity: str | None = None
        self.database = None  # runs SQL on this proxy's database (a timeline's `remove_row`) once started
        self.upstream: Upstream | None = None
        self.proxy: ProxyProcess | None = None
        #: how the proxy was started (`Launch.how`): forked, plain, or plain as a fallback and why
        self.started_how = ""
        self._postgres = postgres
        self._database_server: PostgresServer | None = None
        self._database_name: str | None = None
        self._redactor = Redactor()
        self._stop_lock = threading.RLock()
        self._forked = False

    @property
    def label(self) -> str:
        """e.g. `litellm==1.82.3 (local)`; the resolved version once `latest` is resolved."""
        suffix = "" if self.deps == DEPS_TODAY else f", deps {self.deps}"
        return f"litellm=={self.version or self.version_spec.split('==')[-1].strip()} (local{suffix})"

    @property
    def proxy_log(self) -> Path | None:
        """The proxy's stdout/stderr while it runs (removed by `stop()`)."""
        return self.run_dir / "proxy.log" if self.run_dir else None

    # -- start

    def start(self, models: Sequence[ModelSpec], settings: ProxySettings | None = None) -> Endpoint:
        """Start everything and return the endpoint once the proxy's database is connected.

        `settings`: a scenario's proxy configuration and environment (`ProxySettings`).

        On any failure (or Ctrl-C) everything started so far is stopped before the error
        propagates; a proxy that does not get ready raises `TargetError` with its log tail.
        """
        if self.proxy is not None:
            raise TargetError(f"{self.label} is already started; stop() it first")
        def start() -> Endpoint:
            reap_orphans(self.log, self.cache_root)
            return self._start(models, settings or ProxySettings())

        return start_or_clean_up(self, start)

    def warm_ahead(self, models: Sequence[ModelSpec], settings: ProxySettings | None = None) -> bool:
        """Start now, in the background, what a later `start(models, settings)` waits for longest:
        the imports of its warm parent (`ProxyStarter.warm_ahead`). A run calls it for its model
        lists before its first start, so the imports of parents for other import-time
        environments (a scenario's cache TTL variable …) overlap that of the first one.

        Costs nobody: nothing is built or installed (an exact release whose environment is built,
        else nothing happens), no parent is stopped, and no more import at once than there are
        cores. Nothing of it needs stopping: warm parents are the process's. Returns whether
        the parent exists now.
        """
        version = parse_version_spec(self.version_spec)
        if self.start_mode != FORK or version in MOVING_VERSIONS:
            return False
        environment = find_complete_environment(self.cache_root, version, self.deps)
        if environment is None:
            return False
        engine = ensure_wasm_engine(self.cache_root, self.log)
        starter = ProxyStarter(self.start_mode, environment, self.label, self.log)
        return starter.warm_ahead(self._proxy_env(engine.env(), environment, settings or ProxySettings()))

    def _start(self, models: Sequence[ModelSpec], settings: ProxySettings) -> Endpoint:
        self.version = resolve_version(self.version_spec, self.cache_root, self.log,
                                       newest=lambda: newest_release(self.cache_root))
        engine = ensure_wasm_engine(self.cache_root, self.log)
        environment = self._timed("environment_s", lambda: ensure_environment(
            self.version or "", self.cache_root, engine.env(), self.log, deps=self.deps
        ))
        self.environment = environment
        self.run_id = secrets.token_hex(6)
        self.run_dir = Path(tempfile.mkdtemp(prefix=f"{RUN_DIR_PREFIX}{self.run_id}-"))
        (self.run_dir / OWNER_FILE).write_text(OWNER_IDENTITY + "\n")
        starter = ProxyStarter(self.start_mode, environment, self.label, self.log)
        # First: a warm parent's imports then run while the database and the upstream start.
        env = self._timed("proxy_prepare_s",
                          lambda: starter.prepare(self._proxy_env(engine.env(), environment, settings)))
        database_url = self._timed("database_s", lambda: self._database_for(environment))
        self.upstream = Upstream(models=[model.name for model in models]).start()
        self.master_key = f"sk-gc-{secrets.token_hex(16)}"
        self._redactor.add(self.master_key)
        self._redactor.add(database_url)
        config = write_proxy_config(self.run_dir / "config.yaml", models, self.upstream.url, settings=settings,
                                    models_in_database=self.models_in_database)
        env.update({"DATABASE_URL": database_url, "LITELLM_MASTER_KEY": self.master_key,
                    PRISMA_CALLS_ENV: str(self.run_dir / "prisma-calls.log")})
        self.routes_identity = self._routes_identity(starter, env, settings)
        self._timed("proxy_boot_s", lambda: self._boot_proxy_on_free_port(starter, environment, config, env))
        return self.endpoint()

    def _routes_identity(self, starter: ProxyStarter, env: Mapping[str, str], settings: ProxySettings) -> str:
        """What this proxy's routes depend on but its models (`Endpoint.routes_identity`): the
        environment's build and the import-time environment (a warm parent's identity, whether
        or not the proxy is forked from it) and the config's settings."""
        document = {"build": starter.parent_spec(env).identity, "sections": [list(s) for s in settings.sections],
                    "admin_models": settings.admin_models, "models_in_database": self.models_in_database}
        return hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()[:16]

    def _run_marker_env(self) -> dict[str, str]:
        return marker_env(self.run_id, OWNER_IDENTITY)

    def _database_for(self, environment: LiteLLMEnvironment) -> str:
        server = self._postgres or SHARED_POSTGRES.server(self.log)
        self._redactor.add(server.password)
        schema = database_schema(environment, self.cache_root, self.log)
        self.substitutions, self.deps_dating = provenance_lines(environment, schema)
        url = server.database_for(schema)
        self._database_server, self._database_name = server, url.rsplit("/", 1)[1]
        database_name = self._database_name
        self.database = lambda sql: server.psql(sql, database=database_name)
        self.timings.update({f"postgres_{name}": value for name, value in server.timings.items()})
        # the shared server tells nobody what it does for later targets: the schema's source is said here
        self.log(f"postgres: database {self._database_name} on {server.host}:{server.port} with "
                 f"{schema.description or 'the release migrations'}, copied from template in "
                 f"{server.timings.get('template_copy_s', 0):.2f} s")
        return url

    def _proxy_env(self, engine_env: Mapping[str, str], environment: LiteLLMEnvironment,
                   settings: ProxySettings | None = None) -> dict[str, str]:
        """Everything of the proxy's environment but what each start adds (database, master key).

        The scenario's environment variables are in it, so they are part of a warm parent's
        identity: LiteLLM reads some of them at import.
        """
        base = {name: os.environ[name] for name in INHERITED_ENV if name in os.environ}
        base.update({k: v for k, v in os.environ.items() if k.startswith("LC_")})
        base["PATH"] = os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin")
        env = prisma_env(self.cache_root, engine_env, environment.bin_dir, base=base)
        env.update(PROXY_FIXED_ENV)
        env.update(settings.env() if settings is not None else {})  # the scenario's; never the harness's own below
        env.update(self._run_marker_env())
        return env

    def _boot_proxy_on_free_port(self, starter: ProxyStarter, environment: LiteLLMEnvironment, config: Path,
                                 env: dict[str, str]) -> None:
        """Boot the proxy; if its port was taken meanwhile, boot again on another one.

        A plainly started proxy binds its port only after seconds of imports, so another process
        (a parallel worker) can take the port we picked in between.
        """
        for attempt in range(1, PORT_ATTEMPTS + 1):
            try:
                self._boot_proxy(starter, environment, config, free_port(), env)
                return
            except TargetError:
                if attempt == PORT_ATTEMPTS or not self._lost_its_port():
                    raise
                self.log(f"{self.label}: port {self.base_url.rsplit(':', 1)[1]} was taken meanwhile; retrying")
                self._stop_proxy()

    def _lost_its_port(self) -> bool:
        tail = self.proxy_log_tail(LOG_TAIL_LINES).lower()
        return "address already in use" in tail or "errno 98" in tail

    def _boot_proxy(self, starter: ProxyStarter, environment: LiteLLMEnvironment, config: Path, port: int,
                    env: dict[str, str]) -> None:
        assert self.run_dir is not None and self.proxy_log is not None
        self.base_url = f"http://127.0.0.1:{port}"
        command = [
            str(environment.litellm_executable),
            "--config", str(config),
            "--host", "127.0.0.1",
            "--port", str(port),
        ]
        self.log(f"{self.label}: starting proxy on {self.base_url} …")
        self._launch(starter.launch(command, env, self.run_dir, self.proxy_log))
        try:
            self._wait_until_ready()
        except TargetError as failure:
            # A forked proxy that exited before it was ready is started once more, plainly: a
            # fork must never be why a proxy does not start. A taken port is retried by the caller.
            if not self._forked or self.proxy is None or self.proxy.poll() is None or self._lost_its_port():
                raise
            reason = str(failure).splitlines()[0]
            self.log(f"{self.label}: the forked proxy did not start ({reason}); starting it plainly")
            self.proxy_log.replace(self.run_dir / "proxy-forked.log")
            self._stop_proxy()
            self._launch(starter.launch(command, env, self.run_dir, self.proxy_log, plain=True),
                         f" (after a forked start failed: {reason})")
            self._wait_until_ready()

    def _launch(self, launch: Launch, why: str = "") -> None:
        self.proxy = launch.process
        self._forked = launch.forked
        self.started_how = launch.how + why
        self.log(f"{self.label}: proxy {self.started_how}")

    def _wait_until_ready(self) -> None:
        def exited() -> str | None:
            assert self.proxy is not None
            code = self.proxy.poll()
            return None if code is None else f"the proxy exited with code {code}"

        wait_until_ready(self.base_url, label=self.label, timeout_s=self.ready_timeout_s, log=self.log,
                         exited=exited, failure=self._failure_message)

    def _failure_message(self, reason: str) -> str:
        """`reason` with the proxy log's last lines, or saying the proxy wrote nothing (no empty section)."""
        tail = self.proxy_log_tail(LOG_TAIL_LINES)
        if not tail.strip():
            return f"{self.label}: {reason}; the proxy wrote nothing to its log"
        return f"{self.label}: {reason}. Last {LOG_TAIL_LINES} lines of the proxy log:\n{tail}"

    def proxy_log_tail(self, lines: int = LOG_TAIL_LINES) -> str:
        """The last `lines` lines of the proxy log, secrets redacted; empty when there is none."""
        if self.proxy_log is None:
            return ""
        try:
            text = self.proxy_log.read_text(errors="replace")
        except OSError:
            return ""
        return self._redactor.redact("\n".join(text.splitlines()[-lines:]))

    # -- stop

    def stop(self) -> None:
        """Stop the proxy (its whole process group), the upstream and PostgreSQL; remove temp dirs.

        Idempotent, safe after a partial start, and keeps going if one step fails.
        """
        with self._stop_lock:
            started = time.monotonic()
            errors: list[str] = []
            for step in (self._stop_proxy, self._stop_upstream, self._stop_postgres, self._kill_stragglers,
                         self._remove_run_dir):
                try:
                    step()
                except Exception as error:  # noqa: BLE001 - every step must get its chance
                    errors.append(f"{step.__name__}: {error}")
            unregister_live_target(self)
            self.timings["stop_s"] = time.monotonic() - started
            if errors:
                raise TargetError(f"{self.label}: stopping left errors: " + "; ".join(errors))

    def _stop_proxy(self) -> None:
        """Kill the proxy's whole process group at once.

        A proxy of ours is thrown away with its database, so nothing its graceful shutdown does
        (flush spend logs, disconnect Prisma) is ever observed; on 1.82.3 it even starts a new
        query engine first, seeing the old one die with the group. Waiting for it cost 0.5 s a
        proxy. SIGKILL also ends a stopped (SIGSTOP) or hung proxy without a grace period.
        """
        proxy, self.proxy = self.proxy, None
        if proxy is None:
            return
        signal_group(proxy.pid, signal.SIGKILL)  # start_new_session: the proxy leads its own group
        try:
            proxy.wait(timeout=STOP_WAIT_S)
        except subprocess.TimeoutExpired:
            pass  # `_kill_stragglers` looks for anything of this run still running

    def _stop_upstream(self) -> None:
        upstream, self.upstream = self.upstream, None
        if upstream is not None:
            upstream.stop()

    def _stop_postgres(self) -> None:
        """Drop the database this start used; the server outlives us (shared, or the caller's)."""
        database, self._database_name = self._database_name, None
        server, self._database_server = self._database_server, None
        if database and server is not None and server.running:
            server.drop_database(database)

    def _kill_stragglers(self) -> None:
        """Anything still carrying this run's marker (e.g. a child that left the group)."""
        if not self.run_id:
            return
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            pids = running_children(self.run_id)
            if not pids:
                return
            for pid in pids:
                send_signal(pid, signal.SIGKILL)
            time.sleep(0.05)

    def _remove_run_dir(self) -> None:
        run_dir, self.run_dir = self.run_dir, None
        if run_dir is not None:
            shutil.rmtree(run_dir, ignore_errors=True)
