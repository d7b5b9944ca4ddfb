"""One cached, isolated Python environment per LiteLLM version, ready to run the proxy.

An environment is a folder under `<cache>/envs` named by version, Python, recipe revision and
dependency mode (`environment_name`). A stamp file written last marks it complete, so a
half-built environment is never reused; `find_complete_environment` looks one up by its stamp,
and `remove_interrupted_builds` sweeps what a killed build left. How one is built (uv, the prisma
requirement litellm declares, an offline `prisma generate`) is `environment_build.py`.

Two dependency modes (`releases.DEPS_MODES`), each its own folder: `today` resolves what a plain
install resolves today (the default); `as-released` adds `--exclude-newer <upload time + 1 day>`
to every `uv pip install`, so a release whose unpinned dependencies moved on since (FastAPI
dropped a helper 1.95.0 imports) gets the packages it was released against.
"""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

from harness.targets.build_sites import SweptFolder, remove_unless_building, sweep_build_sites, sweep_each
from harness.targets.errors import EnvironmentBuildError
from harness.gateways.litellm.releases import DEPS_AS_RELEASED, DEPS_MODES, DEPS_TODAY
from harness.gateways.litellm.substitutions import Substitution

#: Bump when the recipe changes so environments built by an older recipe are not reused.
RECIPE_REVISION = 2
STAMP_NAME = ".gateconform-env.json"
#: Touched each time an environment is handed out: `gateconform cache list|prune` reads its mtime.
LAST_USED_NAME = ".gateconform-last-used"


@dataclass(frozen=True)
class Provenance:
    """How an environment departs from a plain install of its release, for the record.

    `substitutions`: companions installed in place of what the release pins (the index does not
    serve them); `dating`: which dating of the dependencies worked (as-released mode), and
    `dating_failures` why the ones tried before it did not.
    """

    substitutions: tuple[Substitution, ...] = ()
    dating: str | None = None
    dating_failures: tuple[str, ...] = ()

    def to_json(self) -> dict:
        return {"substitutions": [s.to_json() for s in self.substitutions], "dating": self.dating,
                "dating_failures": list(self.dating_failures)}

    @classmethod
    def from_stamp(cls, stamp: Mapping) -> Provenance:
        found = [Substitution.from_json(item) for item in stamp.get("substitutions") or []]
        dating = stamp.get("dating")
        return cls(tuple(s for s in found if s is not None), str(dating) if dating else None,
                   tuple(str(item) for item in stamp.get("dating_failures") or []))


@dataclass(frozen=True)
class LiteLLMEnvironment:
    """A complete environment for one LiteLLM version."""

    root: Path
    litellm_version: str
    prisma_version: str
    timings: dict[str, float] = field(default_factory=dict, compare=False)
    #: `today` or `as-released` (then `exclude_newer` is the uv cut-off it was built with)
    deps: str = DEPS_TODAY
    exclude_newer: str | None = None
    provenance: Provenance = field(default_factory=Provenance, compare=False)

    @property
    def substitutions(self) -> tuple[Substitution, ...]:
        """Companions installed in place of what the release pins (none: it installed as published)."""
        return self.provenance.substitutions

    @property
    def bin_dir(self) -> Path:
        return self.root / "bin"

    @property
    def python(self) -> Path:
        return self.bin_dir / "python"

    @property
    def litellm_executable(self) -> Path:
        return self.bin_dir / "litellm"

    @property
    def site_packages(self) -> Path:
        return site_packages_of(self.root)

    @property
    def schema_path(self) -> Path:
        """The Prisma schema that matches the installed LiteLLM code."""
        return self.site_packages / "litellm" / "proxy" / "schema.prisma"

    @property
    def migrations_dir(self) -> Path:
        """LiteLLM's SQL migrations (from the installed `litellm-proxy-extras`)."""
        return self.site_packages / "litellm_proxy_extras" / "migrations"

    @property
    def migrations_schema_path(self) -> Path:
        """The Prisma schema the installed `litellm-proxy-extras`' migrations create."""
        return self.site_packages / "litellm_proxy_extras" / "schema.prisma"


def site_packages_of(root: Path) -> Path:
    """The site-packages folder of the environment at `root`."""
    candidates = sorted((root / "lib").glob("python3*/site-packages"))
    if not candidates:
        raise EnvironmentBuildError(f"{root}: no lib/python3*/site-packages")
    return candidates[0]


def environment_name(version: str, deps: str = DEPS_TODAY) -> str:
    """Folder name of the environment: version, Python it runs on, recipe revision, dependency mode.

    `today` keeps the plain name (`litellm-1.82.3-py311-r2`), `as-released` adds a suffix
    (`litellm-1.95.0-py311-r2-as-released`): the two never share a folder.
    """
    check_deps(deps)
    python_tag = f"py{sys.version_info.major}{sys.version_info.minor}"
    name = f"litellm-{version}-{python_tag}-r{RECIPE_REVISION}"
    return name if deps == DEPS_TODAY else f"{name}-{deps}"


def check_deps(deps: str) -> None:
    """Refuse a dependency mode that is not one of `releases.DEPS_MODES`."""
    if deps not in DEPS_MODES:
        raise EnvironmentBuildError(f"unknown dependency mode {deps!r} (use {' or '.join(DEPS_MODES)})")


