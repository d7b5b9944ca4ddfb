"""The state file of the proxy `gateconform up` keeps running: where it is and how to reach it.

One managed proxy per state folder: `$GATECONFORM_UP_DIR`, else `<cache root>/up/`. The file
(`state.json`, readable by its owner only) names the keeper process (`pid:start-ticks`, so a
reused pid is never taken for it), the proxy's URL, its master key, its recording upstream and
the target it runs. A url target whose URL is the managed proxy's reads the rest from here, so
`run --target url:…` against it needs nothing else. A file whose keeper is gone is stale: it
says nothing (`read` ignores it; `up` and `down` clear it).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Mapping

from harness.common.cache_root import default_cache_root
from harness.common.files import write_text
from harness.targets.lifecycle import identity_alive

#: Overrides where the state of `gateconform up` is kept (tests keep theirs apart).
UP_DIR_ENV = "GATECONFORM_UP_DIR"
STATE_FILE = "state.json"
#: Held by a run while it readies and uses the kept proxy's models: two runs at once (pytest-xdist
#: workers, two terminals) take turns instead of removing each other's models.
MODELS_LOCK = "models.lock"
#: What the keeper process writes while it starts and runs (its own log and the proxy's words).
KEEPER_LOG = "keeper.log"


@dataclass(frozen=True)
class UpState:
    """A proxy kept up by `gateconform up`."""

    keeper: str  # `pid:start-ticks` of the process that keeps it (and stops it on `down`)
    target: str  # the target spec it runs, e.g. `litellm==1.108.7`
    base_url: str
    master_key: str = field(repr=False)
    upstream_url: str
    proxy_version: str | None = None
    started_at: str | None = None

    @property
    def pid(self) -> int:
        return int(self.keeper.split(":", 1)[0])

    @property
    def alive(self) -> bool:
        """Whether its keeper is still the same live process."""
        return identity_alive(self.keeper)


def up_dir(environ: Mapping[str, str] | None = None) -> Path:
    """Where the state of `gateconform up` lives."""
    environ = os.environ if environ is None else environ
    override = environ.get(UP_DIR_ENV, "").strip()
    return Path(override) if override else default_cache_root() / "up"


def state_path(environ: Mapping[str, str] | None = None) -> Path:
    return up_dir(environ) / STATE_FILE


def read(environ: Mapping[str, str] | None = None) -> UpState | None:
    """The state of the managed proxy, also a stale one (check `alive`); None when there is none."""
    try:
        data = json.loads(state_path(environ).read_text())
        return UpState(**data)
    except (OSError, ValueError, TypeError):
        return None


def write(state: UpState, environ: Mapping[str, str] | None = None) -> Path:
    """Record `state`, readable by its owner only (it holds the master key)."""
    folder = up_dir(environ)
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o700)
    path = write_text(folder / STATE_FILE, json.dumps(asdict(state), indent=2))
    path.chmod(0o600)
    return path


def models_lock_path(environ: Mapping[str, str] | None = None) -> Path:
    """The lock a run holds while it uses the kept proxy's models (`MODELS_LOCK`)."""
    return up_dir(environ) / MODELS_LOCK


def clear(environ: Mapping[str, str] | None = None) -> None:
    """Forget the managed proxy (after it stopped, or when its keeper is gone)."""
    state_path(environ).unlink(missing_ok=True)


def find(base_url: str, environ: Mapping[str, str] | None = None) -> UpState | None:
    """The live managed proxy at `base_url` (written as `normalise_url` writes it), else None."""
    state = read(environ)
    if state is None or not state.alive or state.base_url.rstrip("/") != base_url.rstrip("/"):
        return None
    return state
