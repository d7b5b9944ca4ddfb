"""What `latest` means for LiteLLM: the newest release whose `litellm[proxy]` installs as published.

PyPI lists releases whose `litellm[proxy]` pins companion packages PyPI does not serve, so the
newest number listed is not always installable. Candidates are tried newest-first with a uv
dry-run resolve (a few at a time); the answer, and why newer releases were passed over, is
cached for a day.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from filelock import FileLock
from packaging.version import Version

from harness.common.log import Log
from harness.gateways.litellm.package_index import list_published_versions
from harness.gateways.litellm.releases import (
    LATEST,
    NEWEST,
    PACKAGE,
    is_compromised,
    parse_version_spec,
    refuse_compromised,
    short_reason,
)
from harness.targets.errors import ReleaseError

LATEST_CACHE_TTL_S = 24 * 3600
#: How many candidates `latest` tries before giving up, and how many resolves run at once.
MAX_LATEST_CANDIDATES = 48
PARALLEL_RESOLVES = 6


def _no_log(_message: str) -> None:
    pass


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


def resolve_version(spec: str, cache_root: Path, log: Log | None = None,
                    newest: Callable[[], str] | None = None) -> str:
    """The exact litellm version a target spec means (`latest` resolved to an installable one,
    `newest` to the newest listed, by `newest()`: `release_list.newest_release`).

    Compromised releases are refused here, before any download.
    """
    parsed = parse_version_spec(spec)
    if parsed == LATEST:
        return resolve_latest(cache_root, log)
    if parsed == NEWEST:
        if newest is None:
            raise ReleaseError("'newest' needs the release list to be resolved")
        version = newest()
        refuse_compromised(version)
        if log is not None:
            log(f"'newest' = litellm {version}, the newest release listed")
        return version
    return parsed