def prisma_home(cache_root: Path) -> Path:
    """Where prisma-client-py keeps the Prisma CLI it installs from npm (shared by all envs).

    Set as PRISMA_HOME_DIR both for `prisma generate` and for the proxy, so the proxy finds the
    CLI that generate installed instead of fetching it again into the user's home.
    """
    return cache_root / "prisma-home"


def prisma_env(
    cache_root: Path, engine_env: Mapping[str, str], bin_dir: Path, base: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Environment for Prisma (generate and run time): engine paths, CLI home, venv bin on PATH.

    `base` is the environment to extend (default: ours, minus anything naming another Python).
    """
    if base is None:
        base = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONHOME", "PYTHONPATH")}
    env = dict(base)
    env.update(engine_env)
    env["PRISMA_HOME_DIR"] = str(prisma_home(cache_root))
    # The Node CLI spawns the `prisma-client-py` generator by name, LiteLLM spawns `prisma`.
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    return env


def read_stamp(root: Path) -> dict | None:
    """The completion stamp of an environment, or None if it is missing or unreadable."""
    try:
        data = json.loads((root / STAMP_NAME).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def write_stamp(
    root: Path,
    version: str,
    installed: Mapping[str, str],
    prisma_requirement: str | None,
    engine_env: Mapping[str, str],
    timings: Mapping[str, float],
    exclude_newer: str | None = None,
    provenance: Provenance | None = None,
) -> None:
    """Mark the environment at `root` complete: what was installed, how and how long it took."""
    stamp = {
        "litellm_version": version,
        "deps": DEPS_AS_RELEASED if exclude_newer else DEPS_TODAY,
        "exclude_newer": exclude_newer,
        "prisma_version": installed.get("prisma", ""),
        "installed": dict(installed),
        "prisma_requirement": prisma_requirement,
        "python": sys.executable,
        "query_engine": engine_env.get("PRISMA_QUERY_ENGINE_BINARY", ""),
        "recipe_revision": RECIPE_REVISION,
        "built_at": time.time(),
        "timings": {k: round(v, 2) for k, v in timings.items()},
        **(provenance or Provenance()).to_json(),
    }
    # Written whole then renamed: a reader sees no stamp or a complete one.
    temporary = root / f"{STAMP_NAME}.tmp"
    temporary.write_text(json.dumps(stamp, indent=2))
    temporary.replace(root / STAMP_NAME)


def find_complete_environment(cache_root: Path, version: str, deps: str = DEPS_TODAY) -> LiteLLMEnvironment | None:
    """The cached environment for `version` (in dependency mode `deps`) if completely built, else None."""
    root = cache_root / "envs" / environment_name(version, deps)
    stamp = read_stamp(root)
    if stamp is None or stamp.get("litellm_version") != version:
        return None
    if stamp.get("deps", DEPS_TODAY) != deps:  # stamps written before the modes existed are `today`
        return None
    if not (root / "bin" / "python").exists():  # its base interpreter was removed or moved
        return None
    return LiteLLMEnvironment(root, version, str(stamp.get("prisma_version", "")), dict(stamp.get("timings", {})),
                              deps, stamp.get("exclude_newer"), Provenance.from_stamp(stamp))


def describe_deps(deps: str, exclude_newer: str | None = None) -> str:
    """`dependencies as released (uv --exclude-newer 2026-08-03T02:52:49Z)` / `today's dependencies`."""
    if deps == DEPS_AS_RELEASED:
        return f"dependencies as released (uv --exclude-newer {exclude_newer})" if exclude_newer else \
            "dependencies as released"
    return "today's dependencies"


def mark_used(root: Path) -> None:
    """Record that the environment at `root` is being used now (for `gateconform cache`)."""
    try:
        (root / LAST_USED_NAME).touch()
    except OSError:  # a read-only cache still works; only the "last used" column suffers
        pass


def remove_interrupted_builds(cache_root: Path) -> list[SweptFolder]:
    """Remove what builds killed mid-way left in `cache_root/envs`; report each folder looked at.

    That is their build sites (`.litellm-1.82.3-py311-r2.XXXXXXXX`: the staging environment, hundreds of MB,
    and the build's TMPDIR) whose builder is gone, and environments renamed into place but never
    stamped (killed during `prisma generate`) that nobody is building. Run it after the build's
    processes are reaped (`local.reap_orphans` does both), so no uv writes into what is removed.
    """
    envs_dir = cache_root / "envs"
    if not envs_dir.is_dir():
        return []
    swept = sweep_build_sites(envs_dir, ".litellm-*")
    # Lazily: each stamp is read just before its folder is checked, as late as can be.
    unstamped = (root for root in sorted(envs_dir.glob("litellm-*")) if read_stamp(root) is None)
    return swept + sweep_each(unstamped, _remove_unstamped)


def _remove_unstamped(root: Path) -> SweptFolder:
    """An environment without a stamp is a build in progress (its lock is held) or a killed one."""
    # In use: e.g. a `prisma generate` a gateconform without run markers left running.
    return remove_unless_building(root, root.parent / f"{root.name}.lock", "incomplete, but in use",
                                  "incomplete (its build was interrupted) and nobody is building it")
