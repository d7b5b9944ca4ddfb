"""Which LiteLLM release a target spec means, and which releases must never be touched.

A spec is `litellm==1.82.3`, `1.82.3` or `latest`. Two facts shape this module:

- Some releases were compromised (1.82.7 and 1.82.8 shipped a credential stealer that runs from a
  `.pth` file at every Python start; 1.107.x was withdrawn for the same reason). A mirror or cache
  may still serve them, so they are refused by version *before* anything is downloaded.
- Listed is not installable: PyPI lists releases whose `litellm[proxy]` pins companion packages
  PyPI does not serve. `latest` therefore means the newest release that actually resolves, found
  by trying candidates newest-first with a uv dry-run resolve; the answer is cached for a day.
"""

from __future__ import annotations

import functools
import json
import os
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable, Iterable

import httpx
from filelock import FileLock
from packaging.version import InvalidVersion, Version

from harness.targets.errors import CompromisedReleaseError, IndexUnreachableError, ReleaseError

PACKAGE = "litellm"
LATEST = "latest"
PYPI_SIMPLE = "https://pypi.org/simple"

#: Exact releases known to be malicious (any pre/post/dev build of them included).
COMPROMISED_RELEASES: frozenset[tuple[int, int, int]] = frozenset({(1, 82, 7), (1, 82, 8)})
#: Whole minor series known to be malicious: every 1.107.x.
COMPROMISED_SERIES: frozenset[tuple[int, int]] = frozenset({(1, 107)})

#: The oldest release the local target can run. It builds the database from the SQL migrations of
#: `litellm-proxy-extras` (Prisma's schema engine cannot be downloaded here); `litellm[proxy]`
#: first depends on that package in 1.65.1 (0.1.1, with migrations): 1.65.0 and 1.65.0.post1 do
#: not. 1.65.1 was checked to start and enforce a key's models on the local target.
LOCAL_TARGET_MINIMUM = "1.65.1"

#: Dependency modes of an environment. `today`: what a plain `pip install` resolves today (the
#: default: users gate what they would install). `as-released`: every package as it was when the
#: release was published (uv `--exclude-newer` at its upload time plus a margin), for releases
#: whose unpinned dependencies have since moved on (1.95.0 imports a FastAPI helper that today's
#: FastAPI no longer has). A target spec asks for it with a suffix: `litellm==1.95.0@as-released`.
DEPS_TODAY = "today"
DEPS_AS_RELEASED = "as-released"
DEPS_MODES = (DEPS_TODAY, DEPS_AS_RELEASED)
#: Added to the release's upload time: companion packages published the same day
#: (`litellm-proxy-extras`, `litellm-enterprise`) come a little after the release itself.
AS_RELEASED_MARGIN = timedelta(days=1)

LATEST_CACHE_TTL_S = 24 * 3600
#: How many candidates `latest` tries before giving up, and how many resolves run at once.
MAX_LATEST_CANDIDATES = 48
PARALLEL_RESOLVES = 6

Log = Callable[[str], None]


def _no_log(_message: str) -> None:
    pass


def parse_version_spec(spec: str) -> str:
    """Normalise a target spec to a version string, or `"latest"`.

    Accepts `litellm==1.82.3`, `1.82.3`, `v1.82.3`, `latest`, `litellm==latest`, `litellm`.
    Raises `ReleaseError` for anything else (ranges, other packages, garbage) and
    `CompromisedReleaseError` for a compromised release.
    """
    text = spec.strip()
    if text.lower() in (LATEST, PACKAGE):
        return LATEST
    if "==" in text:
        name, _, text = text.partition("==")
        if name.strip().lower() != PACKAGE:
            raise ReleaseError(f"target spec {spec!r}: only {PACKAGE} is supported, got {name.strip()!r}")
        text = text.strip()
        if text.lower() == LATEST:
            return LATEST
    elif any(op in text for op in ("<", ">", "~", "!", "=", ",", "*")):
        raise ReleaseError(
            f"target spec {spec!r}: give one exact version (e.g. litellm==1.82.3) or 'latest', not a range"
        )
    try:
        version = Version(text)
    except InvalidVersion:
        raise ReleaseError(
            f"target spec {spec!r} is not a version: use e.g. 'litellm==1.82.3', '1.82.3' or 'latest'"
        ) from None
    refuse_compromised(version)
    return str(version)


def split_deps(spec: str) -> tuple[str, str]:
    """`litellm==1.95.0@as-released` → (`litellm==1.95.0`, `as-released`); no suffix means `today`."""
    text = spec.strip()
    base, sep, mode = text.rpartition("@")
    if not sep or ":" in mode or "/" in mode:  # no suffix, or an image digest (`image@sha256:…`)
        return text, DEPS_TODAY
    mode = mode.strip().lower()
    if mode not in DEPS_MODES and text.startswith(("docker:", "url:", "http://", "https://")):
        return text, DEPS_TODAY  # an `@` of an image reference or a URL, not a dependency mode
    if mode not in DEPS_MODES:
        raise ReleaseError(
            f"target spec {spec!r}: unknown dependency mode {mode!r} after '@' (use {' or '.join(DEPS_MODES)})"
        )
    return base.strip(), mode


