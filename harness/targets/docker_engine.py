"""The Docker engine as gateconform uses it: connecting, labelling, and sweeping leftovers.

Everything a run creates (containers, its network, volumes) carries these labels:

- `gateconform.run=<run id>`: which run it belongs to;
- `gateconform.owner=<pid:start-ticks>` and `gateconform.host=<hostname>`: the Python process
  that owns the run, so a later run (or `gateconform clean`) can tell that the owner is gone
  (killed with SIGKILL, machine rebooted) and remove what it left;
- `gateconform.role=proxy|postgres|upstream|network`.

Runs whose owner is alive are never touched (parallel pytest workers, another terminal), unless
asked to (`include_live`).
"""

from __future__ import annotations

import os
import socket
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from harness.common.log import Log
from harness.targets.errors import TargetError
from harness.targets.lifecycle import OWNER_IDENTITY, identity_alive

if TYPE_CHECKING:
    import docker


LABEL_RUN = "gateconform.run"
LABEL_OWNER = "gateconform.owner"
LABEL_HOST = "gateconform.host"
LABEL_ROLE = "gateconform.role"

#: Seconds a call to the engine may take (image builds and pulls stream, so this is per read).
API_TIMEOUT_S = 120


class DockerUnavailableError(TargetError):
    """No Docker engine answers; the message says why and what to do."""


def _no_log(_message: str) -> None:
    pass


def connect(timeout_s: float = API_TIMEOUT_S) -> "docker.DockerClient":
    """A client for the engine `DOCKER_HOST` (or the default socket) names, checked with a ping."""
    try:
        import docker
        from docker.errors import DockerException
    except ImportError as error:  # pragma: no cover - a dependency of gateconform
        raise DockerUnavailableError("the `docker` Python package is not installed (pip install 'docker>=7')") from error
    try:
        client = docker.from_env(timeout=int(timeout_s))
        client.ping()
    except DockerException as error:
        where = os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
        raise DockerUnavailableError(
            f"no Docker engine answers at {where} ({_short(error)}). Start dockerd (on this project's "
            "machines: bash ../shared/tools/setup-docker.sh) or set DOCKER_HOST."
        ) from None
    return client


def docker_unavailable_reason() -> str | None:
    """None if an engine answers, else why not (for test skips and `doctor`-style messages)."""
    try:
        client = connect(timeout_s=10)
    except DockerUnavailableError as error:
        return str(error)
    client.close()
    return None


def _short(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0][:300] if text else type(error).__name__


# --------------------------------------------------------------------------- ownership


def owner_identity() -> str:
    """`pid:start-ticks` of this process (a pid alone may be reused later)."""
    return OWNER_IDENTITY


def hostname() -> str:
    return socket.gethostname()


def run_labels(run_id: str, role: str) -> dict[str, str]:
    """The labels of everything a run creates."""
    return {
        LABEL_RUN: run_id,
        LABEL_OWNER: owner_identity(),
        LABEL_HOST: hostname(),
        LABEL_ROLE: role,
    }


def owner_alive(labels: dict[str, str]) -> bool | None:
    """True/False if the owner of a labelled object is alive; None if it cannot be told here.

    An owner on another host cannot be checked from this one (a shared remote engine): None.
    """
    owner = labels.get(LABEL_OWNER, "")
    if labels.get(LABEL_HOST) not in (None, hostname()):
        return None
    if not owner:
        return False
    return identity_alive(owner)


# --------------------------------------------------------------------------- removing


@dataclass
class SweepReport:
    """What a sweep removed (names), what it kept and why, and what failed."""

    containers: list[str] = field(default_factory=list)
    networks: list[str] = field(default_factory=list)
    volumes: list[str] = field(default_factory=list)
    kept_runs: dict[str, str] = field(default_factory=dict)  # run id -> reason
    errors: list[str] = field(default_factory=list)

    @property
    def removed(self) -> int:
        return len(self.containers) + len(self.networks) + len(self.volumes)


def run_objects(client: "docker.DockerClient", run_id: str | None = None) -> dict[str, list]:
    """Containers (stopped ones too), networks and volumes labelled by gateconform (one run's if given)."""
    label = f"{LABEL_RUN}={run_id}" if run_id else LABEL_RUN
    filters = {"label": label}
    return {
        "containers": client.containers.list(all=True, filters=filters, ignore_removed=True),
        "networks": client.networks.list(filters=filters),
        "volumes": client.volumes.list(filters=filters),
    }


def remove_run(client: "docker.DockerClient", run_id: str, report: SweepReport | None = None,
               attempts: int = 3) -> SweepReport:
    """Remove every container, network and volume labelled with `run_id`.

    Containers go first (force: running ones are killed; their anonymous volumes with them), then
    the network, then labelled volumes. Listing by label, not by what the caller remembers, also
    catches an object whose creation was interrupted by Ctrl-C after the engine made it; a second
    pass catches one the engine finished creating while the first pass ran.
    """
    from docker.errors import APIError, NotFound

    report = report or SweepReport()
    for attempt in range(attempts):
        objects = run_objects(client, run_id)
        if not any(objects.values()):
            break
        for container in objects["containers"]:
            try:
                container.remove(force=True, v=True)
                report.containers.append(container.name)
            except NotFound:
                pass
            except APIError as error:
                if "already in progress" not in str(error):
                    report.errors.append(f"container {container.name}: {_short(error)}")
        for network in objects["networks"]:
            try:
                network.remove()
                report.networks.append(network.name)
            except NotFound:
                pass
            except APIError as error:
                report.errors.append(f"network {network.name}: {_short(error)}")
        for volume in objects["volumes"]:
            try:
                volume.remove(force=True)
                report.volumes.append(volume.name)
            except NotFound:
                pass
            except APIError as error:
                report.errors.append(f"volume {volume.name}: {_short(error)}")
        if attempt + 1 < attempts:
            time.sleep(0.2)
    leftovers = run_objects(client, run_id)
    if any(leftovers.values()):
        names = [getattr(obj, "name", "?") for objs in leftovers.values() for obj in objs]
        report.errors.append(f"run {run_id}: still present after removal: {', '.join(names)}")
    else:
        report.errors = [e for e in report.errors if "No such" not in e]
    return report


def sweep(client: "docker.DockerClient", *, include_live: bool = False, log: Log | None = None) -> SweepReport:
    """Remove what runs whose owner is gone left on the engine (everything, with `include_live`)."""
    log = log or _no_log
    report = SweepReport()
    runs: dict[str, dict[str, str]] = {}
    for objects in run_objects(client).values():
        for obj in objects:
            labels = _labels_of(obj)
            run_id = labels.get(LABEL_RUN)
            if run_id:
                runs.setdefault(run_id, labels)
    for run_id, labels in sorted(runs.items()):
        alive = owner_alive(labels)
        if not include_live and alive is not False:
            report.kept_runs[run_id] = (
                f"owner {labels.get(LABEL_OWNER)} is alive" if alive else
                f"owned by host {labels.get(LABEL_HOST)!r}: cannot tell if it is alive (use --all)"
            )
            continue
        remove_run(client, run_id, report)
    if report.removed:
        log(f"docker: removed {len(report.containers)} container(s), {len(report.networks)} network(s), "
            f"{len(report.volumes)} volume(s) left by earlier runs")
    return report


def _labels_of(obj: object) -> dict[str, str]:
    attrs = getattr(obj, "attrs", {}) or {}
    labels = attrs.get("Labels")
    if labels is None:
        labels = (attrs.get("Config") or {}).get("Labels")
    return dict(labels or {})
