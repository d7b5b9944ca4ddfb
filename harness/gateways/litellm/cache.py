"""What the environment cache holds, and pruning it safely (`gateconform cache list|prune`).

Each LiteLLM release gets an environment under `<cache root>/envs/` (~200 MB each). They pile
up over a matrix or a bisect; pruning removes them by age, version or staleness (built by
an older recipe or another Python, or never completed). An environment is never removed while
it is being built (its build lock is held) or used (a live process runs from it).
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

from filelock import FileLock, Timeout

from harness.common.files import folder_size
from harness.common.units import format_age, format_size, parse_age  # noqa: F401 - `gateconform cache` formats with them
from harness.targets.processes import processes_using
from harness.gateways.litellm.environments import (
    DEPS_MODES,
    LAST_USED_NAME,
    RECIPE_REVISION,
    environment_name,
    read_stamp,
)


@dataclass(frozen=True)
class CachedEnvironment:
    """One folder under `<cache root>/envs`."""

    root: Path
    version: str | None  # None when the folder is not a recognisable environment
    size_bytes: int
    #: bytes only this folder holds: uv hard-links files from its cache, and removing the
    #: environment frees only the files no other folder links to
    own_bytes: int
    last_used: float  # epoch seconds (the last-used marker, else the build time, else the mtime)
    complete: bool  # a completion stamp exists
    current: bool  # built by this recipe revision for this Python: usable by this harness
    #: dependency mode: `today`, or `as-released` with the uv `--exclude-newer` cut-off it used
    deps: str = "today"
    exclude_newer: str | None = None

    @property
    def name(self) -> str:
        return self.root.name

    @property
    def lock_path(self) -> Path:
        return self.root.parent / f"{self.root.name}.lock"

    @property
    def stale(self) -> bool:
        """Never usable again by this harness: incomplete, older recipe, or another Python."""
        return not (self.complete and self.current)


def list_environments(cache_root: Path) -> list[CachedEnvironment]:
    """Every environment folder in the cache (incomplete staging leftovers included), by name."""
    envs_dir = cache_root / "envs"
    if not envs_dir.is_dir():
        return []
    return [_describe(path) for path in sorted(envs_dir.iterdir(), key=lambda p: p.name) if path.is_dir()]


def _describe(root: Path) -> CachedEnvironment:
    stamp = read_stamp(root)
    version = str(stamp["litellm_version"]) if stamp and stamp.get("litellm_version") else _version_from_name(root.name)
    complete = stamp is not None
    deps = str(stamp.get("deps") or "today") if stamp else _deps_from_name(root.name)
    exclude_newer = stamp.get("exclude_newer") if stamp else None
    current = complete and version is not None and deps in DEPS_MODES and (
        root.name == environment_name(version, deps)
    ) and (stamp.get("recipe_revision") == RECIPE_REVISION if stamp else False)
    size, own = folder_size(root)
    return CachedEnvironment(root, version, size, own, _last_used(root, stamp), complete, current, deps,
                             str(exclude_newer) if exclude_newer else None)


def _deps_from_name(name: str) -> str:
    """`litellm-1.95.0-py311-r2-as-released` → `as-released`; no suffix → `today`."""
    return next((mode for mode in DEPS_MODES if mode != "today" and name.endswith(f"-{mode}")), "today")


def _version_from_name(name: str) -> str | None:
    """`litellm-1.82.3-py311-r2` → `1.82.3` (staging leftovers start with a dot)."""
    parts = name.lstrip(".").split("-")
    return parts[1] if len(parts) >= 2 and parts[0] == "litellm" else None


def _last_used(root: Path, stamp: dict | None) -> float:
    try:
        return (root / LAST_USED_NAME).stat().st_mtime
    except OSError:
        pass
    if stamp and isinstance(stamp.get("built_at"), (int, float)):
        return float(stamp["built_at"])
    return root.stat().st_mtime


# --------------------------------------------------------------------------- pruning


@dataclass(frozen=True)
class PruneDecision:
    """What pruning did (or would do) with one environment."""

    environment: CachedEnvironment
    removed: bool
    reason: str


def select_for_pruning(
    environments: Iterable[CachedEnvironment],
    *,
    older_than_s: float | None = None,
    versions: Sequence[str] = (),
    stale: bool = False,
    everything: bool = False,
    now: float | None = None,
) -> list[tuple[CachedEnvironment, str]]:
    """The environments the selectors name, each with why (pure: no files touched)."""
    now = time.time() if now is None else now
    wanted = set(versions)
    chosen = []
    for env in environments:
        reasons = []
        if everything:
            reasons.append("--all")
        if env.version is not None and env.version in wanted:
            reasons.append(f"version {env.version}")
        if older_than_s is not None and now - env.last_used > older_than_s:
            reasons.append(f"unused for {format_age(now - env.last_used)}")
        if stale and env.stale:
            reasons.append("stale (incomplete, older recipe or another Python)")
        if reasons:
            chosen.append((env, ", ".join(reasons)))
    return chosen


def prune(chosen: Iterable[tuple[CachedEnvironment, str]], dry_run: bool = False) -> list[PruneDecision]:
    """Remove the chosen environments unless one is being built or used right now."""
    decisions = []
    for env, reason in chosen:
        users = processes_using(env.root)
        if users:
            decisions.append(PruneDecision(env, False, f"in use by pid {', '.join(map(str, users[:5]))}"))
            continue
        if dry_run:
            decisions.append(PruneDecision(env, False, f"would remove: {reason}"))
            continue
        decisions.append(_remove_unless_locked(env, reason))
    return decisions


def _remove_unless_locked(env: CachedEnvironment, reason: str) -> PruneDecision:
    # The build lock is what a worker holds while it builds (or checks) this environment: taking
    # it without waiting means nobody is building it, and nobody can start until we are done.
    lock = FileLock(str(env.lock_path), timeout=0)
    try:
        with lock:
            _remove_tree(env.root)
    except Timeout:
        return PruneDecision(env, False, "being built right now (lock held)")
    except OSError as exc:
        return PruneDecision(env, False, f"could not remove: {exc}")
    return PruneDecision(env, True, reason)


def _remove_tree(root: Path) -> None:
    """Remove the stamp first, so a half-removed folder is never taken for a complete one."""
    stamp = root / ".gateconform-env.json"
    if stamp.exists():
        stamp.unlink()
    shutil.rmtree(root)