def with_deps(spec: str, deps: str) -> str:
    """The spec asking for `deps`: `today` leaves it as written, `as-released` adds `@as-released`."""
    if deps not in DEPS_MODES:
        raise ReleaseError(f"unknown dependency mode {deps!r} (use {' or '.join(DEPS_MODES)})")
    base, current = split_deps(spec)
    if current != DEPS_TODAY and current != deps:
        raise ReleaseError(f"target spec {spec!r} already asks for dependencies {current}, not {deps}")
    return base if deps == DEPS_TODAY else f"{base}@{deps}"


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


def refuse_too_old_for_local(version: str | Version) -> None:
    """Raise `ReleaseError` for a release older than the local target can run (no network needed)."""
    if Version(str(version)) < Version(LOCAL_TARGET_MINIMUM):
        raise ReleaseError(
            f"litellm {version} is older than the local target can run: releases before {LOCAL_TARGET_MINIMUM} "
            "ship no SQL migrations (litellm-proxy-extras), and their schema would need Prisma's schema "
            f"engine, which cannot be downloaded here. Use a release from {LOCAL_TARGET_MINIMUM} on, or the "
            "Docker target with LiteLLM's official image of it, which creates its schema itself "
            f"(--target docker:litellm=={version}, where that image is published)."
        )


def index_url() -> str:
    """The package index uv will use: the user's configured one, else PyPI."""
    for variable in ("UV_DEFAULT_INDEX", "UV_INDEX_URL", "PIP_INDEX_URL"):
        if os.environ.get(variable):
            return os.environ[variable].rstrip("/")
    return PYPI_SIMPLE


def _simple_index_document(index: str | None = None, timeout_s: float = 30.0) -> dict:
    """litellm's page of the JSON simple repository API (PEP 691/700) on the configured index."""
    url = f"{index or index_url()}/{PACKAGE}/"
    try:
        response = httpx.get(
            url,
            headers={"Accept": "application/vnd.pypi.simple.v1+json"},
            timeout=timeout_s,
            follow_redirects=True,
        )
        response.raise_for_status()
        payload = response.json()
    except (httpx.HTTPError, ValueError) as error:
        raise IndexUnreachableError(f"could not list {PACKAGE} releases from {url}: {error}") from error
    return payload if isinstance(payload, dict) else {}


def list_published_versions(
    index: str | None = None, timeout_s: float = 30.0, include_prereleases: bool = False
) -> list[Version]:
    """Final releases of litellm the index serves (not yanked, not compromised), newest first.

    Uses the JSON form of the simple repository API (PEP 691/700), which any PyPI mirror serves.
    `include_prereleases` also keeps rc/beta/dev builds (the release list offers them on request).
    """
    payload = _simple_index_document(index, timeout_s)
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
    simple = (fetch_simple or (lambda b, t: _simple_index_document(b, t)))(base, timeout_s)
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


@dataclass(frozen=True)
class ResolveResult:
    """Outcome of a dry-run resolve of `litellm[proxy]==version`."""

    version: str
    installable: bool
    reason: str  # last lines of uv's explanation when not installable


@functools.cache
def uv_binary() -> str:
    """The uv executable of the `uv` PyPI package (looked up once: the lookup is not thread-safe)."""
    from uv import find_uv_bin

    return find_uv_bin()


def dry_run_resolve(version: str, python_version: str | None = None, timeout_s: float = 300.0) -> ResolveResult:
    """Ask uv whether `litellm[proxy]==version` resolves, without installing anything."""
    refuse_compromised(version)
    python_version = python_version or f"{sys.version_info.major}.{sys.version_info.minor}"
    command = [
        uv_binary(), "pip", "compile", "--quiet", "--no-header",
        "--python-version", python_version, "-",
    ]
    proc = subprocess.run(
        command,
        input=f"{PACKAGE}[proxy]=={version}\n",
        capture_output=True,
        text=True,
        timeout=timeout_s,
        env={**os.environ, "UV_PYTHON_DOWNLOADS": "never"},
    )
    return ResolveResult(version, proc.returncode == 0, "" if proc.returncode == 0 else short_reason(proc.stderr))


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


@dataclass(frozen=True)
class LatestAnswer:
    """What `latest` means now, and why it is not the newest number listed."""

    version: str
    #: newer listed releases that were tried and do not install, newest first: version → why
    passed_over: dict[str, str] = field(default_factory=dict)
    resolved_at: float = 0.0
    #: the index could not be reached: this is the last known answer, however old
    stale: bool = False

    def lines(self) -> list[str]:
        """How the answer is told to the user: the version, then each release passed over and why."""
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(self.resolved_at)) if self.resolved_at else "earlier"
        stale = f" (the index could not be reached: last known answer, from {when})" if self.stale else ""
        if self.stale and not self.passed_over:
            return [f"'latest' = litellm {self.version}{stale}"]
        if not self.passed_over:
            return [f"'latest' = litellm {self.version}, the newest release listed (it installs as published)"]
        lines = [f"'latest' = litellm {self.version}, the newest release that installs as published{stale}; "
                 f"passed over {len(self.passed_over)} newer release(s) that do not:"]
        lines += [f"  {version}: {why}" for version, why in self.passed_over.items()]
        return lines


