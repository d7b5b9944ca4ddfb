"""Choosing releases for a matrix or a bisect: ordering, ranges, `latest`, pre-releases, refusals."""

from __future__ import annotations

import pytest
from packaging.version import Version

from harness.gateways.litellm import release_list
from harness.gateways.litellm.release_list import ReleaseList, parse_selection, select_releases
from harness.gateways.litellm.release_sampling import sample_releases
from harness.targets.errors import CompromisedReleaseError, ReleaseError

PUBLISHED = [
    "1.9.0", "1.10.0", "1.80.0", "1.80.5", "1.80.10", "1.81.0", "1.82.3", "1.82.6", "1.82.7", "1.82.8",
    "1.83.0", "1.83.1rc1", "1.90.0", "1.90.0.post1", "1.100.0.dev1", "1.106.1", "1.107.0", "1.107.2",
    "1.108.7", "1.110.2",
]
RELEASES = ReleaseList.of(PUBLISHED)


def no_latest() -> str:
    raise AssertionError("latest was resolved although the selection did not ask for it")


def select(text: str, pre: bool = False, latest=no_latest):  # type: ignore[no-untyped-def]
    return select_releases(text, RELEASES, latest, include_prereleases=pre)


def test_releases_are_ordered_by_version_not_text() -> None:
    finals = [str(v) for v in RELEASES.finals()]
    assert finals[:5] == ["1.9.0", "1.10.0", "1.80.0", "1.80.5", "1.80.10"]
    assert finals == sorted(finals, key=Version)


def test_compromised_releases_are_never_in_the_list() -> None:
    listed = {str(v) for v in RELEASES.versions}
    assert not listed & {"1.82.7", "1.82.8", "1.107.0", "1.107.2"}


def test_prereleases_are_left_out_unless_asked() -> None:
    assert "1.83.1rc1" not in [str(v) for v in RELEASES.finals()]
    assert "1.83.1rc1" in [str(v) for v in RELEASES.finals(include_prereleases=True)]
    assert "1.83.1rc1" not in select("1.83.0..1.90.0").versions
    assert "1.83.1rc1" in select("1.83.0..1.90.0", pre=True).versions


def test_post_releases_are_final_releases() -> None:
    assert "1.90.0.post1" in select("1.90.0..1.91").versions


def test_range_is_inclusive_and_its_ends_need_not_be_published() -> None:
    assert select("1.80.0..1.82.3").versions == ["1.80.0", "1.80.5", "1.80.10", "1.81.0", "1.82.3"]
    assert select("1.80.1..1.81").versions == ["1.80.5", "1.80.10", "1.81.0"]


def test_range_across_compromised_releases_steps_over_them_and_says_so() -> None:
    chosen = select("1.82.0..1.83.0")
    assert chosen.versions == ["1.82.3", "1.82.6", "1.83.0"]
    assert chosen.notes == ["left out as compromised (never installed): 1.82.7, 1.82.8"]
    chosen = select("1.106.0..1.108.7")
    assert chosen.versions == ["1.106.1", "1.108.7"]
    assert "1.107.x" in chosen.notes[0]


def test_comma_list_mixes_exact_ranges_and_latest_sorted_and_deduplicated() -> None:
    chosen = select("1.90.0, litellm==1.80.0,latest,1.80.0..1.80.5", latest=lambda: "1.108.7")
    assert chosen.versions == ["1.80.0", "1.80.5", "1.90.0", "1.108.7"]


def test_latest_is_the_newest_release_that_installs_not_the_newest_listed() -> None:
    # 1.110.2 is listed but does not install; the resolver (uv dry-run) says 1.108.7
    assert select("latest", latest=lambda: "1.108.7").versions == ["1.108.7"]
    assert select("1.106.0..latest", latest=lambda: "1.108.7").versions == ["1.106.1", "1.108.7"]


