"""What the package index serves of LiteLLM: its releases, yanked files and upload times.

Read through the JSON form of the simple repository API (PEP 691/700), which any PyPI mirror
serves, on the index uv installs from (`index_url`). Upload times pin dependencies as they
were when a release was published (`as_released_exclude_newer`, for `@as-released`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Callable, Iterable

import httpx
from packaging.version import InvalidVersion, Version

from harness.gateways.litellm.releases import (
    AS_RELEASED_MARGIN,
    PACKAGE,
    installable_candidates,
    is_compromised,
    refuse_compromised,
)
from harness.targets.errors import IndexUnreachableError, ReleaseError

PYPI_SIMPLE = "https://pypi.org/simple"


def index_url() -> str:
    """The package index uv will use: the user's configured one, else PyPI."""
    for variable in ("UV_DEFAULT_INDEX", "UV_INDEX_URL", "PIP_INDEX_URL"):
        if os.environ.get(variable):
            return os.environ[variable].rstrip("/")
    return PYPI_SIMPLE


def _simple_index_document(index: str | None = None, timeout_s: float = 30.0, package: str = PACKAGE,
                           missing_ok: bool = False) -> dict | None:
    """`package`'s page (litellm's by default) of the JSON simple repository API (PEP 691/700) on the
    configured index; None when the index has no such package and `missing_ok`."""
    url = f"{index or index_url()}/{package}/"
    try:
        response = httpx.get(
            url,
            headers={"Accept": "application/vnd.pypi.simple.v1+json"},
            timeout=timeout_s,
            follow_redirects=True,
        )
        if missing_ok and response.status_code == 404:
            return None
        response.raise_for_status()
        payload = response.json()
    except (httpx.HTTPError, ValueError) as error:
        raise IndexUnreachableError(f"could not list {package} releases from {url}: {error}") from error
    return payload if isinstance(payload, dict) else {}


def served_versions(package: str, index: str | None = None, timeout_s: float = 30.0,
                    uploaded_before: datetime | None = None) -> list[Version] | None:
    """Versions of `package` the index serves (not yanked), oldest first; None when it has no such package.

    `uploaded_before` keeps only files uploaded before then (what `uv --exclude-newer` would see).
    Raises `IndexUnreachableError` when the index cannot be asked.
    """
    payload = _simple_index_document(index, timeout_s, package, missing_ok=True)
    if payload is None:
        return None
    files = [file for file in payload.get("files", []) if isinstance(file, dict)]
    live: set[Version] = set()
    for file in files:
        version = _version_of_filename(str(file.get("filename", "")))
        uploaded = _parse_time(file.get("upload-time"))
        if version is None or file.get("yanked"):
            continue
        if uploaded_before is not None and uploaded is not None and uploaded >= uploaded_before:
            continue
        try:
            live.add(Version(version))
        except InvalidVersion:
            continue
    return sorted(live)


def list_published_versions(
    index: str | None = None, timeout_s: float = 30.0, include_prereleases: bool = False
) -> list[Version]:
    """Final releases of litellm the index serves (not yanked, not compromised), newest first.

    Uses the JSON form of the simple repository API (PEP 691/700), which any PyPI mirror serves.
    `include_prereleases` also keeps rc/beta/dev builds (the release list offers them on request).
    """
    payload = _simple_index_document(index, timeout_s) or {}
    return installable_candidates(
        payload.get("versions", []), _yanked_versions(payload.get("files", [])), include_prereleases
    )


# --------------------------------------------------------------------------- dependencies as released


def upload_time_from_simple(payload: dict, version: str) -> datetime | None:
    """When `version` was published, from a simple-API JSON page: its newest file's `upload-time`.

    The newest file, not the first: wheels of one release are uploaded over a few minutes, and
    the resolve must see the release itself. None when the index gives no upload times (PEP 700
    makes them optional for mirrors) or has no file of `version`.
    """
    times = [
        _parse_time(file.get("upload-time"))
        for file in payload.get("files", [])
        if isinstance(file, dict) and _version_of_filename(file.get("filename", "")) == version
    ]
    known = [t for t in times if t is not None]
    return max(known) if known else None


def upload_time_from_json_api(payload: dict) -> datetime | None:
    """When a release was published, from PyPI's JSON API (`/pypi/litellm/<v>/json`): `urls[]`."""
    times = [
        _parse_time(file.get("upload_time_iso_8601") or file.get("upload_time"))
        for file in payload.get("urls", [])
        if isinstance(file, dict)
    ]
    known = [t for t in times if t is not None]
    return max(known) if known else None


