"""The `docker` target: a LiteLLM image run against PostgreSQL in a container, on its own network.

`DockerTarget("litellm==1.82.3").start(models)` (what `--target docker:litellm==1.82.3` builds)
gives the run its own user-defined network and three containers on it:

- `gateconform-<run>-postgres`: PostgreSQL (`postgres:16`, or `gateconform/postgres:15` built
  from Debian where nothing can be pulled), data on a tmpfs;
- `gateconform-<run>-upstream`: the fake provider (`upstream_server.py`, stdlib only, copied in) run by
  the LiteLLM image's own Python; the proxy reaches it by name, the harness reads its hits
  through a port published on 127.0.0.1;
- `gateconform-<run>-proxy`: the LiteLLM image with the generated config copied in, the master
  key and `DATABASE_URL` in its environment, port 4000 published on 127.0.0.1 only.

Images made by `gateconform image build` apply LiteLLM's migrations in their entrypoint and run
with `DISABLE_SCHEMA_UPDATE=true`, like the local target; official images migrate themselves.

`stop()` removes every container, the network and any volume labelled with the run id (listing
by label, so an object whose creation a Ctrl-C interrupted goes too). It runs on success, on
failure, on Ctrl-C (use the target as a context manager, or let the runner stop it), at
interpreter exit and on SIGTERM/SIGHUP; a later run, or `gateconform clean`, removes what a
killed run (SIGKILL) left.
"""

from __future__ import annotations

import io
import secrets
import tarfile
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

import httpx

from harness.common.log import Log
from harness.common.redact import Redactor
from harness.gateways.litellm import local as local_target
from harness.targets.lifecycle import start_or_clean_up, unregister_live_target
from harness.model.proxy import ProxySettings
from harness.targets.base import Endpoint, ModelSpec, ProxyTarget
from harness.targets.docker_engine import (
    LABEL_RUN,
    connect,
    remove_run,
    run_labels,
    sweep,
)
from harness.targets.errors import TargetError
from harness.gateways.litellm.images import (
    ImageRef,
    ResolvedImage,
    ensure_image,
    is_compromised,
    parse_image_ref,
    refuse_image_version,
)
from harness.gateways.litellm.image_setup import substitutions_in
from harness.gateways.litellm.proxy_config import render_proxy_config
from harness.gateways.litellm.readiness import wait_until_ready
from harness.targets import upstream_answers, upstream_server
from harness.targets.upstream import RemoteUpstream

if TYPE_CHECKING:
    import docker
    from docker.models.containers import Container


PROXY_PORT = 4000
UPSTREAM_PORT = 8080
POSTGRES_PORT = 5432
DATABASE = "litellm"
POSTGRES_USER = "postgres"
#: Where the config and the upstream's module are copied inside the containers.
CONTAINER_DIR = "/gateconform"
READY_TIMEOUT_S = local_target.READY_TIMEOUT_S
LOG_TAIL_LINES = local_target.LOG_TAIL_LINES
UPSTREAM_READY_TIMEOUT_S = 60.0
POSTGRES_READY_TIMEOUT_S = 90.0
#: Settings for a database that is thrown away (as the local target's PostgreSQL).
POSTGRES_SETTINGS = {
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "200",
}
_UPSTREAM_SOURCE = Path(upstream_server.__file__)  # stdlib only: runs as it is in any Python image
_UPSTREAM_ANSWERS = Path(upstream_answers.__file__)  # what it answers, imported from beside it


def _no_log(_message: str) -> None:
    pass


