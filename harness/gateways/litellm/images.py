"""Which Docker image a `--target docker:…` value means, and getting it onto the engine.

Accepted forms (after the `docker:` prefix):

- `litellm==1.82.3` (short form): the image `gateconform image build litellm==1.82.3` made
  (`gateconform/litellm:1.82.3`) when the engine has it, else LiteLLM's official image for that
  release (`ghcr.io/berriai/litellm-database:v1.82.3-stable`, then `main-v1.82.3-stable`).
- a full reference: `ghcr.io/berriai/litellm-database:main-v1.82.3-stable`,
  `ghcr.io/berriai/litellm:v1.82.3-stable`, `ghcr.io/berriai/litellm-non_root:…`,
  `gateconform/litellm:1.82.3`, a digest (`…@sha256:…`) or any image of your own.
- an official repository without its registry (`litellm-database:<tag>`, `litellm:<tag>`,
  `litellm-non_root:<tag>`) or a bare official tag (`main-v1.82.3-stable`, `v1.82.3-stable`,
  `main-stable`, `main-latest`), which means `ghcr.io/berriai/litellm-database:<tag>`.

Compromised releases (1.82.7, 1.82.8, every 1.107.x) are refused from the reference itself,
before anything is pulled, and again from the image's own version labels before it is started.

`GATECONFORM_LITELLM_REGISTRY` names another place LiteLLM's official images are served from
(a mirror, or a local registry holding images pushed under the official names:
`127.0.0.1:5000/berriai`); every official shorthand then pulls from there.
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from harness.common.log import Log
from harness.targets.errors import ReleaseError, TargetError
from harness.gateways.litellm.releases import is_compromised, parse_version_spec, refuse_compromised

if TYPE_CHECKING:  # the docker SDK is imported only where an engine is used
    import docker
    from docker.models.images import Image


OFFICIAL_REGISTRY = "ghcr.io/berriai"
#: Where the official images are pulled from instead, when set (a mirror, a local registry).
REGISTRY_VARIABLE = "GATECONFORM_LITELLM_REGISTRY"
#: LiteLLM's published proxy images. `litellm-database` is the one meant for PostgreSQL.
OFFICIAL_REPOSITORIES = ("litellm-database", "litellm", "litellm-non_root")
DEFAULT_OFFICIAL_REPOSITORY = "litellm-database"
#: Where `gateconform image build` puts what it builds. Local only: never pulled.
BUILT_LITELLM_REPOSITORY = "gateconform/litellm"
BUILT_POSTGRES_REPOSITORY = "gateconform/postgres"

#: Tags LiteLLM publishes for a release, most specific first (`-stable` builds are the ones
#: their docs tell platform teams to deploy; older releases carry the `main-` prefix).
OFFICIAL_TAG_PATTERNS = ("v{version}-stable", "main-v{version}-stable")

# A tag that names an official release (possibly with a suffix such as `-stable.1`).
_OFFICIAL_TAG = re.compile(r"^(main-)?v\d+\.\d+\.\d+([.\-][A-Za-z0-9_.\-]+)?$")
_MOVING_OFFICIAL_TAGS = ("main-stable", "main-latest", "main-nightly", "latest")
_VERSION_IN_TAG = re.compile(r"(?<![\d.])v?(\d+\.\d+\.\d+)(?![\d])")
#: Labels official and OCI images carry their version in (checked before an image is started).
VERSION_LABELS = ("gateconform.litellm.version", "org.opencontainers.image.version", "version")

PULL_PROGRESS_EVERY_S = 5.0


class ImageError(TargetError):
    """An image reference is invalid, or the image cannot be found, pulled or built."""


@dataclass(frozen=True)
class ImageRef:
    """A parsed `docker:` target.

    `candidates` are concrete references to use, best first: the first one the engine has is
    used; otherwise they are pulled in order (never `gateconform/…`, which only exist locally).
    `version` is the LiteLLM version the reference names, when it names one.
    """

    text: str
    candidates: tuple[str, ...]
    version: str | None
    short_form: bool = False

    @property
    def label(self) -> str:
        """How the target is shown: `docker:<what the user wrote>`."""
        return f"docker:{self.text}"


@dataclass
class ResolvedImage:
    """An image present on the engine, ready to start."""

    reference: str
    image_id: str
    labels: dict[str, str] = field(default_factory=dict)
    version: str | None = None
    digest: str | None = None  # repo digest when the image came from a registry

    @property
    def built_by_gateconform(self) -> bool:
        """Images from `gateconform image build` bring the wasm engine and apply migrations at start."""
        return self.labels.get("gateconform.kind") == "litellm"


def split_reference(reference: str) -> tuple[str, str | None, str | None]:
    """`repo[:tag][@digest]` → (repo, tag, digest). The registry's port is not mistaken for a tag."""
    rest, _, digest = reference.partition("@")
    last = rest.rsplit("/", 1)[-1]
    if ":" in last:
        repo, _, tag = rest.rpartition(":")
        return repo, tag, digest or None
    return rest, None, digest or None


