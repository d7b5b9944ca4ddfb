"""Which LiteLLM releases a matrix or a bisect runs on: PyPI's list, ranges, `latest`.

A selection is what a user types after `--versions`: comma-separated items, each an exact
release (`1.82.3`, `litellm==1.82.3`), `latest` (the newest release that installs, see
`harness.gateways.litellm.latest.resolve_latest`), `newest` (the newest release listed, which
may run only with substitutions, `substitutions.py`) or an inclusive range `A..B` whose ends may
be unpublished numbers (`1.80..1.90`), `latest` or `newest`.

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
import json
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Sequence

from packaging.version import InvalidVersion, Version

from harness.gateways.base import ReleaseSelection
from harness.gateways.litellm.latest import LatestAnswer
from harness.gateways.litellm.package_index import index_url, list_published_versions
from harness.gateways.litellm.releases import (
    COMPROMISED_RELEASES,
    COMPROMISED_SERIES,
    LATEST,
    NEWEST,
    is_compromised,
    parse_version_spec,
    refuse_compromised,
)
from harness.targets.errors import IndexUnreachableError, ReleaseError

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

    def newest(self) -> str:
        """The newest final release listed (`ReleaseError` for an empty list)."""
        finals = self.finals()
        if not finals:
            raise ReleaseError("the package index lists no litellm release")
        return str(finals[-1])

    def strictly_between(self, low: str | Version, high: str | Version) -> list[str]:
        """Final releases with `low < v < high`, oldest first (what a bisect searches)."""
        low_v, high_v = Version(str(low)), Version(str(high))
        return [str(v) for v in self.finals() if low_v < v < high_v]

    def exact(self, version: str) -> str:
        """`version` as published (`1.82.3.0` → `1.82.3`), or `ReleaseError` saying what to name instead.

        A short number is not taken as its zero-padded release, as pip would (`==1.82` installs
        1.82.0): it names a series, and the error lists that series' releases.
        """
        wanted = Version(version)
        if len(wanted.release) >= 3 or wanted.pre or wanted.post is not None or wanted.dev is not None:
            published = next((v for v in self.versions if v == wanted), None)
            if published is not None:
                return str(published)
        else:
            series = [v for v in self.finals() if v.release[: len(wanted.release)] == wanted.release]
            if series:
                raise ReleaseError(_series_message(version, wanted, series))
        nearest = ", ".join(self.nearest(version)) or "none"
        raise ReleaseError(
            f"litellm {version} is not a published release (nearest: {nearest}; `gateconform releases` lists them all)"
        )

    def nearest(self, version: str | Version, count: int = 3) -> list[str]:
        """Published releases closest to `version` (for "did you mean"), its own series first.

        Pre-releases only when `version` is one.
        """
        wanted = Version(str(version))
        pool = self.finals(include_prereleases=wanted.is_prerelease or wanted.is_devrelease)
        index = _bisect.bisect_left(pool, wanted)
        window = list(enumerate(pool))[max(0, index - count): index + count]

        def rank(item: tuple[int, Version]) -> tuple[bool, int]:
            position, release = item
            steps = index - position if position < index else position - index + 1
            return release.release[:2] != wanted.release[:2], steps

        return [str(release) for _, release in sorted(window, key=rank)[:count]]


#: How many releases of a series an error names in full before it shortens the list.
SERIES_SHOWN = 10


def _series_message(text: str, wanted: Version, series: Sequence[Version]) -> str:
    """`1.82 is not an exact release; the 1.82 series: 1.82.0, … (newest 1.82.6)`, naming compromised ones left out."""
    names = [str(v) for v in series]
    shown = names if len(names) <= SERIES_SHOWN else [*names[:3], "…", *names[-(SERIES_SHOWN - 4):]]
    prefix = ".".join(map(str, wanted.release))
    padded = next((str(v) for v in series if v == wanted), None)
    pip = f" (pip would take it as {padded})" if padded else ""
    compromised = [
        ".".join(map(str, release)) for release in sorted(COMPROMISED_RELEASES)
        if release[: len(wanted.release)] == wanted.release
    ]
    left_out = f"; {' and '.join(compromised)} are compromised and never installed" if compromised else ""
    return (
        f"litellm {text} is not an exact release{pip}: name one of the {prefix} series "
        f"({len(names)} release(s): {', '.join(shown)}{left_out}), e.g. litellm=={names[-1]}, the newest of it"
    )


def published_releases(list_versions: Callable[[], Sequence[Version]] | None = None) -> ReleaseList:
    """The release list from the package index (PyPI unless the user configured a mirror).

    `list_versions` replaces the index query (tests pass a fixed list).
    """
    if list_versions is None:
        return ReleaseList.of(list_published_versions(include_prereleases=True))
    return ReleaseList.of(list_versions())


# --------------------------------------------------------------------------- one release, from the cached list

#: The release list as last fetched, in the cache root. A release once listed stays a release,
#: so a hit needs no network; a miss asks the index again (unless the list is only minutes old)
#: before anything is refused.
RELEASE_LIST_CACHE_NAME = "releases-litellm.json"
#: A cached list younger than this answers misses too: a mistyped spec retried is refused at once.
RELEASE_LIST_FRESH_S = 10 * 60


def published_release(version: str, cache_root: Path, now: Callable[[], float] = time.time) -> str:
    """`version` as published (see `ReleaseList.exact`), from the cached list or a fresh one.

    Raises `ReleaseError` naming what to pick instead, and `IndexUnreachableError` when the
    cached list does not know `version` and the index cannot be asked.
    """
    cached = read_cached_release_list(cache_root)
    if cached is not None:
        releases, fetched_at = cached
        try:
            return releases.exact(version)
        except ReleaseError:
            if now() - fetched_at < RELEASE_LIST_FRESH_S:
                raise
            # not in a list that old: published since, or a mistake a fresh list will explain
    fresh = published_releases()
    write_cached_release_list(cache_root, fresh, now())
    return fresh.exact(version)


def read_cached_release_list(cache_root: Path) -> tuple[ReleaseList, float] | None:
    """The list cached from the index uv uses now, and when it was fetched (another index's list: None)."""
    try:
        data = json.loads((cache_root / RELEASE_LIST_CACHE_NAME).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("index") != index_url() or not isinstance(data.get("versions"), list):
        return None
    try:
        fetched_at = float(data.get("fetched_at", 0))
    except (TypeError, ValueError):
        fetched_at = 0.0
    return ReleaseList.of(str(v) for v in data["versions"]), fetched_at


def write_cached_release_list(cache_root: Path, releases: ReleaseList, fetched_at: float | None = None) -> None:
    """Cache `releases` (whole file renamed into place: readers see the old list or the new one)."""
    payload = {
        "index": index_url(),
        "fetched_at": time.time() if fetched_at is None else fetched_at,
        "versions": [str(v) for v in releases.versions],
    }
    try:
        cache_root.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=f".{RELEASE_LIST_CACHE_NAME}.", dir=cache_root)
        with os.fdopen(handle, "w") as file:
            json.dump(payload, file)
        os.replace(temporary, cache_root / RELEASE_LIST_CACHE_NAME)
    except OSError:
        pass  # a read-only cache costs a lookup next time, nothing else


def newest_release(cache_root: Path, now: Callable[[], float] = time.time) -> str:
    """The newest final release listed: from a fresh list, else (index unreachable) the cached one."""
    try:
        fresh = published_releases()
    except IndexUnreachableError:
        cached = read_cached_release_list(cache_root)
        if cached is None:
            raise
        return cached[0].newest()
    write_cached_release_list(cache_root, fresh, now())
    return fresh.newest()


# --------------------------------------------------------------------------- parsing a selection


@dataclass(frozen=True)
class ExactItem:
    """One named release, `latest` or `newest` (version == LATEST / NEWEST)."""

    version: str


@dataclass(frozen=True)
class RangeItem:
    """An inclusive range; an end may be `latest` or `newest`."""

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
    moving = (LATEST, NEWEST)
    if low_v not in moving and high_v not in moving and Version(low_v) > Version(high_v):
        raise ReleaseError(f"--versions {whole!r}: range {part!r} runs backwards (write {high_v}..{low_v})")
    if low_v in moving and high_v != NEWEST and (high_v != LATEST or low_v == NEWEST):
        raise ReleaseError(f"--versions {whole!r}: range {part!r} starts at '{low_v}'; put '{low_v}' last")
    return RangeItem(low_v, high_v)


def _range_end(text: str, part: str) -> str:
    """One end of a range: a version (need not be published, may be compromised), `latest` or `newest`."""
    text = text.strip().removeprefix("litellm==").strip()
    if text.lower() in (LATEST, NEWEST):
        return text.lower()
    try:
        return str(Version(text))
    except InvalidVersion:
        raise ReleaseError(f"range {part!r}: {text!r} is not a version (e.g. 1.80.0..1.90.0)") from None


def select_releases(
    text: str,
    releases: ReleaseList | None = None,
    resolve_latest: Callable[[], str | LatestAnswer] | None = None,
    include_prereleases: bool = False,
    local_target: bool = False,
) -> ReleaseSelection:
    """Turn a `--versions` value into releases to test, oldest first, de-duplicated.

    `releases` defaults to the index's list (fetched only if the selection needs it);
    `resolve_latest` defaults to the cached "newest release that installs". `local_target`: the
    releases will run on the local target, which runs every listed release (those before
    litellm-proxy-extras get their database from their own schema), so it changes nothing today.
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
        high = _moving_end(item.high, releases, latest)
        low = _moving_end(item.low, releases, latest)
        found = releases.between(low, high, include_prereleases)
        if not found:
            raise ReleaseError(f"no published release in {item.low}..{high}")
        chosen.update(Version(v) for v in found)
        notes.extend(_compromised_note(low, high))
    notes.extend(latest.notes)
    return ReleaseSelection([str(v) for v in sorted(chosen)], list(dict.fromkeys(notes)))


def _moving_end(end: str, releases: ReleaseList, latest: "_LatestOnce") -> str:
    """A range end as a version: `latest` resolved, `newest` the newest listed, a version as written."""
    if end == LATEST:
        return latest()
    if end == NEWEST:
        return releases.newest()
    return end


class _LatestOnce:
    """Resolve `latest` at most once per selection (it may cost a few uv resolves)."""

    def __init__(self, resolve: Callable[[], str | LatestAnswer] | None) -> None:
        self._resolve = resolve or _default_latest
        self._value: str | None = None
        #: what the answer says about newer releases passed over (when the resolver tells)
        self.notes: list[str] = []

    def __call__(self) -> str:
        if self._value is None:
            answer = self._resolve()
            if isinstance(answer, LatestAnswer):
                self.notes.append("\n".join(answer.lines()))
                answer = answer.version
            refuse_compromised(answer)
            self._value = answer
        return self._value


def _default_latest() -> LatestAnswer:
    from harness.common.cache_root import default_cache_root
    from harness.gateways.litellm.latest import resolve_latest_answer

    return resolve_latest_answer(default_cache_root())


def _exact_release(version: str, releases: ReleaseList | None, latest: _LatestOnce) -> str:
    if version == LATEST:
        return latest()
    assert releases is not None
    if version == NEWEST:
        return releases.newest()
    return releases.exact(version)


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
