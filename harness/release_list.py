"""Which LiteLLM releases a matrix or a bisect runs on: PyPI's list, ranges, `latest`.

A selection is what a user types after `--versions`: comma-separated items, each an exact
release (`1.82.3`, `litellm==1.82.3`), `latest` (the newest release that installs, see
`harness.targets.releases.resolve_latest`) or an inclusive range `A..B` whose ends may be
unpublished numbers (`1.80..1.90`) or `latest`.

Rules that keep a selection safe and honest:
- compromised releases (1.82.7, 1.82.8, every 1.107.x) are never offered: a range silently
  steps over them (with a note), naming one explicitly is refused before anything is fetched;
- pre-releases (rc, dev, beta) are left out of ranges unless asked for; naming one exactly is
  asking for it;
- an exact release PyPI does not serve is an error with the nearest published ones suggested,
  rather than a failed install ten minutes later.
"""

from __future__ import annotations

import bisect as _bisect
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Sequence

from packaging.version import InvalidVersion, Version

from harness.targets.errors import ReleaseError
from harness.targets.releases import (
    COMPROMISED_RELEASES,
    COMPROMISED_SERIES,
    LATEST,
    is_compromised,
    list_published_versions,
    parse_version_spec,
    refuse_compromised,
)

RANGE_SEPARATOR = ".."


# --------------------------------------------------------------------------- the published list


