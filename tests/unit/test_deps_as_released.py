"""Dependencies as released: the uv cut-off from the index's upload times, the install command line
in each mode, separate cache folders, and the matrix/bisect retry decision (all offline)."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from harness.compare import release_run
from harness.gateways.litellm.cache import list_environments
from harness.compare.release_run import ReleaseRun, did_not_start, run_with_deps
from harness.model.reasons import NotRunReason
from harness.model.results import RunResult, ScenarioResult
from harness.engine.events import ignore
from harness.engine.runner import make_target
from harness.report.progress import as_lines
from harness.gateways.litellm import environment_build, environments
from harness.gateways.litellm.environment_build import uv_pip_install_command
from harness.gateways.litellm.environments import STAMP_NAME, environment_name, find_complete_environment
from harness.targets.errors import EnvironmentBuildError, ReleaseError, TargetError
from harness.gateways.litellm.package_index import (
    Dating,
    as_released_datings,
    first_prerelease_upload,
    exclude_newer_for,
    series_start,
    _earliest_uploads,
    release_upload_time,
    upload_time_from_json_api,
    upload_time_from_simple,
)
from harness.gateways.litellm.proxy_import import earlier_dating_may_help
from harness.gateways.litellm.releases import split_deps, with_deps

SIMPLE_PAGE = {
    "meta": {"api-version": "1.1"},
    "versions": ["1.94.3", "1.95.0"],
    "files": [
        {"filename": "litellm-1.95.0-cp311-cp311-manylinux_2_28_x86_64.whl",
         "upload-time": "2026-08-02T02:51:58.150831Z", "yanked": False},
        {"filename": "litellm-1.95.0-py3-none-any.whl", "upload-time": "2026-08-02T02:52:49.465203Z"},
        {"filename": "litellm-1.95.0.tar.gz", "upload-time": "2026-08-02T02:52:40Z"},
        {"filename": "litellm-1.94.3-py3-none-any.whl", "upload-time": "2026-08-09T02:26:46Z"},
    ],
}
# PyPI's JSON API (https://pypi.org/pypi/litellm/1.95.0/json), trimmed to what is read
JSON_API_DOCUMENT = {
    "info": {"name": "litellm", "version": "1.95.0"},
    "urls": [
        {"filename": "litellm-1.95.0-py3-none-any.whl", "upload_time": "2026-08-02T02:52:49",
         "upload_time_iso_8601": "2026-08-02T02:52:49.465203Z"},
        {"filename": "litellm-1.95.0.tar.gz", "upload_time_iso_8601": "2026-08-02T02:52:40.000000Z"},
    ],
}


# --------------------------------------------------------------------------- the cut-off


def test_the_upload_time_is_the_newest_file_of_that_release() -> None:
    assert upload_time_from_simple(SIMPLE_PAGE, "1.95.0") == datetime(2026, 8, 2, 2, 52, 49, 465203, timezone.utc)
    assert upload_time_from_simple(SIMPLE_PAGE, "1.96.0") is None
    assert upload_time_from_json_api(JSON_API_DOCUMENT) == datetime(2026, 8, 2, 2, 52, 49, 465203, timezone.utc)


def test_the_cut_off_is_the_upload_time_plus_a_day_in_utc() -> None:
    uploaded = upload_time_from_json_api(JSON_API_DOCUMENT)
    assert uploaded is not None
    assert exclude_newer_for(uploaded) == "2026-08-03T02:52:49Z"


def test_the_configured_index_is_asked_and_pypi_json_api_is_the_fallback(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("UV_INDEX_URL", "https://mirror.example/simple/")
    asked: list[str] = []

    def simple(base: str, _timeout: float) -> dict:
        asked.append(base)
        return {"files": [{"filename": "litellm-1.95.0-py3-none-any.whl"}]}  # a mirror without PEP 700 times

    def json_api(url: str, _timeout: float) -> dict:
        asked.append(url)
        return JSON_API_DOCUMENT

    found = release_upload_time("1.95.0", fetch_simple=simple, fetch_json=json_api)
    assert found.isoformat() == "2026-08-02T02:52:49.465203+00:00"
    assert asked == ["https://mirror.example/simple", "https://mirror.example/pypi/litellm/1.95.0/json"]
    with pytest.raises(ReleaseError, match="neither"):
        release_upload_time("1.95.0", fetch_simple=simple, fetch_json=lambda _u, _t: {"urls": []})


# --------------------------------------------------------------------------- which dating

#: 1.95.0 as the index lists it: its pre-releases came out days before FastAPI dropped the helper
#: it imports (27 July); the release itself after. `dev1` was (re)uploaded last, `dev3` first.
DATED_PAGE = {"files": SIMPLE_PAGE["files"] + [
    {"filename": "litellm-1.95.0.dev1-py3-none-any.whl", "upload-time": "2026-08-06T10:16:36Z"},
    {"filename": "litellm-1.95.0.dev3-py3-none-any.whl", "upload-time": "2026-07-24T18:26:36.363674Z"},
    {"filename": "litellm-1.95.0rc1-py3-none-any.whl", "upload-time": "2026-07-29T23:23:36Z"},
    {"filename": "litellm-1.96.0.dev2-py3-none-any.whl", "upload-time": "2026-07-01T00:00:00Z"},
]}


def test_the_first_pre_release_is_the_earliest_uploaded_one_of_that_release() -> None:
    first = first_prerelease_upload(DATED_PAGE, "1.95.0")
    assert first is not None and first[0] == "1.95.0.dev3"  # not dev1: uploaded later
    assert first_prerelease_upload(DATED_PAGE, "1.94.3") is None


def test_the_datings_tried_are_the_upload_then_the_first_pre_release() -> None:
    upload, pre = as_released_datings("1.95.0", fetch_simple=lambda _b, _t: DATED_PAGE)
    assert (upload.exclude_newer, upload.label) == ("2026-08-03T02:52:49Z", "its upload (2026-08-02)")
    assert (pre.exclude_newer, pre.label) == ("2026-07-25T18:26:36Z", "its first pre-release 1.95.0.dev3 (2026-07-24)")
    # the release and its companions came out with it: they keep the upload's date
    assert pre.uv_flags()[:2] == ["--exclude-newer", "2026-07-25T18:26:36Z"]
    assert "litellm=2026-08-03T02:52:49Z" in pre.uv_flags()
    assert "litellm-proxy-extras=2026-08-03T02:52:49Z" in pre.uv_flags()
    assert [d.label for d in as_released_datings("1.95.0", fetch_simple=lambda _b, _t: SIMPLE_PAGE)] == [
        "its upload (2026-08-02)"]  # no pre-release: the upload only


def test_a_dating_that_does_not_import_gives_way_to_the_next_and_the_stamp_says_which_worked(
    tmp_path: Path, monkeypatch  # type: ignore[no-untyped-def]
) -> None:
    upload, pre = as_released_datings("1.95.0", fetch_simple=lambda _b, _t: DATED_PAGE)
    commands: list[list[str]] = []
    imports: list[str] = []

    def check_imports(environment, log) -> None:  # type: ignore[no-untyped-def]
        imports.append(environment.exclude_newer)
        if environment.exclude_newer == upload.exclude_newer:
            raise EnvironmentBuildError("the proxy does not import: Traceback …\n"
                                        "ImportError: cannot import name 'get_flat_dependant'")

    monkeypatch.setattr(environment_build, "as_released_datings", lambda version: [upload, pre])
    monkeypatch.setattr(environment_build, "check_proxy_imports", check_imports)
    monkeypatch.setattr(environment_build, "_uv", lambda: "uv")
    monkeypatch.setattr(environment_build, "_create_venv", lambda staging, log, site: (staging / "bin").mkdir(parents=True))
    monkeypatch.setattr(environment_build, "run_with_progress", lambda command, **kw: commands.append(list(command)) or "")
    monkeypatch.setattr(environment_build, "_declared_requirements", lambda staging, site: [])
    monkeypatch.setattr(environment_build, "_installed_versions", lambda staging, site: {"litellm": "1.95.0", "prisma": "0.15.0"})
    monkeypatch.setattr(environment_build, "_prisma_generate", lambda *a, **k: None)
    built = environment_build.ensure_environment("1.95.0", tmp_path, engine_env={}, deps="as-released")
    assert imports == [upload.exclude_newer, pre.exclude_newer]
    assert built.exclude_newer == pre.exclude_newer
    assert "--exclude-newer-package" in commands[-1]
    stamp = json.loads((built.root / STAMP_NAME).read_text())
    assert stamp["dating"] == "its first pre-release 1.95.0.dev3 (2026-07-24)"
    assert stamp["dating_failures"] == [
        "its upload (2026-08-02): ImportError: cannot import name 'get_flat_dependant'"]


#: A later stretch of the index: patch releases without pre-releases of their own (1.95.1, 1.96.2),
#: a series begun after FastAPI's break (1.96, 31 July) and a compromised series in between.
SERIES_PAGE = {"files": DATED_PAGE["files"][:-1] + [
    {"filename": "litellm-1.94.0.dev3-py3-none-any.whl", "upload-time": "2026-07-17T02:57:17Z"},
    {"filename": "litellm-1.94.0.dev1-py3-none-any.whl", "upload-time": "2026-07-29T09:25:38Z"},  # re-uploaded
    {"filename": "litellm-1.95.1-py3-none-any.whl", "upload-time": "2026-08-09T02:32:35Z"},
    {"filename": "litellm-1.96.0.dev2-py3-none-any.whl", "upload-time": "2026-07-31T05:48:19Z"},
    {"filename": "litellm-1.96.0-py3-none-any.whl", "upload-time": "2026-08-09T01:36:56Z"},
    {"filename": "litellm-1.96.2-py3-none-any.whl", "upload-time": "2026-08-11T21:12:24Z"},
    {"filename": "litellm-1.97.0.dev1-py3-none-any.whl", "upload-time": "2026-08-05T02:57:20Z"},
    {"filename": "litellm-1.97.0-py3-none-any.whl", "upload-time": "2026-08-16T00:05:44Z"},
]}


def _labels(version: str, page: dict = SERIES_PAGE, **kw) -> list[str]:  # type: ignore[no-untyped-def]
    return [d.label for d in as_released_datings(version, fetch_simple=lambda _b, _t: page, **kw)]


def test_a_patch_release_without_pre_releases_is_dated_next_at_the_start_of_its_series() -> None:
    labels = _labels("1.95.1")
    assert labels[:2] == ["its upload (2026-08-09)", "the start of its series 1.95, 1.95.0.dev3 (2026-07-24)"]
    assert labels[2] == "the start of the series before, 1.94, 1.94.0.dev3 (2026-07-17)"  # not dev1's re-upload


def test_a_series_begun_after_the_break_borrows_the_start_of_the_series_before() -> None:
    assert _labels("1.96.2") == ["its upload (2026-08-11)", "the start of its series 1.96, 1.96.0.dev2 (2026-07-31)",
                                 "the start of the series before, 1.95, 1.95.0.dev3 (2026-07-24)",
                                 "the start of the series before, 1.94, 1.94.0.dev3 (2026-07-17)"]
    # its own first pre-release is also its series' start: tried once
    assert _labels("1.97.0")[:4] == ["its upload (2026-08-16)", "its first pre-release 1.97.0.dev1 (2026-08-05)",
                                     "the start of the series before, 1.96, 1.96.0.dev2 (2026-07-31)",
                                     "the start of the series before, 1.95, 1.95.0.dev3 (2026-07-24)"]


def test_every_dating_is_earlier_than_the_one_before_and_they_are_capped() -> None:
    datings = as_released_datings("1.97.0", fetch_simple=lambda _b, _t: SERIES_PAGE)
    cut_offs = [d.exclude_newer for d in datings]
    assert cut_offs == sorted(cut_offs, reverse=True) and len(set(cut_offs)) == len(cut_offs)
    # the release and its companions keep the upload's date in every earlier dating
    assert all(f"litellm={cut_offs[0]}" in d.uv_flags() for d in datings[1:])
    assert len(_labels("1.97.0", limit=2)) == 2


def test_a_compromised_series_lends_no_date() -> None:
    page = {"files": SERIES_PAGE["files"] + [
        {"filename": "litellm-1.107.0.dev1-py3-none-any.whl", "upload-time": "2026-07-20T00:00:00Z"},
        {"filename": "litellm-1.108.0-py3-none-any.whl", "upload-time": "2026-08-20T00:00:00Z"},
    ]}
    labels = _labels("1.108.0", page)
    assert not any("1.107" in label for label in labels)
    assert labels[1] == "the start of the series before, 1.97, 1.97.0.dev1 (2026-08-05)"


def test_the_start_of_a_series_is_its_first_upload() -> None:
    uploads = _earliest_uploads(SERIES_PAGE)
    assert series_start(uploads, (1, 96)) == ("1.96.0.dev2", datetime(2026, 7, 31, 5, 48, 19, tzinfo=timezone.utc))
    assert series_start(uploads, (1, 99)) is None


@pytest.mark.parametrize("why, helps", [
    ("ImportError: cannot import name 'get_flat_dependant' from 'fastapi.dependencies.utils' (/x/utils.py)", True),
    ("ModuleNotFoundError: No module named 'pkg_resources'", True),
    ("AttributeError: module 'httpx' has no attribute 'Proxy'", True),
    ("TypeError: something odd in a dependency", True),
    ("ModuleNotFoundError: No module named 'enterprise'", False),  # the release's own packaging
    ("ImportError: cannot import name 'x' from 'litellm.proxy.utils'", False),
    ("× No solution found when resolving dependencies:", False),  # earlier only has fewer versions
])
def test_earlier_datings_are_tried_only_for_failures_a_date_can_cure(why: str, helps: bool) -> None:
    assert earlier_dating_may_help(why) is helps


def test_a_failure_no_date_can_cure_stops_the_datings_after_one_build(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    datings = as_released_datings("1.97.0", fetch_simple=lambda _b, _t: SERIES_PAGE)
    built: list[str] = []

    def check_imports(environment, log) -> None:  # type: ignore[no-untyped-def]
        built.append(environment.exclude_newer)
        raise EnvironmentBuildError("the proxy does not import: ModuleNotFoundError: No module named 'enterprise'")

    _fake_build(monkeypatch, datings, check_imports)
    with pytest.raises(EnvironmentBuildError, match="an earlier date cannot cure") as raised:
        environment_build.ensure_environment("1.97.0", tmp_path, engine_env={}, deps="as-released")
    assert built == [datings[0].exclude_newer]
    assert "No module named 'enterprise'" in str(raised.value)


def test_the_walk_goes_on_until_a_dating_imports_and_records_every_failure(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    datings = as_released_datings("1.97.0", fetch_simple=lambda _b, _t: SERIES_PAGE)
    works_from = datings[3].exclude_newer  # the 1.95 series' start, before FastAPI's break

    def check_imports(environment, log) -> None:  # type: ignore[no-untyped-def]
        if environment.exclude_newer > works_from:
            raise EnvironmentBuildError("the proxy does not import: ImportError: cannot import name "
                                        "'get_flat_dependant' from 'fastapi.dependencies.utils' "
                                        "(/root/.cache/env/site-packages/fastapi/dependencies/utils.py)")

    _fake_build(monkeypatch, datings, check_imports)
    built = environment_build.ensure_environment("1.97.0", tmp_path, engine_env={}, deps="as-released")
    stamp = json.loads((built.root / STAMP_NAME).read_text())
    assert stamp["dating"] == "the start of the series before, 1.95, 1.95.0.dev3 (2026-07-24)"
    assert [line.split(":")[0] for line in stamp["dating_failures"]] == [
        "its upload (2026-08-16)", "its first pre-release 1.97.0.dev1 (2026-08-05)",
        "the start of the series before, 1.96, 1.96.0.dev2 (2026-07-31)"]
    assert stamp["dating_failures"][0].endswith("from 'fastapi.dependencies.utils'")  # no path of this machine


def _fake_build(monkeypatch, datings, check_imports) -> None:  # type: ignore[no-untyped-def]
    """Builds that run no tool: only the datings and the import check decide."""
    monkeypatch.setattr(environment_build, "as_released_datings", lambda version: datings)
    monkeypatch.setattr(environment_build, "check_proxy_imports", check_imports)
    monkeypatch.setattr(environment_build, "_uv", lambda: "uv")
    monkeypatch.setattr(environment_build, "_create_venv", lambda staging, log, site: (staging / "bin").mkdir(parents=True))
    monkeypatch.setattr(environment_build, "run_with_progress", lambda command, **kw: "")
    monkeypatch.setattr(environment_build, "_declared_requirements", lambda staging, site: [])
    monkeypatch.setattr(environment_build, "_installed_versions", lambda staging, site: {"litellm": "1.97.0", "prisma": "0.15.0"})
    monkeypatch.setattr(environment_build, "_prisma_generate", lambda *a, **k: None)


# --------------------------------------------------------------------------- specs


def test_a_spec_suffix_asks_for_dependencies_as_released_and_none_means_today() -> None:
    assert split_deps("litellm==1.95.0") == ("litellm==1.95.0", "today")
    assert split_deps("litellm==1.95.0@as-released") == ("litellm==1.95.0", "as-released")
    assert split_deps("docker:ghcr.io/berriai/litellm@sha256:abc") == ("docker:ghcr.io/berriai/litellm@sha256:abc",
                                                                       "today")
    assert with_deps("litellm==1.95.0", "today") == "litellm==1.95.0"  # the default spec is unchanged
    assert with_deps("latest", "as-released") == "latest@as-released"
    with pytest.raises(ReleaseError, match="unknown dependency mode"):
        split_deps("litellm==1.95.0@yesterday")
    with pytest.raises(TargetError, match="local target only"):
        make_target("docker:litellm==1.95.0@as-released", lambda _m: None)
    target = make_target("litellm==1.95.0@as-released", lambda _m: None)
    assert (target.version_spec, target.deps) == ("litellm==1.95.0", "as-released")  # type: ignore[attr-defined]
    assert "deps as-released" in target.label  # type: ignore[attr-defined]


def test_the_results_document_names_the_mode() -> None:
    assert RunResult.new("litellm==1.95.0@as-released").deps == "as-released"
    assert RunResult.new("litellm==1.95.0").deps == "today"
    assert RunResult.new("docker:litellm==1.95.0").deps is None
    old = json.loads(RunResult.new("litellm==1.82.3").to_json())
    del old["deps"], old["deps_fallback"]
    assert RunResult.model_validate(old).deps is None  # older documents still load


# --------------------------------------------------------------------------- install and cache


def test_the_uv_command_line_in_each_mode() -> None:
    python = Path("/env/bin/python")
    today = uv_pip_install_command("uv", python, ["litellm[proxy]==1.95.0"], compile_bytecode=True)
    assert today == ["uv", "pip", "install", "--compile-bytecode", "--python", "/env/bin/python",
                     "litellm[proxy]==1.95.0"]
    released = uv_pip_install_command("uv", python, ["litellm[proxy]==1.95.0", "prisma<1.0,>=0.11.0"],
                                      compile_bytecode=True, exclude_newer="2026-08-03T02:52:49Z")
    assert released == ["uv", "pip", "install", "--compile-bytecode", "--exclude-newer", "2026-08-03T02:52:49Z",
                        "--python", "/env/bin/python", "litellm[proxy]==1.95.0", "prisma<1.0,>=0.11.0"]


def test_an_as_released_build_passes_the_cut_off_to_every_install(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    commands: list[list[str]] = []
    monkeypatch.setattr(environment_build, "as_released_datings",
                        lambda version: [Dating("2026-08-03T02:52:49Z", "its upload (2026-08-02)")])
    monkeypatch.setattr(environment_build, "check_proxy_imports", lambda environment, log: None)
    monkeypatch.setattr(environment_build, "_uv", lambda: "uv")
    monkeypatch.setattr(environment_build, "_create_venv", lambda staging, log, site: (staging / "bin").mkdir(parents=True))
    monkeypatch.setattr(environment_build, "run_with_progress", lambda command, **kw: commands.append(list(command)) or "")
    monkeypatch.setattr(environment_build, "_declared_requirements", lambda staging, site: ["prisma (>=0.11.0,<1.0)"])
    monkeypatch.setattr(environment_build, "_installed_versions", lambda staging, site: {"litellm": "1.95.0", "prisma": "0.15.0"})
    monkeypatch.setattr(environment_build, "_prisma_generate", lambda *a, **k: None)
    built = environment_build.ensure_environment("1.95.0", tmp_path, engine_env={}, deps="as-released")
    installs = [c for c in commands if c[:3] == ["uv", "pip", "install"]]
    assert len(installs) == 2 and all("--exclude-newer" in c and "2026-08-03T02:52:49Z" in c for c in installs)
    assert built.root.name == environment_name("1.95.0", "as-released")
    stamp = json.loads((built.root / STAMP_NAME).read_text())
    assert (stamp["deps"], stamp["exclude_newer"]) == ("as-released", "2026-08-03T02:52:49Z")
    assert stamp["dating"] == "its upload (2026-08-02)"


def _stamp(root: Path, version: str, deps: str | None) -> None:
    (root / "bin").mkdir(parents=True)
    (root / "bin" / "python").touch()
    stamp = {"litellm_version": version, "prisma_version": "0.15.0", "recipe_revision": environments.RECIPE_REVISION}
    if deps is not None:
        stamp.update(deps=deps, exclude_newer="2026-08-03T02:52:49Z" if deps == "as-released" else None)
    (root / STAMP_NAME).write_text(json.dumps(stamp))


def test_each_mode_has_its_own_folder_and_cache_list_shows_it(tmp_path: Path) -> None:
    assert environment_name("1.95.0") != environment_name("1.95.0", "as-released")
    assert environment_name("1.95.0", "as-released").endswith("-as-released")
    _stamp(tmp_path / "envs" / environment_name("1.95.0", "as-released"), "1.95.0", "as-released")
    assert find_complete_environment(tmp_path, "1.95.0") is None  # today's is not built
    found = find_complete_environment(tmp_path, "1.95.0", "as-released")
    assert found is not None and found.exclude_newer == "2026-08-03T02:52:49Z"
    _stamp(tmp_path / "envs" / environment_name("1.82.3"), "1.82.3", None)  # a stamp from before the modes
    assert find_complete_environment(tmp_path, "1.82.3") is not None
    listed = {env.version: env for env in list_environments(tmp_path)}
    assert (listed["1.95.0"].deps, listed["1.95.0"].exclude_newer, listed["1.95.0"].stale) == (
        "as-released", "2026-08-03T02:52:49Z", False)
    assert (listed["1.82.3"].deps, listed["1.82.3"].stale) == ("today", False)


# --------------------------------------------------------------------------- the retry decision


def _run(version: str, failure: tuple[str, NotRunReason] | None, verdict_outcome: str = "pass") -> ReleaseRun:
    """A release run of one scenario; `failure`: why it could not run (the runner's text and reason)."""
    error, reason = failure if failure is not None else (None, None)
    result = RunResult.new(target=f"litellm=={version}")
    result.scenarios.append(ScenarioResult(id="s", title="s", error=error, error_reason=reason))
    return ReleaseRun(version, result, 10.0)


BOOT_ERROR = (
    "target did not start: litellm==1.95.0 (local): the proxy exited with code 1. Last 40 lines of the proxy log:\n"
    "Traceback (most recent call last):\n"
    "ImportError: cannot import name 'get_flat_dependant' from 'fastapi.dependencies.utils'\n"
    "ModuleNotFoundError: No module named 'proxy_server'"
)
BOOT_FAILURE = (BOOT_ERROR, NotRunReason.TARGET_NOT_STARTED)
PROVISIONING_FAILURE = ("provisioning failed: 500", NotRunReason.PROVISIONING_FAILED)


def test_only_a_release_that_did_not_start_is_retried() -> None:
    assert did_not_start(_run("1.95.0", BOOT_FAILURE).result) == (
        "ImportError: cannot import name 'get_flat_dependant' from 'fastapi.dependencies.utils'")
    assert did_not_start(_run("1.95.0", None).result) is None
    assert did_not_start(_run("1.95.0", ("provisioning failed: 400 from /team/new",
                                         NotRunReason.PROVISIONING_FAILED)).result) is None


@pytest.mark.parametrize("first_error, expected_modes, final", [
    (BOOT_FAILURE, ["today", "as-released"], "as-released"),
    (None, ["today"], "today"),
    (PROVISIONING_FAILURE, ["today"], "today"),
])
def test_auto_retries_once_as_released(first_error, expected_modes, final) -> None:  # type: ignore[no-untyped-def]
    modes: list[str] = []
    logged: list[str] = []

    def attempt(mode: str) -> ReleaseRun:
        modes.append(mode)
        return _run("1.95.0", first_error if mode == "today" else None)

    run = run_with_deps("1.95.0", "auto", attempt, as_lines(logged.append))
    assert modes == expected_modes and run.deps == final
    if final == "as-released":
        assert run.deps_fallback and "get_flat_dependant" in run.deps_fallback
        assert run.result.deps_fallback and run.elapsed_s == 20.0
        assert any("retrying once with dependencies as released" in line for line in logged)
    else:
        assert run.deps_fallback is None


def test_explicit_modes_never_retry() -> None:
    for mode in ("today", "as-released"):
        modes: list[str] = []
        run = run_with_deps("1.95.0", mode, lambda m: modes.append(m) or _run("1.95.0", BOOT_FAILURE), ignore)
        assert modes == [mode] and run.deps == mode
    with pytest.raises(ValueError):
        run_with_deps("1.95.0", "yesterday", lambda m: _run("1.95.0", None), ignore)


def test_the_matrix_column_and_bisect_say_which_dependencies(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from harness.model.matrix import build_matrix

    run = _run("1.95.0", None)
    run.result.deps, run.result.deps_fallback = "as-released", "today's dependencies did not start: ImportError"
    column = build_matrix(["1.95.0"], {"1.95.0": run.result}).releases["1.95.0"]
    assert (column.deps, column.deps_fallback) == ("as-released", "today's dependencies did not start: ImportError")
    assert release_run.RELEASE_DEPS_MODES == ("auto", "today", "as-released")