def test_latest_is_resolved_once_per_selection() -> None:
    calls: list[int] = []

    def latest() -> str:
        calls.append(1)
        return "1.108.7"

    select("latest,1.106.0..latest", latest=latest)
    assert len(calls) == 1


@pytest.mark.parametrize("text", ["1.82.7", "1.80.0,litellm==1.82.8", "1.107.2", "latest,1.107.0"])
def test_naming_a_compromised_release_is_refused_before_any_lookup(text: str, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    def no_network() -> ReleaseList:
        raise AssertionError("nothing may be fetched for a compromised selection")

    monkeypatch.setattr(release_list, "published_releases", no_network)
    with pytest.raises(CompromisedReleaseError):
        select_releases(text, resolve_latest=no_latest)


def test_latest_resolving_to_a_compromised_release_is_refused() -> None:
    with pytest.raises(CompromisedReleaseError):
        select("latest", latest=lambda: "1.82.7")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "give releases like"),
        ("1.80.0,,1.82.3", "give releases like"),
        ("1.90.0..1.80.0", "runs backwards (write 1.80.0..1.90.0)"),
        ("latest..1.80.0", "put 'latest' last"),
        ("1.80.0..banana", "'banana' is not a version"),
        ("1.80.6..1.80.9", "no published release in 1.80.6..1.80.9"),
        ("1.82.99", "1.82.99 is not a published release (nearest: "),
        ("openai==1.0", "only litellm is supported"),
    ],
)
def test_bad_selections_get_a_clear_error(text: str, message: str) -> None:
    with pytest.raises(ReleaseError) as error:
        select(text)
    assert message in str(error.value)


def test_parse_selection_needs_no_network() -> None:
    items = parse_selection("1.80.0..1.90.0,latest,1.82.3")
    assert [type(item).__name__ for item in items] == ["RangeItem", "ExactItem", "ExactItem"]


def test_strictly_between_is_what_a_bisect_searches() -> None:
    assert RELEASES.strictly_between("1.80.0", "1.82.3") == ["1.80.5", "1.80.10", "1.81.0"]


def test_nearest_suggests_neighbours() -> None:
    assert set(RELEASES.nearest("1.82.99")) >= {"1.82.6", "1.83.0"}


# --------------------------------------------------------------------------- newest, and one per minor


def test_newest_is_the_newest_release_listed_even_one_that_does_not_install() -> None:
    assert select("newest").versions == ["1.110.2"]  # `latest` would be 1.108.7: it is not asked
    assert select("1.106..newest").versions == ["1.106.1", "1.108.7", "1.110.2"]
    assert select("latest..newest", latest=lambda: "1.108.7").versions == ["1.108.7", "1.110.2"]
    with pytest.raises(ReleaseError, match="starts at 'newest'"):
        parse_selection("newest..1.90")


def test_newest_as_a_target_spec() -> None:
    from harness.gateways import registry
    from harness.targets.spec import parse_target_spec

    for text in ("newest", "litellm==newest", "NEWEST"):
        parsed = parse_target_spec(text, registry)
        assert (parsed.version, parsed.normalised) == ("newest", "newest")
    assert parse_target_spec("newest@as-released", registry).normalised == "newest@as-released"


def test_one_release_per_minor_is_its_newest_and_gaps_are_named() -> None:
    listed = ["1.53.1", "1.53.9", "1.54.1", "1.56.0", "1.74.15", "1.74.15.post2", "1.75.0rc1", "1.106.12",
              "1.108.7", "1.108.14"]
    sampled = sample_releases(listed, "minor", "1.40..newest")
    assert sampled.versions == ["1.53.9", "1.54.1", "1.56.0", "1.74.15.post2", "1.106.12", "1.108.14"]
    (note,) = sampled.notes
    assert note.startswith("no release listed on the index for: 1.40–1.52, 1.55, 1.57–1.73, 1.75–1.105")
    assert "1.107" not in note  # compromised: the selection's own note says so
    with pytest.raises(ReleaseError, match="--sample 'patch'"):
        sample_releases(listed, "patch")