def version_in_tag(tag: str | None) -> str | None:
    """The LiteLLM version a tag names (`main-v1.82.3-stable` → `1.82.3`), if any."""
    if not tag:
        return None
    match = _VERSION_IN_TAG.search(tag)
    return match.group(1) if match else None


def official_registry() -> str:
    """Where LiteLLM's official images are pulled from: `$GATECONFORM_LITELLM_REGISTRY`, else ghcr.io/berriai."""
    return (os.environ.get(REGISTRY_VARIABLE) or OFFICIAL_REGISTRY).strip().rstrip("/")


def is_official(reference: str) -> bool:
    """True for LiteLLM's own published images (ghcr.io/berriai/…, or where they are mirrored)."""
    return reference.lower().startswith((OFFICIAL_REGISTRY + "/", official_registry().lower() + "/"))


def official_references(version: str, repository: str = DEFAULT_OFFICIAL_REPOSITORY) -> tuple[str, ...]:
    """The official image references a release is published under, best first."""
    return tuple(f"{official_registry()}/{repository}:{pattern.format(version=version)}"
                 for pattern in OFFICIAL_TAG_PATTERNS)


def built_reference(version: str) -> str:
    """The tag `gateconform image build litellm==<version>` gives its image."""
    return f"{BUILT_LITELLM_REPOSITORY}:{version}"


def parse_image_ref(text: str) -> ImageRef:
    """Parse what follows `docker:` in a target spec; refuse compromised releases.

    Raises `ImageError` for an empty or malformed reference and `CompromisedReleaseError` for a
    compromised release, before any engine is contacted.
    """
    raw = text.strip()
    if raw.lower().startswith("docker:"):
        raw = raw[len("docker:"):].strip()
    if not raw:
        raise ImageError("--target docker: needs an image, e.g. docker:litellm==1.82.3 or "
                         "docker:ghcr.io/berriai/litellm-database:main-v1.82.3-stable")
    if any(ch.isspace() for ch in raw):
        raise ImageError(f"image reference {raw!r} contains whitespace")

    if "==" in raw:
        version = parse_version_spec(raw)  # refuses compromised releases and ranges
        if version == "latest":
            raise ImageError(
                f"docker:{raw}: name one exact release (e.g. docker:litellm==1.82.3); for a moving "
                f"tag name it: docker:{official_registry()}/{DEFAULT_OFFICIAL_REPOSITORY}:main-stable"
            )
        return ImageRef(raw, (built_reference(version), *official_references(version)), version, short_form=True)

    reference = _expand(raw)
    repo, tag, _digest = split_reference(reference)
    if not repo or (tag is not None and not tag) or not re.fullmatch(r"[a-z0-9][a-z0-9._\-/:]*", repo):
        raise ImageError(f"{raw!r} is not an image reference (e.g. ghcr.io/berriai/litellm-database:main-v1.82.3-stable)")
    version = version_in_tag(tag)
    if version is not None:
        refuse_image_version(version, reference)
    return ImageRef(raw, (reference,), version)


def _expand(raw: str) -> str:
    """Official shorthands → full references; anything else unchanged."""
    if _OFFICIAL_TAG.match(raw) or raw in _MOVING_OFFICIAL_TAGS:
        return f"{official_registry()}/{DEFAULT_OFFICIAL_REPOSITORY}:{raw}"
    repo, tag, digest = split_reference(raw)
    if repo in OFFICIAL_REPOSITORIES:
        suffix = (f":{tag}" if tag else "") + (f"@{digest}" if digest else "")
        return f"{official_registry()}/{repo}{suffix}"
    return raw


def refuse_image_version(version: str, reference: str) -> None:
    """Raise `CompromisedReleaseError` if `version` (named by `reference`) is compromised."""
    try:
        refuse_compromised(version)
    except ReleaseError as error:
        raise type(error)(f"image {reference}: {error}") from None


def image_version(labels: dict[str, str] | None) -> str | None:
    """The LiteLLM version an image declares in its labels, if it declares one."""
    for name in VERSION_LABELS:
        value = (labels or {}).get(name)
        if value:
            found = version_in_tag(value) or value
            if re.fullmatch(r"\d+\.\d+\.\d+.*", found):
                return found
    return None


