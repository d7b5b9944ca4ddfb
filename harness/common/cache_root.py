"""Where gateconform keeps what it builds once and reuses (environments, engines, release lists)."""

from __future__ import annotations

import os
from pathlib import Path


def default_cache_root() -> Path:
    """`$GATECONFORM_CACHE_DIR`, else the per-user cache folder for gateconform."""
    override = os.environ.get("GATECONFORM_CACHE_DIR")
    if override:
        return Path(override).expanduser().resolve()
    import platformdirs

    return Path(platformdirs.user_cache_dir("gateconform")).resolve()
