"""Installing a release whose `litellm[proxy]` pins companions the index does not serve.

Recent releases pin companion packages exactly (`litellm-proxy-extras==0.4.114.post1`,
`litellm-enterprise==0.1.83.post1`, `litellm-proxy==1.110.2`), and the index does not always
serve them: listed is not installable. Rather than give up, the release is installed with the
nearest served version of each missing companion (the newest one not newer than the pin, else
the oldest one after it) or, for a package the index does not know at all, without it; uv's
`--override` replaces the pins. Every substitution is recorded (the environment's stamp, then
`results.json` and every report: "litellm 1.110.2 with substitutions: …"), never silent.

Only what `litellm` itself pins exactly is substituted: a missing dependency of anything else is
not a companion, and the release is reported as not installable, as before.

The database comes from the substituted `litellm-proxy-extras`' migrations plus the difference
between its schema and the release's own `schema.prisma` (`database_schema.py`).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Callable, Sequence

from packaging.version import InvalidVersion, Version

from harness.gateways.litellm.releases import PACKAGE, short_reason
from harness.targets.errors import EnvironmentBuildError

#: How many companions one release may need substituted before the planner gives up.
MAX_SUBSTITUTIONS = 6
#: A marker no platform has: uv's documented way to drop a dependency with `--override`.
_NEVER = "sys_platform == 'never'"

_MISSING = re.compile(
    r"(?:there is no version of (?P<pinned_pkg>[A-Za-z0-9_.\-]+)==\S+?"
    r"|(?P<unknown_pkg>[A-Za-z0-9_.\-]+) was not found in the package registry)"
    r" and (?P<depender>[A-Za-z0-9_.\-]+)(?:\[[^\]]*\])?\S* depends on (?P<package>[A-Za-z0-9_.\-]+)==(?P<pin>[^\s,]+?)[,.]?(?:\s|$)"
)


@dataclass(frozen=True)
class Substitution:
    """One companion installed in place of what the release pins (`used` None: left out)."""

    package: str
    pinned: str
    used: str | None
    why: str

    def describe(self) -> str:
        """`litellm-proxy-extras 0.4.114.post1 → 0.4.110 (0.4.114.post1 is not served)`."""
        if self.used is None:
            return f"{self.package} {self.pinned} left out ({self.why})"
        return f"{self.package} {self.pinned} → {self.used} ({self.why})"

    def override(self) -> str:
        """The line of uv's `--override` file that makes the substitution."""
        return f"{self.package} ; {_NEVER}" if self.used is None else f"{self.package}=={self.used}"

    def to_json(self) -> dict[str, str | None]:
        return {"package": self.package, "pinned": self.pinned, "used": self.used, "why": self.why}

    @classmethod
    def from_json(cls, data: object) -> Substitution | None:
        if not isinstance(data, dict) or not isinstance(data.get("package"), str):
            return None
        used = data.get("used")
        return cls(str(data["package"]), str(data.get("pinned", "")), str(used) if used else None,
                   str(data.get("why", "")))


def describe_all(version: str, substitutions: Sequence[Substitution]) -> str:
    """`litellm 1.110.2 with substitutions: a → b (…); c left out (…)` (empty without any)."""
    if not substitutions:
        return ""
    return f"{PACKAGE} {version} with substitutions: " + "; ".join(s.describe() for s in substitutions)


def missing_companion(uv_error: str) -> tuple[str, str, bool] | None:
    """(package, pinned version, known to the index) of the companion a failed resolve lacks.

    None when the resolve failed for another reason, or the missing package is not one litellm
    itself pins exactly (then it is no companion and nothing is substituted).
    """
    text = " ".join(uv_error.split())
    for match in _MISSING.finditer(text):
        missing = match.group("pinned_pkg") or match.group("unknown_pkg")
        if match.group("depender").lower() != PACKAGE or missing.lower() != match.group("package").lower():
            continue
        return match.group("package"), match.group("pin"), match.group("unknown_pkg") is None
    return None