def resolve_latest(
    cache_root: Path,
    log: Log | None = None,
    resolve: Callable[[str], ResolveResult] | None = None,
    list_versions: Callable[[], list[Version]] | None = None,
    now: Callable[[], float] = time.time,
) -> str:
    """The newest litellm release whose `litellm[proxy]` installs, cached for a day (see `resolve_latest_answer`)."""
    return resolve_latest_answer(cache_root, log, resolve, list_versions, now).version


def resolve_latest_answer(
    cache_root: Path,
    log: Log | None = None,
    resolve: Callable[[str], ResolveResult] | None = None,
    list_versions: Callable[[], list[Version]] | None = None,
    now: Callable[[], float] = time.time,
) -> LatestAnswer:
    """The newest litellm release whose `litellm[proxy]` installs, and the newer ones passed over.

    Candidates are tried newest-first, a few at a time in parallel (each try is a ~1 s uv
    resolve and often a dozen recent releases pin companions PyPI does not serve). The answer
    and the reasons are cached for a day. The index is asked before anything is written, so an
    unreachable index with no earlier answer leaves nothing behind (no lock file, no folder).
    `resolve` and `list_versions` default to the uv dry-run and the index (looked up when called).
    """
    log = log or _no_log
    resolve = resolve or dry_run_resolve
    list_versions = list_versions or list_published_versions
    cache_file = cache_root / "latest-litellm.json"
    cached = _read_latest_cache(cache_file, now())
    if cached is not None:
        return cached
    started = time.monotonic()
    log("resolving 'latest': listing litellm releases …")
    try:
        listed = list_versions()
    except ReleaseError as error:
        stale = _read_latest_cache(cache_file, now(), max_age_s=float("inf"), need_reasons=False)
        if stale is None:
            raise
        log(f"{error}; using the last known 'latest' = litellm {stale.version}")
        return LatestAnswer(stale.version, stale.passed_over, stale.resolved_at, stale=True)
    cache_root.mkdir(parents=True, exist_ok=True)
    with FileLock(str(cache_file) + ".lock"):
        cached = _read_latest_cache(cache_file, now())  # another process may have resolved it meanwhile
        if cached is not None:
            return cached
        candidates = [str(v) for v in listed[:MAX_LATEST_CANDIDATES]]
        if resolve is dry_run_resolve:
            uv_binary()  # before the threads start
        skipped: dict[str, str] = {}
        for batch_start in range(0, len(candidates), PARALLEL_RESOLVES):
            batch = candidates[batch_start : batch_start + PARALLEL_RESOLVES]
            with ThreadPoolExecutor(max_workers=len(batch)) as pool:
                results = list(pool.map(resolve, batch))  # keeps newest-first order
            for result in results:
                if result.installable:
                    answer = LatestAnswer(result.version, dict(skipped), now())
                    _write_latest_cache(cache_file, answer)
                    log(f"'latest' = litellm {result.version} ({time.monotonic() - started:.1f} s)")
                    return answer
                skipped[result.version] = result.reason
                log(f"litellm {result.version} is listed but does not install as published ({result.reason}); skipping")
    tried = ", ".join(skipped) or "none"
    raise ReleaseError(f"no installable litellm release among the newest {len(candidates)} (tried: {tried})")


def _read_latest_cache(
    cache_file: Path, now: float, max_age_s: float = LATEST_CACHE_TTL_S, need_reasons: bool = True
) -> LatestAnswer | None:
    """The cached answer if young enough; one written before reasons were kept counts as absent."""
    try:
        data = json.loads(cache_file.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or now - float(data.get("resolved_at", 0)) > max_age_s:
        return None
    version = data.get("version")
    if not isinstance(version, str) or is_compromised(version):
        return None
    skipped = data.get("skipped")
    if not isinstance(skipped, dict):
        if need_reasons:
            return None
        skipped = {}
    return LatestAnswer(version, {str(k): str(v) for k, v in skipped.items()}, float(data.get("resolved_at", 0)))


def _write_latest_cache(cache_file: Path, answer: LatestAnswer) -> None:
    payload = {"version": answer.version, "resolved_at": answer.resolved_at, "skipped": answer.passed_over}
    temporary = cache_file.with_suffix(".tmp")
    temporary.write_text(json.dumps(payload, indent=2))
    temporary.replace(cache_file)


def resolve_version(spec: str, cache_root: Path, log: Log | None = None) -> str:
    """The exact litellm version a target spec means (`latest` resolved to an installable one).

    Compromised releases are refused here, before any download.
    """
    parsed = parse_version_spec(spec)
    if parsed == LATEST:
        return resolve_latest(cache_root, log)
    return parsed