@dataclass(frozen=True)
class ReleaseList:
    """Published, non-yanked, non-compromised releases, oldest first.

    Holds pre-releases too; every query leaves them out unless `include_prereleases` is set.
    """

    versions: tuple[Version, ...]

    @classmethod
    def of(cls, versions: Iterable[str | Version]) -> ReleaseList:
        """Build from any version strings: sorted, de-duplicated, compromised ones dropped."""
        parsed: set[Version] = set()
        for item in versions:
            try:
                version = item if isinstance(item, Version) else Version(str(item))
            except InvalidVersion:
                continue
            if not is_compromised(version):
                parsed.add(version)
        return cls(tuple(sorted(parsed)))

    def finals(self, include_prereleases: bool = False) -> list[Version]:
        """All releases oldest first; pre-releases only when asked for."""
        if include_prereleases:
            return list(self.versions)
        return [v for v in self.versions if not (v.is_prerelease or v.is_devrelease)]

    def __contains__(self, version: object) -> bool:
        try:
            return Version(str(version)) in self.versions
        except InvalidVersion:
            return False

    def between(self, low: str | Version, high: str | Version, include_prereleases: bool = False) -> list[str]:
        """Releases with `low <= v <= high`, oldest first (the ends need not be published)."""
        low_v, high_v = Version(str(low)), Version(str(high))
        return [str(v) for v in self.finals(include_prereleases) if low_v <= v <= high_v]

    def strictly_between(self, low: str | Version, high: str | Version) -> list[str]:
        """Final releases with `low < v < high`, oldest first (what a bisect searches)."""
        low_v, high_v = Version(str(low)), Version(str(high))
        return [str(v) for v in self.finals() if low_v < v < high_v]

    def nearest(self, version: str | Version, count: int = 3) -> list[str]:
        """Published releases closest to `version` in order (for "did you mean")."""
        finals = self.finals(include_prereleases=True)
        if not finals:
            return []
        index = _bisect.bisect_left(finals, Version(str(version)))
        window = finals[max(0, index - count // 2 - 1): index + count]
        return [str(v) for v in sorted(window, key=lambda v: abs(finals.index(v) - index))[:count]]


def published_releases(list_versions: Callable[[], Sequence[Version]] | None = None) -> ReleaseList:
    """The release list from the package index (PyPI unless the user configured a mirror).

    `list_versions` replaces the index query (tests pass a fixed list).
    """
    if list_versions is None:
        return ReleaseList.of(list_published_versions(include_prereleases=True))
    return ReleaseList.of(list_versions())


# --------------------------------------------------------------------------- parsing a selection


@dataclass(frozen=True)
class ExactItem:
    """One named release, or `latest` (version == LATEST)."""

    version: str


@dataclass(frozen=True)
class RangeItem:
    """An inclusive range; an end may be `latest`."""

    low: str
    high: str


SelectionItem = ExactItem | RangeItem


def parse_selection(text: str) -> list[SelectionItem]:
    """Parse `1.80.0,1.82.3,latest` / `1.80.0..1.90.0` / a mix into items, without any network.

    Raises `ReleaseError` for malformed input and `CompromisedReleaseError` for a compromised
    release named exactly.
    """
    parts = [part.strip() for part in text.split(",")]
    if not text.strip() or any(not part for part in parts):
        raise ReleaseError(f"--versions {text!r}: give releases like '1.80.0,1.82.3,latest' or '1.80.0..1.90.0'")
    return [_parse_item(part, text) for part in parts]


def _parse_item(part: str, whole: str) -> SelectionItem:
    if RANGE_SEPARATOR not in part:
        return ExactItem(parse_version_spec(part))
    low, _, high = part.partition(RANGE_SEPARATOR)
    low_v, high_v = _range_end(low, part), _range_end(high, part)
    if LATEST not in (low_v, high_v) and Version(low_v) > Version(high_v):
        raise ReleaseError(f"--versions {whole!r}: range {part!r} runs backwards (write {high_v}..{low_v})")
    if low_v == LATEST and high_v != LATEST:
        raise ReleaseError(f"--versions {whole!r}: range {part!r} starts at 'latest'; put 'latest' last")
    return RangeItem(low_v, high_v)


def _range_end(text: str, part: str) -> str:
    """One end of a range: a version (need not be published, may be compromised) or `latest`."""
    text = text.strip().removeprefix("litellm==").strip()
    if text.lower() == LATEST:
        return LATEST
    try:
        return str(Version(text))
    except InvalidVersion:
        raise ReleaseError(f"range {part!r}: {text!r} is not a version (e.g. 1.80.0..1.90.0)") from None


@dataclass
class ReleaseSelection:
    """The releases chosen, oldest first, and notes the user should see (what was left out)."""

    versions: list[str]
    notes: list[str] = field(default_factory=list)


def select_releases(
    text: str,
    releases: ReleaseList | None = None,
    resolve_latest: Callable[[], str] | None = None,
    include_prereleases: bool = False,
) -> ReleaseSelection:
    """Turn a `--versions` value into releases to test, oldest first, de-duplicated.

    `releases` defaults to the index's list (fetched only if the selection needs it);
    `resolve_latest` defaults to the cached "newest release that installs".
    """
    items = parse_selection(text)  # compromised or malformed: refused before any network
    needs_list = any(isinstance(item, RangeItem) or item.version != LATEST for item in items)
    if releases is None and needs_list:
        releases = published_releases()
    latest = _LatestOnce(resolve_latest)
    chosen: set[Version] = set()
    notes: list[str] = []
    for item in items:
        if isinstance(item, ExactItem):
            chosen.add(Version(_exact_release(item.version, releases, latest)))
            continue
        assert releases is not None
        high = latest() if item.high == LATEST else item.high
        found = releases.between(item.low, high, include_prereleases)
        if not found:
            raise ReleaseError(f"no published release in {item.low}..{high}")
        chosen.update(Version(v) for v in found)
        notes.extend(_compromised_note(item.low, high))
    return ReleaseSelection([str(v) for v in sorted(chosen)], list(dict.fromkeys(notes)))


class _LatestOnce:
    """Resolve `latest` at most once per selection (it may cost a few uv resolves)."""

    def __init__(self, resolve: Callable[[], str] | None) -> None:
        self._resolve = resolve or _default_latest
        self._value: str | None = None

    def __call__(self) -> str:
        if self._value is None:
            self._value = self._resolve()
            refuse_compromised(self._value)
        return self._value


def _default_latest() -> str:
    from harness.targets.environments import default_cache_root
    from harness.targets.releases import resolve_latest

    return resolve_latest(default_cache_root())


def _exact_release(version: str, releases: ReleaseList | None, latest: _LatestOnce) -> str:
    if version == LATEST:
        return latest()
    assert releases is not None
    if version not in releases:
        nearest = ", ".join(releases.nearest(version)) or "none"
        raise ReleaseError(f"litellm {version} is not a published release (nearest: {nearest})")
    return version


def _compromised_note(low: str, high: str) -> list[str]:
    """Say so when a range spans releases that were left out because they are compromised."""
    low_v, high_v = Version(low), Version(high)
    exact = [".".join(map(str, release)) for release in sorted(COMPROMISED_RELEASES)]
    spanned = [text for text in exact if low_v <= Version(text) <= high_v]
    spanned += [
        f"{major}.{minor}.x" for major, minor in sorted(COMPROMISED_SERIES)
        if low_v < Version(f"{major}.{minor + 1}") and Version(f"{major}.{minor}") <= high_v
    ]
    if not spanned:
        return []
    return [f"left out as compromised (never installed): {', '.join(spanned)}"]


def release_list_lines(versions: Sequence[str], cache_root: Path | None = None) -> list[str]:
    """One line per release for `gateconform releases`: version, and `cached` when an env exists."""
    from harness.targets.environments import default_cache_root, find_complete_environment

    root = cache_root or default_cache_root()
    lines = []
    for version in versions:
        cached = find_complete_environment(root, version) is not None
        lines.append(f"{version}{'  (environment cached)' if cached else ''}")
    return lines