# --------------------------------------------------------------------------- on the engine


def local_image(client: "docker.DockerClient", reference: str) -> "Image | None":
    """The image if the engine has it, else None."""
    from docker.errors import ImageNotFound

    try:
        return client.images.get(reference)
    except ImageNotFound:
        return None


def ensure_image(client: "docker.DockerClient", ref: ImageRef, log: Log) -> ResolvedImage:
    """The first candidate the engine has, else the first one that pulls; refuses compromised images.

    Raises `ImageError` naming every reference tried and what to do instead (build one).
    """
    image = None
    chosen = ""
    for candidate in ref.candidates:
        image = local_image(client, candidate)
        if image is not None:
            chosen = candidate
            break
    failures: list[str] = []
    if image is None:
        for candidate in ref.candidates:
            if candidate.startswith(BUILT_LITELLM_REPOSITORY + ":"):
                failures.append(f"{candidate}: not built on this engine")
                continue
            try:
                image = pull_image(client, candidate, log)
            except ImageError as error:
                failures.append(str(error))
                continue
            chosen = candidate
            break
    if image is None:
        raise ImageError(_not_found_message(ref, failures))
    labels = dict(image.labels or {})
    version = image_version(labels) or ref.version
    if version is not None and is_compromised(version):
        refuse_image_version(version, chosen)
    resolved = ResolvedImage(chosen, image.id, labels, version, repo_digest(image.attrs.get("RepoDigests") or [], chosen))
    log(f"image {chosen} ({image.short_id.removeprefix('sha256:')}"
        f"{', litellm ' + version if version else ''})")
    return resolved


def repo_digest(digests: list[str], reference: str) -> str | None:
    """The registry digest (`repo@sha256:…`) of `reference`'s repository among an image's RepoDigests.

    An image pushed or pulled under several names has one digest per repository; the one of the
    repository it was used from is what ran (another's, or none: the image was only built here).
    """
    repository, _tag, _digest = split_reference(reference)
    return next((digest for digest in digests if digest.partition("@")[0] == repository), None)


def _not_found_message(ref: ImageRef, failures: list[str]) -> str:
    lines = [f"no image for docker:{ref.text} on this Docker engine, and none could be pulled:"]
    lines += [f"  - {failure}" for failure in failures]
    if ref.version:
        lines.append(f"Build one from PyPI instead: gateconform image build litellm=={ref.version}  "
                     f"(then --target docker:litellm=={ref.version})")
    else:
        lines.append("Pull or build the image first, or build one from PyPI: "
                     "gateconform image build litellm==<version>")
    return "\n".join(lines)


def pull_image(client: "docker.DockerClient", reference: str, log: Log) -> "Image":
    """Pull `reference`, logging progress (layers done, MB, elapsed); `ImageError` if it fails."""
    from docker.errors import APIError, DockerException

    repo, tag, digest = split_reference(reference)
    started = time.monotonic()
    next_report = started + PULL_PROGRESS_EVERY_S
    layers: dict[str, dict[str, Any]] = {}
    log(f"pulling {reference} …")
    try:
        stream = client.api.pull(repo, tag=digest or tag or "latest", stream=True, decode=True)
        for event in stream:
            if "error" in event:
                raise ImageError(f"{reference}: {_first_line(event['error'])}")
            layer = event.get("id")
            if layer and event.get("progressDetail"):
                layers.setdefault(layer, {}).update(event["progressDetail"])
            if layer and event.get("status") in ("Pull complete", "Already exists"):
                layers.setdefault(layer, {})["done"] = True
            if time.monotonic() >= next_report:
                log(f"pulling {reference}: {_pull_summary(layers)} ({time.monotonic() - started:.0f} s)")
                next_report += PULL_PROGRESS_EVERY_S
    except (APIError, DockerException) as error:
        raise ImageError(f"{reference}: {_first_line(str(getattr(error, 'explanation', None) or error))}") from None
    image = local_image(client, reference)
    if image is None:
        raise ImageError(f"{reference}: the pull finished but the engine has no such image")
    log(f"pulled {reference} in {time.monotonic() - started:.1f} s")
    return image


def _pull_summary(layers: dict[str, dict[str, Any]]) -> str:
    done = sum(1 for layer in layers.values() if layer.get("done"))
    current = sum(int(layer.get("current") or 0) for layer in layers.values())
    total = sum(int(layer.get("total") or 0) for layer in layers.values())
    size = f", {current / 1e6:.0f}/{total / 1e6:.0f} MB" if total else ""
    return f"{done}/{len(layers)} layers{size}"


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else "unknown error"
