"""Which LiteLLM release a version names, which releases must never be touched, and what PyPI serves.

A version is written `1.82.3` (or `litellm==1.82.3`, `latest`: the generic forms of
`harness.targets.spec`). Two facts shape this module:

- Some releases were compromised (1.82.7 and 1.82.8 shipped a credential stealer that runs from a
  `.pth` file at every Python start; 1.107.x was withdrawn for the same reason). A mirror or cache
  may still serve them, so they are refused by version *before* anything is downloaded.
- Listed is not installable: PyPI lists releases whose `litellm[proxy]` pins companion packages
  PyPI does not serve. `latest` therefore means the newest release that actually resolves
  (`harness.gateways.litellm.latest`).

What the package index serves is read in `harness.gateways.litellm.package_index`; this module
needs no network and no HTTP client, so the gateway's rules are cheap to load.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Iterable

from packaging.version import InvalidVersion, Version

from harness.model.target import DEPS_TODAY, LATEST, MOVING_VERSIONS, NEWEST  # noqa: F401 - LATEST, NEWEST re-exported
from harness.targets import spec as target_spec
from harness.targets.errors import CompromisedReleaseError, ReleaseError

PACKAGE = "litellm"
#: The release examples name (`e.g. litellm==1.82.3`).
EXAMPLE_VERSION = "1.82.3"

#: Exact releases known to be malicious (any pre/post/dev build of them included).
COMPROMISED_RELEASES: frozenset[tuple[int, int, int]] = frozenset({(1, 82, 7), (1, 82, 8)})
#: Whole minor series known to be malicious: every 1.107.x.
COMPROMISED_SERIES: frozenset[tuple[int, int]] = frozenset({(1, 107)})

#: The first release whose `litellm[proxy]` brings SQL migrations (`litellm-proxy-extras`). Older
#: releases get their database from their own `schema.prisma` (Prisma's wasm schema engine,
#: `database_schema.py`); the local target runs both.
FIRST_WITH_MIGRATIONS = "1.65.1"

#: Dependency modes of an environment. `today`: what a plain `pip install` resolves today (the
#: default: users gate what they would install). `as-released`: every package as it was when the
#: release was published (uv `--exclude-newer` at its upload time plus a margin), for releases
#: whose unpinned dependencies have since moved on (1.95.0 imports a FastAPI helper that today's
#: FastAPI no longer has). A target spec asks for it with a suffix: `litellm==1.95.0@as-released`.
DEPS_AS_RELEASED = "as-released"
DEPS_MODES = (DEPS_TODAY, DEPS_AS_RELEASED)
#: Added to the release's upload time: companion packages published the same day
#: (`litellm-proxy-extras`, `litellm-enterprise`) come a little after the release itself.
AS_RELEASED_MARGIN = timedelta(days=1)


def parse_version(text: str, spec: str) -> str:
    """The release `text` names (`1.82.3`, `v1.82.3`), written one way; `spec` is quoted in errors.

    Raises `ReleaseError` for anything but one version and `CompromisedReleaseError` for a
    compromised release.
    """
    try:
        version = Version(text)
    except InvalidVersion:
        raise ReleaseError(
            f"target spec {spec!r} is not a version: use e.g. '{PACKAGE}=={EXAMPLE_VERSION}', "
            f"'{EXAMPLE_VERSION}' or 'latest'"
        ) from None
    refuse_compromised(version)
    return str(version)


def parse_version_spec(spec: str) -> str:
    """Normalise a LiteLLM spec to a version string, `"latest"` or `"newest"`.

    Accepts `litellm==1.82.3`, `1.82.3`, `v1.82.3`, `latest`, `litellm==latest`, `litellm`, `newest`.
    Raises `ReleaseError` for anything else (ranges, other packages, garbage) and
    `CompromisedReleaseError` for a compromised release.
    """
    _name, text = target_spec.split_release(spec, (PACKAGE,), PACKAGE, f"{PACKAGE}=={EXAMPLE_VERSION}")
    return text if text in MOVING_VERSIONS else parse_version(text, spec)


def split_deps(spec: str) -> tuple[str, str]:
    """`litellm==1.95.0@as-released` → (`litellm==1.95.0`, `as-released`); no suffix means `today`."""
    return target_spec.split_deps(spec, DEPS_MODES)


def with_deps(spec: str, deps: str) -> str:
    """The spec asking for `deps`: `today` leaves it as written, `as-released` adds `@as-released`."""
    return target_spec.with_deps(spec, deps, DEPS_MODES)


def is_compromised(version: str | Version) -> bool:
    """True for 1.82.7, 1.82.8 and every 1.107.x, including their pre/post/dev builds."""
    parsed = Version(str(version))
    release = tuple(parsed.release) + (0, 0, 0)
    return release[:3] in COMPROMISED_RELEASES or release[:2] in COMPROMISED_SERIES


def refuse_compromised(version: str | Version) -> None:
    """Raise `CompromisedReleaseError` if `version` is a known-malicious release."""
    if is_compromised(version):
        raise CompromisedReleaseError(
            f"litellm {version} is a compromised release (malicious code published to PyPI in "
            "March 2026; 1.82.7, 1.82.8 and every 1.107.x). gateconform never installs it. "
            "Pick another version, e.g. litellm==1.82.3 or 'latest'."
        )


def installable_candidates(
    versions: Iterable[str], yanked: Iterable[str] = (), include_prereleases: bool = False
) -> list[Version]:
    """Final, non-yanked, non-compromised versions, newest first (what `latest` may pick).

    `include_prereleases` keeps rc/beta/dev builds too (never for `latest`).
    """
    yanked_set = set(yanked)
    candidates: set[Version] = set()
    for text in versions:
        try:
            version = Version(text)
        except InvalidVersion:
            continue
        is_pre = version.is_prerelease or version.is_devrelease
        if (is_pre and not include_prereleases) or text in yanked_set:
            continue
        if is_compromised(version):
            continue
        candidates.add(version)
    return sorted(candidates, reverse=True)


def short_reason(uv_error: str) -> str:
    """uv's resolver explanation in a few words: `litellm-enterprise==0.1.79.post2 is not served`."""
    missing = re.search(r"there is no version of (\S+?)(?: and|,|$)", uv_error, re.MULTILINE)
    if missing:
        return f"{missing.group(1)} is not served"
    unknown = re.search(r"(\S+) was not found in the package registry", uv_error)
    if unknown:
        return f"{unknown.group(1)} is not on the index"
    lines = [line.strip() for line in uv_error.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "uv could not resolve it"
