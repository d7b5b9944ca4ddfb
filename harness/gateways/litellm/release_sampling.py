"""Thinning a selection of LiteLLM releases out: one per minor version (`releases --check --sample minor`).

A support check boots every release it is given; one per minor version (its newest, post releases
included) shows where a line of releases stops starting at a fraction of the cost. The notes say
which minor versions of the selection hold no release the index lists.
"""

from __future__ import annotations

from typing import Sequence

from packaging.version import Version

from harness.gateways.base import ReleaseSelection
from harness.gateways.litellm.release_list import RangeItem, parse_selection
from harness.gateways.litellm.releases import COMPROMISED_SERIES, LATEST, NEWEST
from harness.targets.errors import ReleaseError

#: How `releases --check --sample` may thin a selection out.
SAMPLES = ("minor",)


def sample_releases(versions: Sequence[str], per: str, selection: str = "") -> ReleaseSelection:
    """The newest release of each minor version in `versions` (post releases count, pre-releases do not).

    The notes name the minor versions from the lowest end of `selection` (else the oldest of
    `versions`) to the newest of `versions` of which the index lists no release (1.40–1.52
    here); a compromised series (1.107) is left out of the selection with its own note.
    """
    if per not in SAMPLES:
        raise ReleaseError(f"--sample {per!r}: sample by {' or '.join(SAMPLES)}")
    newest: dict[tuple[int, int], Version] = {}
    for text in versions:
        version = Version(text)
        if version.is_prerelease or version.is_devrelease:
            continue
        key = (version.major, version.minor)
        newest[key] = max(newest.get(key, version), version)
    return ReleaseSelection([str(v) for _, v in sorted(newest.items())],
                            _minors_without_release(newest, _lowest_end(selection)))


def _lowest_end(selection: str) -> Version | None:
    """The lowest version a selection names (a range's low end included), if it names one."""
    try:
        items = parse_selection(selection) if selection.strip() else []
    except ReleaseError:
        return None
    ends = [item.low if isinstance(item, RangeItem) else item.version for item in items]
    versions = [Version(end) for end in ends if end not in (LATEST, NEWEST)]
    return min(versions) if versions else None


def _minors_without_release(found: dict[tuple[int, int], Version], lowest: Version | None) -> list[str]:
    if not found:
        return []
    keys = sorted(found)
    (major, first), (_, last) = keys[0], keys[-1]
    if lowest is not None and lowest.major == major:
        first = min(first, lowest.minor)
    if any(key[0] != major for key in keys):
        return []
    # a compromised series is missing on purpose: the selection's own note says so
    unlisted = [minor for minor in range(first, last + 1)
                if (major, minor) not in found and (major, minor) not in COMPROMISED_SERIES]
    return [f"no release listed on the index for: {_minor_spans(major, unlisted)}"] if unlisted else []


def _minor_spans(major: int, minors: Sequence[int]) -> str:
    """`1.40–1.52, 1.54` from [40..52, 54]."""
    spans: list[list[int]] = []
    for minor in minors:
        if spans and minor == spans[-1][-1] + 1:
            spans[-1].append(minor)
        else:
            spans.append([minor])
    return ", ".join(f"{major}.{s[0]}" if len(s) == 1 else f"{major}.{s[0]}–{major}.{s[-1]}" for s in spans)
