"""A LiteLLM target spec judged before anything installs or starts.

`harness.targets.spec` parses a `--target` value (malformed and compromised specs are refused
there, from the text); the LiteLLM gateway's `check_release`
(this module) then says whether the release exists, before anything installs. A matrix's
`--versions` and a bisect's ends get the same judgement through
`harness.gateways.litellm.release_list`. A spec that could only fail later is refused here, in
one line, and nothing is written:

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
over and why. `newest` is the newest release listed; when it does not install as published (what
`latest` passed over says), the note says it will run with substitutions.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from harness.gateways.litellm.releases import DEPS_MODES, LATEST, NEWEST
from harness.model.target import LOCAL, TargetSpec
from harness.targets.errors import IndexUnreachableError, ReleaseError
from harness.targets.spec import CheckedTarget


def check_release(parsed: TargetSpec, cache_root: Path) -> CheckedTarget:
    """Judge a parsed LiteLLM spec: `CheckedTarget`, or `TargetError` saying why not and what instead.

    Writes nothing but the cached release list (and `latest`'s cached answer) in `cache_root`,
    so a refused spec leaves no lock file and no folder behind.
    """
    if parsed.kind == LOCAL and parsed.version == LATEST:
        from harness.gateways.litellm import latest

        return CheckedTarget(parsed.normalised, tuple(latest.resolve_latest_answer(cache_root).lines()))
    if parsed.kind == LOCAL and parsed.version == NEWEST:
        return CheckedTarget(parsed.normalised, (_newest_note(cache_root),))
    if parsed.kind == LOCAL:
        assert parsed.version is not None
        published = _local_release(parsed.version, cache_root)
        return CheckedTarget(replace(parsed, version=published).normalised)
    if parsed.version is not None:  # docker:litellm==X, a build of a PyPI release
        return CheckedTarget(parsed.normalised, _docker_release_notes(parsed.version, cache_root))
    return CheckedTarget(parsed.normalised)


def _newest_note(cache_root: Path) -> str:
    """`'newest' = litellm 1.110.2, …` and whether it installs as published (as `latest` found)."""
    from harness.gateways.litellm import latest
    from harness.gateways.litellm.release_list import newest_release

    try:
        version = newest_release(cache_root)
    except IndexUnreachableError as error:
        raise ReleaseError(f"cannot tell which litellm release is the newest: {error}") from None
    resolved = latest.dry_run_resolve(version)  # one resolve (~1 s), not all of `latest`'s
    if not resolved.installable:
        return (f"'newest' = litellm {version}, the newest release listed; it does not install as published "
                f"({resolved.reason}): it runs with substitutions, named in the results")
    return f"'newest' = litellm {version}, the newest release listed (it installs as published)"


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
