"""`gateconform image build`: Docker images of a LiteLLM release (from PyPI) and of PostgreSQL.

For when no registry is reachable, or no official image exists for what you want to test. What
goes into each image is `image_recipes.py`; this module gets the base image, builds with a
heartbeat and step-by-step progress, and finds the PostgreSQL image a Docker run uses.

`gateconform/litellm:<version>` is built FROM a Debian base (`debian:bookworm-slim`, or
`local/debian:bookworm` where nothing can be pulled) with the *same recipe as the local target*.
`gateconform/postgres:15` is Debian's `postgresql-15` behind an entrypoint that follows the
official `postgres` image's interface (`POSTGRES_PASSWORD`, `POSTGRES_USER`, `POSTGRES_DB`,
`postgres -c name=value` arguments, data in `/var/lib/postgresql/data`).

Both use the legacy builder through the Python SDK (BuildKit is not available on every engine)
and are cached by recipe: an image whose `gateconform.recipe` label matches the hash of its
build context, base image and version is not rebuilt. Docker's layer cache makes a rebuild after
a recipe change cheap for the layers before the change (system packages, tools, the engine).
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Iterable

from harness.common.log import Log
from harness.gateways.litellm.images import (
    BUILT_LITELLM_REPOSITORY,
    BUILT_POSTGRES_REPOSITORY,
    ImageError,
    built_reference,
    local_image,
    pull_image,
)
from harness.gateways.litellm.image_recipes import (
    LABEL_BASE,
    LABEL_KIND,
    LABEL_RECIPE,
    LABEL_VERSION,
    POSTGRES_MAJOR,
    litellm_context_files,
    postgres_context_files,
    recipe_hash,
    with_labels,
)
from harness.gateways.litellm.releases import parse_version_spec

if TYPE_CHECKING:
    import docker
    from docker.models.images import Image


DEFAULT_BASE = "debian:bookworm-slim"
#: What `setup-docker.sh` makes with debootstrap where no registry is reachable.
LOCAL_BASE = "local/debian:bookworm"
DEFAULT_POSTGRES_IMAGE = "postgres:16"
BUILT_POSTGRES_IMAGE = f"{BUILT_POSTGRES_REPOSITORY}:{POSTGRES_MAJOR}"
HEARTBEAT_S = 15.0
BUILD_TIMEOUT_S = 3600
LOG_TAIL_LINES = 40

_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _no_log(_message: str) -> None:
    pass


@dataclass
class BuildResult:
    """An image `gateconform image build` made or found up to date."""

    tag: str
    image_id: str
    cached: bool
    seconds: float
    base: str


# --------------------------------------------------------------------------- base image


def resolve_base(client: "docker.DockerClient", base: str | None, log: Log) -> tuple[str, "Image"]:
    """The base image to build FROM: `base` if given, else `debian:bookworm-slim`, else the local one.

    With no `base`, the default is used when the engine has it or can pull it; where nothing can
    be pulled, `local/debian:bookworm` (made by setup-docker.sh) is used instead, with a note.
    """
    if base:
        image = local_image(client, base) or pull_image(client, base, log)
        return base, image
    image = local_image(client, DEFAULT_BASE)
    if image is not None:
        return DEFAULT_BASE, image
    try:
        return DEFAULT_BASE, pull_image(client, DEFAULT_BASE, log)
    except ImageError as error:
        local = local_image(client, LOCAL_BASE)
        if local is None:
            raise ImageError(
                f"cannot get the base image {DEFAULT_BASE} ({error}) and there is no {LOCAL_BASE}. "
                "Make one where no registry is reachable (bash ../shared/tools/setup-docker.sh builds "
                f"{LOCAL_BASE} with debootstrap) or name another Debian base with --base."
            ) from None
        log(f"base: {DEFAULT_BASE} cannot be pulled here, using {LOCAL_BASE}")
        return LOCAL_BASE, local


# --------------------------------------------------------------------------- building


def build_litellm_image(
    client: "docker.DockerClient",
    version_spec: str,
    *,
    base: str | None = None,
    force: bool = False,
    log: Log | None = None,
) -> BuildResult:
    """Build `gateconform/litellm:<version>` (or find it up to date). Refuses compromised releases."""
    log = log or _no_log
    version = parse_version_spec(version_spec)  # raises for compromised releases and ranges
    if version in ("latest", "newest"):
        from harness.common.cache_root import default_cache_root
        from harness.gateways.litellm.latest import resolve_version
        from harness.gateways.litellm.release_list import newest_release

        version = resolve_version(version, default_cache_root(), log,
                                  newest=lambda: newest_release(default_cache_root()))
    base_ref, base_image = resolve_base(client, base, log)
    files = litellm_context_files(version, base_ref)
    labels = {
        LABEL_KIND: "litellm",
        LABEL_VERSION: version,
        LABEL_BASE: base_ref,
        LABEL_RECIPE: recipe_hash(files, base_image.id),
    }
    return _build(client, built_reference(version), with_labels(files, labels), labels, base_ref, force, log)


def build_postgres_image(
    client: "docker.DockerClient", *, base: str | None = None, force: bool = False, log: Log | None = None
) -> BuildResult:
    """Build `gateconform/postgres:15` from a Debian base (or find it up to date)."""
    log = log or _no_log
    base_ref, base_image = resolve_base(client, base, log)
    files = postgres_context_files(base_ref)
    labels = {LABEL_KIND: "postgres", LABEL_BASE: base_ref, LABEL_RECIPE: recipe_hash(files, base_image.id)}
    return _build(client, BUILT_POSTGRES_IMAGE, with_labels(files, labels), labels, base_ref, force, log)


def _build(
    client: "docker.DockerClient",
    tag: str,
    files: dict[str, bytes],
    labels: dict[str, str],
    base: str,
    force: bool,
    log: Log,
) -> BuildResult:
    started = time.monotonic()
    existing = local_image(client, tag)
    if existing is not None and not force and (existing.labels or {}).get(LABEL_RECIPE) == labels[LABEL_RECIPE]:
        log(f"{tag}: up to date (recipe {labels[LABEL_RECIPE]}), not rebuilt")
        return BuildResult(tag, existing.id, True, time.monotonic() - started, base)
    if force:
        log(f"{tag}: rebuilding from scratch (--force: no layer cache)")
    elif existing is not None:
        log(f"{tag}: recipe changed, rebuilding (unchanged layers come from the cache)")
    context = Path(tempfile.mkdtemp(prefix="gateconform-build-"))
    try:
        _write_context(context, files)
        log(f"{tag}: building FROM {base} …")
        image_id = _stream_build(client, context, tag, log, started, nocache=force)
    finally:
        shutil.rmtree(context, ignore_errors=True)
    if existing is not None and existing.id != image_id:
        _remove_quietly(client, existing.id)  # the old image is now untagged: do not leave it
    seconds = time.monotonic() - started
    log(f"{tag}: built in {seconds:.0f} s ({image_id.removeprefix('sha256:')[:12]})")
    return BuildResult(tag, image_id, False, seconds, base)


def _write_context(folder: Path, files: dict[str, bytes]) -> None:
    for name, data in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        path.chmod(0o755 if name.endswith(".sh") else 0o644)


def _stream_build(
    client: "docker.DockerClient", context: Path, tag: str, log: Log, started: float, *, nocache: bool = False
) -> str:
    """Run the legacy builder, logging each step and a heartbeat; the image id, or `ImageError`.

    `forcerm` removes intermediate containers even when a step fails; closing the connection
    (Ctrl-C) makes the engine cancel the build.
    """
    from docker.errors import APIError, DockerException

    tail: list[str] = []
    state = {"step": "starting", "step_started": time.monotonic(), "last_event": time.monotonic()}
    done = threading.Event()

    def heartbeat() -> None:
        while not done.wait(HEARTBEAT_S):
            if time.monotonic() - state["last_event"] >= HEARTBEAT_S:  # type: ignore[operator]
                log(f"{tag}: {state['step']} still running "
                    f"({time.monotonic() - state['step_started']:.0f} s in this step, "  # type: ignore[operator]
                    f"{time.monotonic() - started:.0f} s in all)")

    watcher = threading.Thread(target=heartbeat, name="gateconform-build-heartbeat", daemon=True)
    watcher.start()
    image_id: str | None = None
    api = client.api
    try:
        events = api.build(
            path=str(context), tag=tag, rm=True, forcerm=True, pull=False, decode=True, timeout=BUILD_TIMEOUT_S,
            nocache=nocache,
        )
        for event in events:
            state["last_event"] = time.monotonic()
            if "error" in event:
                detail = "\n".join(tail[-LOG_TAIL_LINES:])
                raise ImageError(f"{tag}: build failed in {state['step']}: {event['error'].strip()}\n{detail}")
            aux = event.get("aux")
            if isinstance(aux, dict) and aux.get("ID"):
                image_id = str(aux["ID"])
            for line in _ANSI.sub("", str(event.get("stream", ""))).splitlines():
                line = line.rstrip()
                if not line:
                    continue
                tail.append(line)
                del tail[:-LOG_TAIL_LINES * 2]
                if line.startswith("Step "):
                    state["step"] = "step " + line.split(" :", 1)[0].removeprefix("Step ")
                    state["step_started"] = time.monotonic()
                    log(f"{tag}: {_shorten(line)} ({time.monotonic() - started:.0f} s)")
                elif line.startswith("[image-setup]") or line.startswith("node v"):
                    log(f"{tag}:   {_shorten(line.removeprefix('[image-setup] '))}")
                elif line.startswith("Successfully built "):
                    image_id = image_id or line.split()[-1]
    except (APIError, DockerException) as error:
        raise ImageError(f"{tag}: the engine refused the build: {error}") from None
    finally:
        done.set()
    if image_id is None:
        raise ImageError(f"{tag}: the build ended without an image:\n" + "\n".join(tail[-LOG_TAIL_LINES:]))
    image = local_image(client, tag)
    return image.id if image is not None else image_id


def _shorten(line: str, limit: int = 110) -> str:
    line = " ".join(line.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _remove_quietly(client: "docker.DockerClient", image_id: str) -> None:
    from docker.errors import APIError

    try:
        client.images.remove(image_id, noprune=False)
    except APIError:
        pass  # still used by a container, or tagged elsewhere: leave it


# --------------------------------------------------------------------------- postgres for a run


def ensure_postgres_image(client: "docker.DockerClient", log: Log | None = None) -> str:
    """The PostgreSQL image a run uses, made available on the engine.

    `GATECONFORM_POSTGRES_IMAGE` if set; else `postgres:16` if the engine has it; else ours
    (`gateconform/postgres:15`) if it is built and up to date; else `postgres:16` if it can be
    pulled; else ours, built now from the Debian base. Parallel workers build it once (file lock).
    """
    log = log or _no_log
    override = os.environ.get("GATECONFORM_POSTGRES_IMAGE", "").strip()
    if override:
        if local_image(client, override) is None:
            pull_image(client, override, log)
        return override
    if local_image(client, DEFAULT_POSTGRES_IMAGE) is not None:
        return DEFAULT_POSTGRES_IMAGE
    if _built_postgres_is_current(client):
        return BUILT_POSTGRES_IMAGE
    from filelock import FileLock

    from harness.common.cache_root import default_cache_root

    lock_dir = default_cache_root()
    lock_dir.mkdir(parents=True, exist_ok=True)
    with FileLock(str(lock_dir / "docker-postgres-image.lock"), timeout=BUILD_TIMEOUT_S):
        if _built_postgres_is_current(client):  # another worker built it meanwhile
            return BUILT_POSTGRES_IMAGE
        built = local_image(client, BUILT_POSTGRES_IMAGE)
        if built is not None:  # our entrypoint changed: rebuild on the base it was made from
            build_postgres_image(client, base=(built.labels or {}).get(LABEL_BASE), log=log)
            return BUILT_POSTGRES_IMAGE
        try:
            pull_image(client, DEFAULT_POSTGRES_IMAGE, log)
            return DEFAULT_POSTGRES_IMAGE
        except ImageError as error:
            log(f"{DEFAULT_POSTGRES_IMAGE} cannot be pulled ({error}); building {BUILT_POSTGRES_IMAGE}")
        build_postgres_image(client, log=log)
    return BUILT_POSTGRES_IMAGE


def _built_postgres_is_current(client: "docker.DockerClient") -> bool:
    """True if `gateconform/postgres:15` exists and was built by this recipe (or its base is gone)."""
    built = local_image(client, BUILT_POSTGRES_IMAGE)
    if built is None:
        return False
    labels = built.labels or {}
    base = labels.get(LABEL_BASE)
    base_image = local_image(client, base) if base else None
    if base_image is None:
        return True  # cannot recompute the recipe without its base: trust what is there
    return recipe_hash(postgres_context_files(base), base_image.id) == labels.get(LABEL_RECIPE)


def gateconform_images(client: "docker.DockerClient") -> list["Image"]:
    """Images `gateconform image build` made."""
    found = {}
    for repository in (BUILT_LITELLM_REPOSITORY, BUILT_POSTGRES_REPOSITORY):
        for image in client.images.list(name=repository):
            found[image.id] = image
    return list(found.values())


def describe(images: Iterable["Image"]) -> list[str]:
    """One line per image: tags, size, recipe."""
    lines = []
    for image in images:
        size = (image.attrs.get("Size") or 0) / 1e6
        recipe = (image.labels or {}).get(LABEL_RECIPE, "?")
        lines.append(f"{', '.join(image.tags) or image.short_id}  {size:.0f} MB  recipe {recipe}")
    return lines