def nearest_served(pinned: str, served: Sequence[Version]) -> Version | None:
    """The served version to use instead of `pinned`: the newest not newer than it, else the oldest after it.

    Final releases first; pre-releases only when nothing final is served.
    """
    try:
        wanted = Version(pinned)
    except InvalidVersion:
        return None
    finals = [v for v in served if not (v.is_prerelease or v.is_devrelease)]
    pool = sorted(finals or served)
    older = [v for v in pool if v <= wanted]
    if older:
        return older[-1]
    newer = [v for v in pool if v > wanted]
    return newer[0] if newer else None


#: Resolves `litellm[proxy]==V` with overrides: (resolved?, uv's stderr). A fake in tests.
Resolve = Callable[[Sequence[str]], tuple[bool, str]]
#: The versions the index serves of a package (None: the index does not know it).
ServedVersions = Callable[[str], "Sequence[Version] | None"]


def plan_substitutions(version: str, resolve: Resolve, served: ServedVersions) -> list[Substitution]:
    """The substitutions that make `litellm[proxy]==version` resolve (empty: it installs as published).

    Resolves, reads which companion is missing, picks its nearest served version, and resolves
    again with the override, until it resolves. Raises `EnvironmentBuildError` (saying what was
    missing) when the failure is not a missing companion or nothing served can stand in.
    """
    substitutions: list[Substitution] = []
    for _ in range(MAX_SUBSTITUTIONS + 1):
        ok, error = resolve([s.override() for s in substitutions])
        if ok:
            return substitutions
        found = missing_companion(error)
        if found is None or any(s.package == found[0] for s in substitutions):
            raise EnvironmentBuildError(_not_installable(version, error, substitutions))
        package, pinned, on_index = found
        versions = served(package) if on_index else None
        if versions is None:
            substitutions.append(Substitution(package, pinned, None, "not on the index"))
            continue
        nearest = nearest_served(pinned, versions)
        if nearest is None:
            substitutions.append(Substitution(package, pinned, None, f"no version of {package} is served"))
            continue
        substitutions.append(Substitution(package, pinned, str(nearest), f"{pinned} is not served"))
    raise EnvironmentBuildError(_not_installable(version, "too many companions are missing", substitutions))


def _not_installable(version: str, error: str, substitutions: Sequence[Substitution]) -> str:
    tried = f" (even with substitutions: {'; '.join(s.describe() for s in substitutions)})" if substitutions else ""
    return (f"{PACKAGE} {version} is listed but does not install as published{tried}: {short_reason(error)}. "
            "Pick another release, or 'latest' (the newest release that installs).")


def write_overrides(path: Path, substitutions: Sequence[Substitution]) -> Path:
    """uv's `--override` file for `substitutions`."""
    path.write_text("".join(f"{s.override()}\n" for s in substitutions))
    return path


def uv_resolver(version: str, uv: str, work_dir: Path, date_flags: Sequence[str] = (),
                env: dict[str, str] | None = None, timeout_s: float = 300.0) -> Resolve:
    """A `Resolve` that asks `uv pip compile` (nothing installed) with an override file in `work_dir`;
    `date_flags` (`--exclude-newer …`) date the dependencies as the install will."""

    def resolve(overrides: Sequence[str]) -> tuple[bool, str]:
        command = [uv, "pip", "compile", "--quiet", "--no-header",
                   "--python-version", f"{sys.version_info.major}.{sys.version_info.minor}"]
        if overrides:
            override_file = work_dir / "plan-overrides.txt"
            override_file.write_text("".join(f"{line}\n" for line in overrides))
            command += ["--override", str(override_file)]
        command += list(date_flags)
        proc = subprocess.run([*command, "-"], input=f"{PACKAGE}[proxy]=={version}\n", capture_output=True,
                              text=True, timeout=timeout_s,
                              env=env or {**os.environ, "UV_PYTHON_DOWNLOADS": "never"})
        return proc.returncode == 0, proc.stderr

    return resolve


def index_served_versions(uploaded_before: datetime | None = None) -> ServedVersions:
    """A `ServedVersions` that asks the configured index (only files uploaded before a cut-off, if given)."""
    from harness.gateways.litellm.package_index import served_versions

    return lambda package: served_versions(package, uploaded_before=uploaded_before)