def _parse_time(text: object) -> datetime | None:
    if not isinstance(text, str) or not text:
        return None
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def exclude_newer_for(upload_time: datetime, margin: timedelta = AS_RELEASED_MARGIN) -> str:
    """The `uv --exclude-newer` value for a release uploaded at `upload_time` (RFC 3339, UTC)."""
    return (upload_time + margin).astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def release_upload_time(
    version: str,
    index: str | None = None,
    timeout_s: float = 30.0,
    fetch_simple: Callable[[str, float], dict] | None = None,
    fetch_json: Callable[[str, float], dict] | None = None,
) -> datetime:
    """When litellm `version` was uploaded to the configured index (the same index uv installs from).

    The simple API's `upload-time` (PyPI and most mirrors serve it); else the Warehouse JSON API
    next to the index (`<host>/pypi/litellm/<v>/json`). Raises `ReleaseError` when neither says.
    """
    refuse_compromised(version)
    base = (index or index_url()).rstrip("/")
    simple = (fetch_simple or (lambda b, t: _simple_index_document(b, t) or {}))(base, timeout_s)
    found = upload_time_from_simple(simple, version)
    if found is not None:
        return found
    json_url = f"{base.removesuffix('/simple')}/pypi/{PACKAGE}/{version}/json"
    try:
        payload = (fetch_json or _fetch_json)(json_url, timeout_s)
    except (httpx.HTTPError, ValueError) as error:
        raise ReleaseError(
            f"when was {PACKAGE} {version} released? {base} gives no upload time and {json_url} failed: {error}"
        ) from error
    found = upload_time_from_json_api(payload)
    if found is None:
        raise ReleaseError(f"when was {PACKAGE} {version} released? neither {base} nor {json_url} says")
    return found


def _fetch_json(url: str, timeout_s: float) -> dict:
    response = httpx.get(url, timeout=timeout_s, follow_redirects=True)
    response.raise_for_status()
    payload = response.json()
    return payload if isinstance(payload, dict) else {}


def as_released_exclude_newer(version: str, index: str | None = None) -> str:
    """The `--exclude-newer` timestamp that resolves `version`'s dependencies as of its release."""
    return exclude_newer_for(release_upload_time(version, index))


#: The release's own packages: published with it, so never dated earlier than its upload.
RELEASE_FAMILY = (PACKAGE, "litellm-proxy", "litellm-proxy-extras", "litellm-enterprise")


@dataclass(frozen=True)
class Dating:
    """One way to date a release's dependencies: a uv `--exclude-newer` cut-off and what it is."""

    exclude_newer: str
    #: e.g. `its upload (2026-08-02)` or `its first pre-release 1.95.0.dev3 (2026-07-24)`
    label: str
    #: (package, cut-off) for packages dated otherwise (the release's own, at its upload)
    packages: tuple[tuple[str, str], ...] = ()

    def uv_flags(self) -> list[str]:
        """`--exclude-newer …` and one `--exclude-newer-package name=…` per package dated otherwise."""
        flags = ["--exclude-newer", self.exclude_newer]
        for package, cutoff in self.packages:
            flags += ["--exclude-newer-package", f"{package}={cutoff}"]
        return flags


#: At most this many datings are tried (the upload's and earlier ones): each costs a build (~1 min).
MAX_DATINGS = 5


