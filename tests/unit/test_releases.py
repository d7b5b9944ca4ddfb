"""Target specs: which LiteLLM release they mean, and that compromised releases are never touched."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from packaging.version import Version

import httpx

from harness.gateways.litellm import latest, package_index, releases
from harness.targets.errors import CompromisedReleaseError, ReleaseError
from harness.gateways.litellm.latest import ResolveResult, resolve_latest, resolve_version
from harness.gateways.litellm.releases import (
    LATEST,
    installable_candidates,
    is_compromised,
    parse_version_spec,
)


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("litellm==1.82.3", "1.82.3"),
        ("1.82.3", "1.82.3"),
        ("  litellm == 1.108.7 ", "1.108.7"),
        ("v1.82.3", "1.82.3"),
        ("latest", LATEST),
        ("LATEST", LATEST),
        ("litellm==latest", LATEST),
        ("litellm", LATEST),
    ],
)
def test_spec_forms_name_one_version(spec: str, expected: str) -> None:
    assert parse_version_spec(spec) == expected


@pytest.mark.parametrize("spec", ["litellm>=1.80", "1.82.*", "openai==1.0", "banana", "", "litellm==", "1.82,1.83"])
def test_unusable_specs_get_a_clear_error(spec: str) -> None:
    with pytest.raises(ReleaseError) as error:
        parse_version_spec(spec)
    assert not isinstance(error.value, CompromisedReleaseError)
    assert repr(spec) in str(error.value)  # the message names what the user wrote


@pytest.mark.parametrize(
    "spec",
    ["1.82.7", "litellm==1.82.8", "1.107.0", "litellm==1.107.3", "1.107.0.dev1", "1.82.7.post1", "1.107"],
)
def test_compromised_releases_are_refused(spec: str) -> None:
    with pytest.raises(CompromisedReleaseError, match="compromised"):
        parse_version_spec(spec)


@pytest.mark.parametrize("version", ["1.82.6", "1.82.9", "1.108.0", "1.10.7", "1.1.7", "1.106.9", "2.107.0"])
def test_neighbours_of_compromised_releases_are_fine(version: str) -> None:
    assert not is_compromised(version)
    assert parse_version_spec(version) == version


def test_compromised_spec_is_refused_before_any_download(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    def no_network(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("nothing may be fetched or run for a compromised release")

    monkeypatch.setattr(subprocess, "run", no_network)
    monkeypatch.setattr(httpx, "get", no_network)
    with pytest.raises(CompromisedReleaseError):
        resolve_version("litellm==1.82.7", tmp_path)
    with pytest.raises(CompromisedReleaseError):
        latest.dry_run_resolve("1.107.1")


def test_latest_candidates_skip_prereleases_yanked_and_compromised() -> None:
    listed = ["1.82.3", "1.82.7", "1.82.8", "1.107.0", "1.107.0.dev1", "1.108.7", "1.109.0rc1", "1.110.2", "1.99.0"]
    candidates = installable_candidates(listed, yanked={"1.99.0"})
    assert candidates == [Version("1.110.2"), Version("1.108.7"), Version("1.82.3")]


def test_a_version_is_yanked_only_when_all_its_files_are() -> None:
    files = [
        {"filename": "litellm-1.50.0-py3-none-any.whl", "yanked": "broken"},
        {"filename": "litellm-1.50.0.tar.gz", "yanked": True},
        {"filename": "litellm-1.51.0-py3-none-any.whl", "yanked": True},
        {"filename": "litellm-1.51.0.tar.gz", "yanked": False},
    ]
    assert package_index._yanked_versions(files) == {"1.50.0"}


class FakeIndex:
    """A package index where some listed releases do not resolve."""

    def __init__(self, listed: list[str], installable: set[str]) -> None:
        self.listed = listed
        self.installable = installable
        self.resolved: list[str] = []
        self.listings = 0

    def list_versions(self) -> list[Version]:
        self.listings += 1
        return installable_candidates(self.listed)

    def resolve(self, version: str) -> ResolveResult:
        self.resolved.append(version)
        ok = version in self.installable
        return ResolveResult(version, ok, "" if ok else "litellm-proxy==9.9.9 is not served")


def test_latest_is_the_newest_release_that_installs(tmp_path: Path) -> None:
    index = FakeIndex(["1.108.7", "1.110.2", "1.109.1", "1.82.3"], installable={"1.108.7", "1.82.3"})
    messages: list[str] = []
    version = resolve_latest(tmp_path, messages.append, resolve=index.resolve, list_versions=index.list_versions)
    assert version == "1.108.7"
    assert any("1.110.2" in m and "does not install" in m and "is not served" in m for m in messages)


def test_latest_looks_past_a_long_run_of_broken_releases(tmp_path: Path) -> None:
    broken = [f"1.{minor}.0" for minor in range(90, 130)]
    index = FakeIndex([*broken, "1.89.0", "1.88.0"], installable={"1.89.0", "1.88.0"})
    assert resolve_latest(tmp_path, resolve=index.resolve, list_versions=index.list_versions) == "1.89.0"


def test_uv_error_summarised_as_the_missing_package() -> None:
    error = (
        "error: No solution found when resolving dependencies\n"
        "  cause: Because there is no version of litellm-enterprise==0.1.79.post2 and litellm[proxy]==1.108.10 "
        "depends on litellm-enterprise==0.1.79.post2, we can conclude that litellm[proxy]==1.108.10 cannot be used."
    )
    assert releases.short_reason(error) == "litellm-enterprise==0.1.79.post2 is not served"
    unknown = "  cause: Because litellm-proxy was not found in the package registry and litellm[proxy]>=1.110.2 ..."
    assert releases.short_reason(unknown) == "litellm-proxy is not on the index"
    assert releases.short_reason("error: network down\n") == "error: network down"


def test_latest_is_cached_for_a_day(tmp_path: Path) -> None:
    index = FakeIndex(["1.108.7", "1.110.2"], installable={"1.108.7"})
    clock = [1_000_000.0]

    def resolve() -> str:
        return resolve_latest(
            tmp_path, resolve=index.resolve, list_versions=index.list_versions, now=lambda: clock[0]
        )

    assert resolve() == "1.108.7"
    clock[0] += 3600
    assert resolve() == "1.108.7"
    assert index.listings == 1
    clock[0] += 24 * 3600
    index.installable.add("1.110.2")
    assert resolve() == "1.110.2"
    assert index.listings == 2


def test_a_cached_compromised_answer_is_never_used(tmp_path: Path) -> None:
    (tmp_path / "latest-litellm.json").write_text(json.dumps({"version": "1.107.0", "resolved_at": 1e12}))
    index = FakeIndex(["1.108.7"], installable={"1.108.7"})
    assert resolve_latest(tmp_path, resolve=index.resolve, list_versions=index.list_versions, now=lambda: 1e12) == "1.108.7"


def test_latest_fails_clearly_when_nothing_installs(tmp_path: Path) -> None:
    index = FakeIndex(["1.110.2", "1.109.1"], installable=set())
    with pytest.raises(ReleaseError, match="no installable litellm release.*1.110.2, 1.109.1"):
        resolve_latest(tmp_path, resolve=index.resolve, list_versions=index.list_versions)


def test_index_unreachable_falls_back_to_the_last_known_latest(tmp_path: Path) -> None:
    (tmp_path / "latest-litellm.json").write_text(json.dumps({"version": "1.108.7", "resolved_at": 0}))

    def unreachable() -> list[Version]:
        raise ReleaseError("could not list litellm releases: connection refused")

    messages: list[str] = []
    version = resolve_latest(tmp_path, messages.append, resolve=FakeIndex([], set()).resolve, list_versions=unreachable)
    assert version == "1.108.7"
    assert any("last known" in m for m in messages)


def test_index_unreachable_without_history_is_an_error(tmp_path: Path) -> None:
    def unreachable() -> list[Version]:
        raise ReleaseError("could not list litellm releases: connection refused")

    with pytest.raises(ReleaseError, match="connection refused"):
        resolve_latest(tmp_path, resolve=FakeIndex([], set()).resolve, list_versions=unreachable)