def _tar_of(files: dict[str, tuple[bytes, int]]) -> bytes:
    """A tar archive of `{path: (content, mode)}` for `put_archive` (paths relative to /)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for name, (data, mode) in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = mode
            info.mtime = int(time.time())
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


class DockerTarget(ProxyTarget):
    """A LiteLLM Docker image run with PostgreSQL and the fake upstream in containers."""

    def __init__(
        self,
        image: str,
        log: Log | None = None,
        *,
        ready_timeout_s: float = READY_TIMEOUT_S,
    ) -> None:
        self.image_ref: ImageRef = parse_image_ref(image)  # bad or compromised references fail here
        self.log = log or _no_log
        self.ready_timeout_s = ready_timeout_s
        self.image: ResolvedImage | None = None
        self.postgres_image = ""
        self.version: str | None = None
        self.timings: dict[str, float] = {}
        self.run_id = ""
        self.network_name = ""
        self.master_key = ""
        self.base_url = ""
        self.upstream: RemoteUpstream | None = None
        self._client: "docker.DockerClient | None" = None
        self._containers: dict[str, "Container"] = {}
        self._redactor = Redactor()
        self._stop_lock = threading.RLock()
        #: The id of the latest run, kept after `stop()` (tests look for its leftovers by it).
        self.last_run_id = ""

    @property
    def label(self) -> str:
        """e.g. `docker:litellm==1.82.3`, with the version once known."""
        version = self.version or self.image_ref.version
        suffix = f" (litellm {version})" if version and not self.image_ref.short_form else ""
        return f"{self.image_ref.label}{suffix}"

    @property
    def image_digest(self) -> str | None:
        """What exactly ran: the registry digest of a pulled image, else the local image id."""
        if self.image is None:
            return None
        return self.image.digest or self.image.image_id

    # -- start

    def start(self, models: Sequence[ModelSpec], settings: ProxySettings | None = None) -> Endpoint:
        """Start PostgreSQL, the upstream and the proxy; return once the proxy's database is connected.

        `settings`: a scenario's proxy configuration and environment (`ProxySettings`).

        On any failure (or Ctrl-C) everything started so far is removed before the error
        propagates; a proxy that does not get ready raises `TargetError` with its log tail.
        """
        if self.run_id:
            raise TargetError(f"{self.label} is already started; stop() it first")
        return start_or_clean_up(self, lambda: self._start(models, settings or ProxySettings()))

    def _start(self, models: Sequence[ModelSpec], settings: ProxySettings) -> Endpoint:
        from harness.gateways.litellm.image_build import ensure_postgres_image

        client = self._client = connect()
        sweep(client, log=self.log)  # what killed runs left behind
        self.image = self._timed("image_s", lambda: ensure_image(client, self.image_ref, self.log))
        self.version = self.image.version
        self.postgres_image = self._timed("postgres_image_s", lambda: ensure_postgres_image(client, self.log))

        self.run_id = self.last_run_id = secrets.token_hex(6)
        prefix = f"gateconform-{self.run_id}"
        self.master_key = f"sk-gc-{secrets.token_hex(16)}"
        password = secrets.token_hex(16)
        database_url = f"postgresql://{POSTGRES_USER}:{password}@{prefix}-postgres:{POSTGRES_PORT}/{DATABASE}"
        for secret in (self.master_key, password, database_url):
            self._redactor.add(secret)

        boot_started = time.monotonic()
        self.network_name = prefix
        client.networks.create(prefix, driver="bridge", labels=run_labels(self.run_id, "network"))
        self._start_postgres(client, f"{prefix}-postgres", password)
        self.upstream = self._start_upstream(client, f"{prefix}-upstream", models)
        if not self.image.built_by_gateconform:
            # Official images connect at once; ours wait for the database in their entrypoint.
            self._wait_for_postgres()
        config = render_proxy_config(models, self.upstream.proxy_url, settings=settings)
        self._start_proxy(client, f"{prefix}-proxy", config, database_url, settings.env())
        self.database = self._run_sql
        if self.image.built_by_gateconform:
            self.substitutions = substitutions_in(self._containers["proxy"])
        self._timed("proxy_boot_s", self._wait_until_ready)
        self.timings["boot_s"] = time.monotonic() - boot_started
        return self.endpoint()

    def _run_container(self, client: "docker.DockerClient", role: str, name: str, image: str, *,
                       files: dict[str, tuple[bytes, int]] | None = None, **options: object) -> "Container":
        """Create (labelled, on the run's network), copy `files` in, start; remembered for logs."""
        container = client.containers.create(
            image,
            name=name,
            network=self.network_name,
            labels=run_labels(self.run_id, role),
            detach=True,
            **options,
        )
        self._containers[role] = container
        if files:
            container.put_archive("/", _tar_of(files))
        container.start()
        return container

    def _start_postgres(self, client: "docker.DockerClient", name: str, password: str) -> None:
        command = ["postgres"] + [f"-c{key}={value}" for key, value in POSTGRES_SETTINGS.items()]
        self._run_container(
            client, "postgres", name, self.postgres_image,
            command=command,
            environment={"POSTGRES_PASSWORD": password, "POSTGRES_USER": POSTGRES_USER, "POSTGRES_DB": DATABASE},
            # Thrown away with the run; a tmpfs over the image's VOLUME also means no anonymous volume.
            tmpfs={"/var/lib/postgresql/data": "rw,size=1g"},
        )
        self.log(f"{self.label}: postgres ({self.postgres_image}) starting as {name}")

    def _start_upstream(self, client: "docker.DockerClient", name: str, models: Sequence[ModelSpec]) -> RemoteUpstream:
        assert self.image is not None
        script = f"{CONTAINER_DIR}/upstream_server.py"
        arguments = ["--host", "0.0.0.0", "--port", str(UPSTREAM_PORT)]
        for model in models:
            arguments += ["--model", model.name]
        # The image's own Python runs the stdlib-only fake: no second image is needed.
        launcher = 'for p in python3 python; do command -v "$p" >/dev/null && exec "$p" "$@"; done; ' \
                   'echo "no python in this image" >&2; exit 127'
        container = self._run_container(
            client, "upstream", name, self.image.image_id,
            entrypoint=["/bin/sh", "-c", launcher, "sh"],
            command=[script, *arguments],
            user="0",
            environment={"PYTHONUNBUFFERED": "1", "PYTHONDONTWRITEBYTECODE": "1"},
            ports={f"{UPSTREAM_PORT}/tcp": ("127.0.0.1", None)},
            files={script.lstrip("/"): (_UPSTREAM_SOURCE.read_bytes(), 0o644),
                   f"{CONTAINER_DIR}/upstream_answers.py".lstrip("/"): (_UPSTREAM_ANSWERS.read_bytes(), 0o644)},
        )
        host_port = self._published_port(container, UPSTREAM_PORT)
        upstream = RemoteUpstream(f"http://127.0.0.1:{host_port}", proxy_url=f"http://{name}:{UPSTREAM_PORT}")
        deadline = time.monotonic() + UPSTREAM_READY_TIMEOUT_S
        while not upstream.healthy():
            container.reload()
            if container.status not in ("created", "running") or time.monotonic() > deadline:
                raise TargetError(self._failure_message("upstream", f"the upstream fake did not start ({container.status})"))
            time.sleep(0.1)
        self.log(f"{self.label}: upstream fake ready as {name} (hits via {upstream.url})")
        return upstream

    def _wait_for_postgres(self) -> None:
        container = self._containers["postgres"]
        deadline = time.monotonic() + POSTGRES_READY_TIMEOUT_S
        while True:
            # TCP on 127.0.0.1: during its first-start initialisation the official image's server
            # listens on the unix socket only, so this answers only once the real server runs.
            result = container.exec_run(["pg_isready", "-q", "-h", "127.0.0.1", "-p", str(POSTGRES_PORT)])
            if result.exit_code == 0:
                return
            container.reload()
            if container.status != "running" or time.monotonic() > deadline:
                raise TargetError(self._failure_message("postgres", f"PostgreSQL did not get ready ({container.status})"))
            time.sleep(0.3)

    def _run_sql(self, sql: str) -> str:
        """Run `sql` in the run's PostgreSQL container (a timeline's `remove_row`)."""
        result = self._containers["postgres"].exec_run(["psql", "-U", POSTGRES_USER, "-d", DATABASE, "-v",
                                                        "ON_ERROR_STOP=1", "-c", sql])
        output = result.output.decode(errors="replace") if result.output else ""
        if result.exit_code != 0:
            raise TargetError(f"psql in the PostgreSQL container failed (exit {result.exit_code}): {output[-500:]}")
        return output

    def _start_proxy(self, client: "docker.DockerClient", name: str, config: str, database_url: str,
                     scenario_env: dict[str, str] | None = None) -> None:
        assert self.image is not None
        environment = dict(local_target.PROXY_FIXED_ENV)
        environment.update(scenario_env or {})
        if not self.image.built_by_gateconform:
            # Official images ship Prisma's engines and apply their migrations themselves.
            environment.pop("DISABLE_SCHEMA_UPDATE", None)
        environment.update({
            "LITELLM_MASTER_KEY": self.master_key,
            "DATABASE_URL": database_url,
            "GATECONFORM_RUN_ID": self.run_id,
        })
        config_path = f"{CONTAINER_DIR}/config.yaml"
        container = self._run_container(
            client, "proxy", name, self.image.image_id,
            command=["--config", config_path, "--host", "0.0.0.0", "--port", str(PROXY_PORT)],
            environment=environment,
            ports={f"{PROXY_PORT}/tcp": ("127.0.0.1", None)},
            # 0644: the non-root official images must read it; it holds no secret (both come from env).
            files={config_path.lstrip("/"): (config.encode(), 0o644)},
        )
        self.base_url = f"http://127.0.0.1:{self._published_port(container, PROXY_PORT)}"
        self.log(f"{self.label}: starting proxy container {name} on {self.base_url} …")

    @staticmethod
    def _published_port(container: "Container", port: int) -> int:
        for _ in range(50):
            container.reload()
            bindings = (container.ports or {}).get(f"{port}/tcp") or []
            for binding in bindings:
                if binding.get("HostPort"):
                    return int(binding["HostPort"])
            time.sleep(0.1)
        raise TargetError(f"{container.name}: port {port} was not published")

    def _wait_until_ready(self) -> None:
        def exited() -> str | None:
            for role in ("proxy", "postgres"):
                container = self._containers[role]
                container.reload()
                if container.status in ("exited", "dead"):
                    code = container.attrs.get("State", {}).get("ExitCode")
                    return f"the {role} container exited with code {code}"
            return None

        def failure(reason: str) -> str:
            role = "postgres" if reason.startswith("the postgres container") else "proxy"
            return self._failure_message(role, reason)

        wait_until_ready(self.base_url, label=self.label, timeout_s=self.ready_timeout_s, log=self.log,
                         exited=exited, failure=failure,
                         on_ready=lambda http: self._learn_version(http, self._containers["proxy"]))

    def _learn_version(self, http: httpx.Client, proxy: "Container") -> None:
        """The version the running proxy reports; a compromised one is refused (and stopped)."""
        reported = None
        try:
            document = http.get(f"{self.base_url}/health/readiness").json()
            reported = document.get("litellm_version") if isinstance(document, dict) else None
        except (httpx.HTTPError, ValueError):
            pass
        if not reported and not self.version:
            result = proxy.exec_run(["sh", "-c", "litellm --version 2>/dev/null || pip show litellm 2>/dev/null"])
            text = result.output.decode(errors="replace") if result.output else ""
            from harness.gateways.litellm.images import version_in_tag

            reported = version_in_tag(text)
        if reported:
            if is_compromised(reported):
                refuse_image_version(reported, self.image.reference if self.image else self.image_ref.text)
            self.version = reported

    # -- failure reporting

    def container_log_tail(self, role: str = "proxy", lines: int = LOG_TAIL_LINES) -> str:
        """The last `lines` lines a container of this run wrote, secrets redacted."""
        container = self._containers.get(role)
        if container is None:
            return f"(no {role} container)"
        try:
            text = container.logs(tail=lines).decode(errors="replace")
        except Exception as error:  # noqa: BLE001 - the container may be gone already
            return f"(no {role} log: {type(error).__name__})"
        return self._redactor.redact(text.rstrip()) or f"(the {role} container wrote nothing)"

    def _failure_message(self, role: str, reason: str) -> str:
        message = f"{self.label}: {reason}. Last {LOG_TAIL_LINES} lines of the {role} container's log:\n"
        message += self.container_log_tail(role)
        if role == "proxy" and "postgres" in self._containers:
            message += "\nLast 10 lines of the postgres container's log:\n" + self.container_log_tail("postgres", 10)
        return message

    # -- stop

    def stop(self) -> None:
        """Remove this run's containers, network and volumes. Idempotent, safe after a partial start."""
        with self._stop_lock:
            started = time.monotonic()
            self.upstream = None
            client, run_id = self._client, self.run_id
            try:
                if client is not None and run_id:
                    report = remove_run(client, run_id)
                    self.run_id = ""
                    self._containers.clear()
                    self.timings["stop_s"] = time.monotonic() - started
                    self.log(f"{self.label}: removed {len(report.containers)} container(s) and the network "
                             f"in {self.timings['stop_s']:.1f} s")
                    if report.errors:
                        raise TargetError(
                            f"{self.label}: removing the run's containers left errors: " + "; ".join(report.errors)
                        )
            finally:
                if not self.run_id:  # removed (or nothing started): the safety net may forget us
                    unregister_live_target(self)
                    if self._client is not None:
                        self._client.close()
                        self._client = None


__all__ = ["DockerTarget", "LABEL_RUN"]
