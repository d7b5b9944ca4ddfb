"""A `--target` judged before anything installs: one clear line, exit 2, nothing started or left.

The package index is `fake_releases.PUBLISHED` (see the `offline_index` fixture in conftest.py),
the cache root an empty folder of each test's own.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from harness.cli import app as cli
from harness.gateways.litellm import release_list
from harness.gateways.litellm.release_list import (
    RELEASE_LIST_CACHE_NAME,
    RELEASE_LIST_FRESH_S,
    ReleaseList,
    write_cached_release_list,
)
from harness.engine.runner import check_target_spec as check_target
from harness.gateways.litellm import latest
from harness.gateways.litellm.environments import STAMP_NAME, environment_name
from harness.targets.errors import ReleaseError
from harness.targets.spec import parse_target_spec
from harness.gateways import registry
from harness.gateways.litellm.catalogue import LiteLLMReleases
from harness.store.documents import write_results
from tests.fixtures import fake_releases, fake_runner, report_docs

ROOT = Path(__file__).parents[2]
SEED = ROOT / "scenarios/litellm/issue-23850-access-group-limits-service-key.yaml"


def cache_root() -> Path:
    return Path(os.environ["GATECONFORM_CACHE_DIR"])


def leftovers(root: Path) -> list[str]:
    """Lock files and empty folders under the cache root (a refused spec may leave neither)."""
    if not root.exists():
        return []
    found = [p for p in [root, *root.rglob("*")] if p.suffix == ".lock" or (p.is_dir() and not any(p.iterdir()))]
    return [str(p.relative_to(root)) or "." for p in found]


def run(target: str, tmp_path: Path, *extra: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(cli.app, ["run", str(SEED), "--target", target,
                                        "--report-dir", str(tmp_path / "out"), *extra])


def built_environment(version: str) -> None:
    """Make the cache hold a complete environment of `version` (its stamp and interpreter)."""
    root = cache_root() / "envs" / environment_name(version)
    (root / "bin").mkdir(parents=True)
    (root / "bin" / "python").touch()
    (root / STAMP_NAME).write_text(json.dumps({"litellm_version": version, "deps": "today"}))


# --------------------------------------------------------------------------- refused through `run`


@pytest.mark.parametrize(
    ("target", "says"),
    [
        # not an exact release: pip would quietly install 1.82.0; the series is named instead
        ("litellm==1.82", ["litellm 1.82 is not an exact release (pip would take it as 1.82.0)",
                           "1.82.0, 1.82.1, 1.82.2, 1.82.3, 1.82.4, 1.82.5, 1.82.6",
                           "1.82.7 and 1.82.8 are compromised", "e.g. litellm==1.82.6, the newest"]),
        # not listed at all: the nearest published ones, not "listed but does not install"
        ("litellm==9.9.9", ["litellm 9.9.9 is not a published release (nearest: 1.110.2, 1.108.8, 1.108.7"]),
        ("litellm==1.82.9", ["litellm 1.82.9 is not a published release (nearest: 1.82.6"]),
        # compromised: still refused before anything, the index not even asked
        ("litellm==1.82.7", ["litellm 1.82.7 is a compromised release"]),
        # the Docker target's short form is a build of a PyPI release: the same listing check
        ("docker:litellm==1.82", ["litellm 1.82 is not an exact release", "litellm==1.82.6"]),
        ("docker:litellm==9.9.9", ["litellm 9.9.9 is not a published release"]),
    ],
)
def test_a_spec_that_cannot_run_is_refused_in_one_line_before_anything(
    target: str, says: list[str], tmp_path: Path, no_target: list[str]
) -> None:
    result = run(target, tmp_path)
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"gateconform: --target {target}: ")
    for text in says:
        assert text in lines[0]
    assert no_target == [], "nothing may be built or started for a refused spec"
    assert not (tmp_path / "out").exists(), "no run happened, so no report may claim one"
    assert leftovers(cache_root()) == []
    assert not (cache_root() / "envs").exists()


@pytest.mark.parametrize("target", ["litellm==1.82.7", "litellm==1.107.1"])
def test_refusals_from_the_number_alone_do_not_ask_the_index(target: str, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(release_list, "published_releases", fake_releases.unreachable_index)
    result = run(target, tmp_path)
    assert result.exit_code == 2
    assert "could not list" not in result.output


def test_an_unreachable_index_refuses_rather_than_guesses(tmp_path: Path, no_target: list[str], monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(release_list, "published_releases", fake_releases.unreachable_index)
    result = run("litellm==1.82.3", tmp_path)
    assert result.exit_code == 2
    line, = result.output.strip().splitlines()
    assert "cannot tell whether litellm 1.82.3 is a published release: could not list litellm releases" in line
    assert "Nothing was installed" in line
    assert no_target == []
    assert leftovers(cache_root()) == []


@pytest.mark.slow  # a pytest subprocess
def test_the_pytest_plugin_refuses_an_unpublished_target_before_collection(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pytest", str(SEED), "--target", "litellm==9.9.9",
         "-p", "tests.fixtures.fake_releases", "-p", "no:cacheprovider", "-q"],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
        env={**os.environ, "GATECONFORM_CACHE_DIR": str(tmp_path / "cache")},
    )
    assert done.returncode == 4, done.stdout + done.stderr  # pytest's usage error
    assert "--target litellm==9.9.9: litellm 9.9.9 is not a published release (nearest: 1.110.2" in done.stderr
    assert "collected" not in done.stdout
    assert leftovers(tmp_path / "cache") == []


# --------------------------------------------------------------------------- accepted, and how fast


def test_a_published_release_is_written_one_way() -> None:
    assert check_target("1.82.3").spec == "litellm==1.82.3"
    assert check_target("v1.82.3.0").spec == "litellm==1.82.3"
    assert check_target("litellm==1.82.3@as-released").spec == "litellm==1.82.3@as-released"
    assert check_target("litellm==1.109.0rc1").spec == "litellm==1.109.0rc1"  # named exactly: asked for


def test_the_release_list_is_cached_and_asked_again_only_for_a_release_it_lacks(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    index = fake_releases.ReleaseListOf(fake_releases.PUBLISHED)
    monkeypatch.setattr(release_list, "published_releases", index)
    check_target("litellm==1.82.3")
    check_target("litellm==1.108.7")
    assert index.lookups == 1
    index.versions.append("1.110.3")  # published since the list was cached
    with pytest.raises(ReleaseError, match="not a published release"):
        check_target("litellm==1.110.3")  # a list minutes old answers a miss too (a retried typo)
    assert index.lookups == 1
    cached = json.loads((cache_root() / RELEASE_LIST_CACHE_NAME).read_text())
    cached["fetched_at"] -= RELEASE_LIST_FRESH_S + 1
    (cache_root() / RELEASE_LIST_CACHE_NAME).write_text(json.dumps(cached))
    assert check_target("litellm==1.110.3").spec == "litellm==1.110.3"  # an older one asks the index again
    assert index.lookups == 2


def test_a_built_environment_needs_no_index(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    built_environment("1.82.3")
    monkeypatch.setattr(release_list, "published_releases", fake_releases.unreachable_index)
    assert check_target("litellm==1.82.3").spec == "litellm==1.82.3"
    with pytest.raises(ReleaseError, match="cannot tell whether litellm 1.82.4 is a published release"):
        check_target("litellm==1.82.4")


def test_a_cached_list_from_another_index_is_not_trusted(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    write_cached_release_list(cache_root(), ReleaseList.of(["1.82.3"]))
    monkeypatch.setenv("UV_DEFAULT_INDEX", "https://mirror.example/simple")
    monkeypatch.setattr(release_list, "published_releases", fake_releases.unreachable_index)
    with pytest.raises(ReleaseError, match="cannot tell"):
        check_target("litellm==1.82.3")


def test_the_docker_short_form_goes_on_with_a_note_when_the_index_is_unreachable(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(release_list, "published_releases", fake_releases.unreachable_index)
    checked = check_target("docker:litellm==1.82.3")
    assert checked.spec == "docker:litellm==1.82.3"
    assert "could not check litellm 1.82.3 against the package index" in checked.notes[0]
    assert check_target("docker:ghcr.io/berriai/litellm-database:main-v1.82.3-stable").notes == ()


# --------------------------------------------------------------------------- latest


def test_latest_says_which_newer_releases_it_passed_over_and_why(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    index = fake_releases.install_latest_index(monkeypatch)
    document = report_docs.load()
    fake_runner.install(monkeypatch, str(write_results(document, tmp_path / "recorded.json")))

    for attempt in ("resolved now", "from the cache"):
        result = CliRunner().invoke(cli.app, ["run", str(SEED), "--target", "latest",
                                              "--report-dir", str(tmp_path / attempt)])
        output = result.output
        assert "'latest' = litellm 1.108.7, the newest release that installs as published; " \
               "passed over 2 newer release(s) that do not:" in output, attempt
        assert "  1.110.2: litellm-proxy==1.110.2 is not served" in output
        assert "  1.108.8: litellm-proxy==1.108.8 is not served" in output
        assert output.count("passed over") == 1, "said once"
    assert index.resolved.count("1.110.2") == 1, "the second run read the cached answer"


@pytest.mark.slow  # a pytest subprocess
def test_the_pytest_plugin_says_what_latest_passed_over_in_its_header(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pytest", str(SEED), "--target", "latest", "--collect-only",
         "-p", "tests.fixtures.fake_releases", "-p", "no:cacheprovider"],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
        env={**os.environ, "GATECONFORM_CACHE_DIR": str(tmp_path / "cache")},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "gateconform: 'latest' = litellm 1.108.7, the newest release that installs as published" in done.stdout
    assert "gateconform:   1.110.2: litellm-proxy==1.110.2 is not served" in done.stdout


def test_latest_with_the_index_unreachable_and_no_earlier_answer_leaves_nothing(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(latest, "list_published_versions", fake_releases.unreachable_index)
    result = run("latest", tmp_path)
    assert result.exit_code == 2
    assert "could not list litellm releases" in result.output
    assert leftovers(cache_root()) == []


# --------------------------------------------------------------------------- matrix and bisect


@pytest.mark.parametrize(
    ("versions", "says"),
    [("1.82", "litellm 1.82 is not an exact release"), ("1.80.0,1.60.1", "litellm 1.60.1 is not a published"),
     ("9.9.9", "not a published release"), ("1.40..1.50", "no published release in 1.40..1.50")],
)
def test_matrix_judges_its_versions_like_run(versions: str, says: str, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    ran: list[str] = []
    fake_releases.install(monkeypatch, lambda version, *a, **k: ran.append(version))  # type: ignore[arg-type]
    result = CliRunner().invoke(cli.app, ["matrix", str(SEED), "--versions", versions,
                                          "--report-dir", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert says in result.output
    assert ran == []


def test_a_range_across_the_first_release_with_migrations_leaves_nothing_out() -> None:
    # releases before 1.65.1 get their database from their own schema.prisma: none is skipped
    chosen = release_list.select_releases("1.60..1.70", local_target=True)
    assert chosen.versions == ["1.60.0", "1.65.0", "1.65.1", "1.70.0"]
    assert not any("older" in note for note in chosen.notes)


def test_a_bisect_range_across_the_first_release_with_migrations_searches_them_all() -> None:
    bisect_range = LiteLLMReleases().bisect_range("1.60.0", "1.75.0")
    assert (bisect_range.good, bisect_range.bad) == ("1.60.0", "1.75.0")
    assert bisect_range.between == ["1.65.0", "1.65.1", "1.70.0"]


def test_an_old_release_is_a_valid_local_target() -> None:
    assert parse_target_spec("litellm==1.60.0", registry).version == "1.60.0"
    assert parse_target_spec("litellm==1.53.1@as-released", registry).deps == "as-released"
