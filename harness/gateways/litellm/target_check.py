"""A `--target` value judged before anything installs or starts.

`gateconform run` and the pytest plugin's `--target` call `check_target` first (a matrix's
`--versions` and a bisect's ends get the same judgement through `harness.gateways.litellm.release_list`). A spec
that could only fail later is refused here, in one line, and nothing is written:

- malformed, compromised, or of an unknown kind (no network needed);
- a release older than the local target can run (`LOCAL_TARGET_MINIMUM`; no network needed);
- not exactly a published release: `litellm==1.82` (pip would quietly install 1.82.0) names the
  releases of the 1.82 series; `litellm==9.9.9` names the nearest published ones. An exact
  release written differently (`1.82.3.0`, `v1.82.3`) is normalised to `litellm==1.82.3`.

Where the answer comes from, for the local target: a release whose environment is already built
needs no lookup (it was published and it installed), so cached releases run offline. Otherwise
the package index's release list decides (cached in the cache root; a release missing from the
cached list is looked up afresh before it is refused). When the index cannot be reached the spec
is refused (exit 2), never guessed.

The Docker target's short form `docker:litellm==X` gets the same listing check. When the index
cannot be reached it goes on with a note instead: nothing is installed from the index then (the
image is on the engine or pulled from a registry), and a missing image is its own clear error
before anything starts. No minimum applies there: LiteLLM's official images create their schema
themselves.

`latest` is resolved here (cached for a day), and the answer says which newer releases it passed
over and why.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from harness.targets.errors import IndexUnreachableError, ReleaseError, TargetError
from harness.gateways.litellm.releases import (
    DEPS_MODES,
    DEPS_TODAY,
    LATEST,
    parse_version_spec,
    refuse_too_old_for_local,
    split_deps,
)

LOCAL, DOCKER = "local", "docker"
_URL_PREFIXES = ("url:", "http://", "https://")


@dataclass(frozen=True)
class TargetSpec:
    """A parsed `--target` value (nothing looked up yet)."""

    kind: str  # LOCAL or DOCKER
    #: local: the exact version or `latest`; docker: the version the short form names, else None
    version: str | None
    deps: str = DEPS_TODAY
    #: docker: what follows `docker:`
    image: str | None = None

    @property
    def normalised(self) -> str:
        """The spec written one way: `litellm==1.82.3`, `latest`, `litellm==1.95.0@as-released`, `docker:…`."""
        if self.kind == DOCKER:
            return f"docker:{self.image}"
        base = LATEST if self.version == LATEST else f"litellm=={self.version}"
        return base if self.deps == DEPS_TODAY else f"{base}@{self.deps}"


@dataclass(frozen=True)
class CheckedTarget:
    """A spec that may be run: written one way, plus what the user should read once before it runs."""

    spec: str
    notes: tuple[str, ...] = ()


def parse_target_spec(spec: str) -> TargetSpec:
    """Parse a `--target` value without any network; `TargetError` for one that can never start.

    Refuses malformed specs, compromised releases (also in image references), dependency modes
    on anything but the local target, the url target (not available yet) and local releases
    older than `LOCAL_TARGET_MINIMUM`.
    """
    text, deps = split_deps(spec)
    if text.startswith(("docker:", *_URL_PREFIXES)) and deps != DEPS_TODAY:
        raise TargetError(f"dependencies {deps} are for the local target only (an image or a URL brings its own)")
    if text.startswith(_URL_PREFIXES):
        raise TargetError("the url target is not available yet")
    if text.startswith("docker:"):
        from harness.gateways.litellm.images import parse_image_ref  # no docker SDK: it parses text only

        ref = parse_image_ref(text.removeprefix("docker:"))
        return TargetSpec(DOCKER, ref.version if ref.short_form else None, image=ref.text)
    version = parse_version_spec(text.removeprefix("local:"))
    if version != LATEST:
        refuse_too_old_for_local(version)
    return TargetSpec(LOCAL, version, deps)


def check_target(spec: str, cache_root: Path | None = None) -> CheckedTarget:
    """Judge `spec` before anything installs: `CheckedTarget`, or `TargetError` saying why not and what instead.

    Writes nothing but the cached release list (and `latest`'s cached answer) in `cache_root`
    (default: the user cache), so a refused spec leaves no lock file and no folder behind.
    """
    from harness.common.cache_root import default_cache_root

    parsed = parse_target_spec(spec)
    root = cache_root or default_cache_root()
    if parsed.kind == LOCAL and parsed.version == LATEST:
        from harness.gateways.litellm import releases

        return CheckedTarget(parsed.normalised, tuple(releases.resolve_latest_answer(root).lines()))
    if parsed.kind == LOCAL:
        assert parsed.version is not None
        published = _local_release(parsed.version, root)
        return CheckedTarget(TargetSpec(LOCAL, published, parsed.deps).normalised)
    if parsed.version is not None:  # docker:litellm==X, a build of a PyPI release
        return CheckedTarget(parsed.normalised, _docker_release_notes(parsed.version, root))
    return CheckedTarget(parsed.normalised)


def _local_release(version: str, cache_root: Path) -> str:
    """`version` as published; a built environment of it is proof enough and needs no network."""
    from harness.gateways.litellm.release_list import published_release
    from harness.gateways.litellm.environments import find_complete_environment

    if any(find_complete_environment(cache_root, version, deps) is not None for deps in DEPS_MODES):
        return version
    try:
        return published_release(version, cache_root)
    except IndexUnreachableError as error:
        raise ReleaseError(
            f"cannot tell whether litellm {version} is a published release: {error}. Nothing was installed; "
            "try again once the package index answers (a release whose environment is already built runs offline)"
        ) from None


def _docker_release_notes(version: str, cache_root: Path) -> tuple[str, ...]:
    from harness.gateways.litellm.release_list import published_release

    try:
        published_release(version, cache_root)
    except IndexUnreachableError as error:
        return (f"could not check litellm {version} against the package index ({error}); "
                "going on with the image, which the Docker engine has or pulls",)
    return ()
