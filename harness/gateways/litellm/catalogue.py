"""LiteLLM's published releases as the harness asks for them (`harness.gateways.base.ReleaseCatalogue`).

`gateconform releases`, `matrix` and `bisect` list, select and bound releases through this; the
rules behind it are `harness.gateways.litellm.release_list` (PyPI's list, ranges, the local
target's minimum) and `harness.gateways.litellm.latest`. Modules are imported when asked, so
finding the gateway stays cheap.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from packaging.version import Version

from harness.common.log import Log
from harness.gateways.base import BisectRange, ReleaseSelection


class LiteLLMReleases:
    """The releases PyPI serves of LiteLLM (compromised ones never listed)."""

    def published(self, include_prereleases: bool = False) -> list[str]:
        from harness.gateways.litellm import release_list

        return [str(v) for v in release_list.published_releases().finals(include_prereleases)]

    def select(self, text: str, *, include_prereleases: bool = False, local_target: bool = False) -> ReleaseSelection:
        from harness.gateways.litellm import release_list

        return release_list.select_releases(text, include_prereleases=include_prereleases, local_target=local_target)

    def describe(self, versions: Sequence[str], cache_root: Path | None = None) -> list[str]:
        """One line per release for `gateconform releases`: version, and `cached` when an env exists."""
        from harness.common.cache_root import default_cache_root
        from harness.gateways.litellm.environments import find_complete_environment

        root = cache_root or default_cache_root()
        lines = []
        for version in versions:
            cached = find_complete_environment(root, version) is not None
            lines.append(f"{version}{'  (environment cached)' if cached else ''}")
        return lines

    def latest(self, cache_root: Path, log: Log | None = None) -> str:
        from harness.gateways.litellm import latest

        return latest.resolve_latest(cache_root, log)

    def sample(self, versions: Sequence[str], per: str, selection: str = "") -> ReleaseSelection:
        from harness.gateways.litellm.release_sampling import sample_releases

        return sample_releases(versions, per, selection)

    def bisect_range(self, good: str, bad: str) -> BisectRange:
        """The ends as published (local target) and the final releases strictly between them.

        Both ends are refused first when compromised or malformed, before any lookup; then each
        is checked against the index's list. Every listed release can be tested: a range that
        crosses the first release with SQL migrations skips nothing for its schema.
        """
        from harness.gateways.litellm import release_list

        for end in (good, bad):
            release_list.parse_selection(end)
        releases = release_list.published_releases()
        ends = [release_list.select_releases(end, releases, local_target=True) for end in (good, bad)]
        good_v, bad_v = ends[0].versions[0], ends[1].versions[0]
        notes = list(dict.fromkeys(note for end in ends for note in end.notes))
        good_is_newer = Version(good_v) > Version(bad_v)
        low, high = (bad_v, good_v) if good_is_newer else (good_v, bad_v)
        return BisectRange(good_v, bad_v, releases.strictly_between(low, high), good_is_newer, notes)