def as_released_datings(version: str, index: str | None = None,
                        fetch_simple: Callable[[str, float], dict] | None = None,
                        limit: int = MAX_DATINGS) -> list[Dating]:
    """The datings to try for `version`'s dependencies, in order, each earlier than the one before.

    1. its upload; 2. its own first pre-release; 3. the start of its series (the first upload of
    any `X.Y.*`, e.g. `1.95.0.dev3` for 1.95.1); 4. the start of each earlier series, newest first.

    A release is often uploaded days after its series began; a dependency that broke it in
    between (FastAPI dropped a helper 1.95.x-1.97.x import on 27 July; 1.95.0 came out on
    2 August, its first pre-release on 24 July) is then still absent at the earlier date. A patch
    release (1.95.1) has no pre-release of its own, so its series' start is the next date; a series
    begun after the break (1.96, 31 July) borrows the date of the one before it, whose code the
    release grew from. A dating no earlier than the last one tried is skipped; `limit` caps them.
    The release itself and its companions keep the upload's date in every dating.
    """
    upload = release_upload_time(version, index, fetch_simple=fetch_simple)
    datings = [Dating(exclude_newer_for(upload), f"its upload ({upload:%Y-%m-%d})")]
    base = (index or index_url()).rstrip("/")
    simple = (fetch_simple or (lambda b, t: _simple_index_document(b, t) or {}))(base, 30.0)
    # the release itself (and its companions) came out at its upload: they keep that date
    own = tuple((package, datings[0].exclude_newer) for package in RELEASE_FAMILY)
    latest = upload
    for label, (name, when) in _earlier_starts(simple, version):
        if len(datings) >= limit:
            break
        if when >= latest:
            continue
        datings.append(Dating(exclude_newer_for(when), f"{label} {name} ({when:%Y-%m-%d})", own))
        latest = when
    return datings


def _earlier_starts(payload: dict, version: str) -> Iterable[tuple[str, tuple[str, datetime]]]:
    """(what it is, (version, upload time)) of the dates before the upload worth trying, in order."""
    first = first_prerelease_upload(payload, version)
    if first is not None:
        yield "its first pre-release", first
    # the release's own files are its upload, not an earlier date; compromised releases are not
    # even borrowed a date from (nothing of theirs is installed either way, but no report names them)
    uploads = {v: when for v, when in _earliest_uploads(payload).items()
               if v != Version(version) and not is_compromised(v)}
    series = Version(version).release[:2]
    own_start = series_start(uploads, series)
    if own_start is not None:
        yield f"the start of its series {_series_name(series)},", own_start
    earlier = sorted({v.release[:2] for v in uploads if v.release[:2] < series}, reverse=True)
    for previous in earlier:
        start = series_start(uploads, previous)
        if start is not None:
            yield f"the start of the series before, {_series_name(previous)},", start


def _series_name(series: tuple[int, ...]) -> str:
    return ".".join(str(part) for part in series)


def _earliest_uploads(payload: dict) -> dict[Version, datetime]:
    """Every version on a simple-API page with its earliest file's upload time (files without times left out)."""
    earliest: dict[Version, datetime] = {}
    for file in payload.get("files", []):
        if not isinstance(file, dict):
            continue
        name = _version_of_filename(str(file.get("filename", "")))
        uploaded = _parse_time(file.get("upload-time"))
        if name is None or uploaded is None:
            continue
        try:
            candidate = Version(name)
        except InvalidVersion:
            continue
        earliest[candidate] = min(uploaded, earliest.get(candidate, uploaded))
    return earliest


def series_start(uploads: dict[Version, datetime], series: tuple[int, ...]) -> tuple[str, datetime] | None:
    """(version, upload time) of the first upload of any release of `series` (`(1, 95)`: 1.95.*), if any.

    Pre-releases count (a series usually begins with one); the earliest upload wins, so a
    pre-release re-uploaded later does not move the start.
    """
    found = [(when, str(v)) for v, when in uploads.items() if v.release[:2] == series]
    if not found:
        return None
    when, name = min(found)
    return name, when


def first_prerelease_upload(payload: dict, version: str) -> tuple[str, datetime] | None:
    """(pre-release, upload time) of the earliest uploaded pre-release of `version`'s release, if any."""
    release = Version(version).release
    found = [(when, str(v)) for v, when in _earliest_uploads(payload).items()
             if v.release == release and (v.is_prerelease or v.is_devrelease)]
    if not found:
        return None
    when, name = min(found)
    return name, when


def _yanked_versions(files: Iterable[dict]) -> set[str]:
    """Versions whose every file is yanked (a version with one live file is still served)."""
    live: set[str] = set()
    yanked: set[str] = set()
    for file in files:
        version = _version_of_filename(file.get("filename", ""))
        if version is None:
            continue
        (yanked if file.get("yanked") else live).add(version)
    return yanked - live


def _version_of_filename(filename: str) -> str | None:
    """`litellm-1.82.3-py3-none-any.whl` / `litellm-1.82.3.tar.gz` → `1.82.3`."""
    stem = filename.removesuffix(".tar.gz").removesuffix(".zip").removesuffix(".whl")
    parts = stem.split("-")
    return parts[1] if len(parts) >= 2 else None
