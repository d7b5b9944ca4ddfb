"""The pytest plugin's options as a user meets them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

# Seconds each (a pytest subprocess or a browser): `pytest -m "not integration and not slow"` skips them.
pytestmark = pytest.mark.slow

ROOT = Path(__file__).parents[2]
SEED = ROOT / "scenarios/litellm/issue-23850-access-group-limits-service-key.yaml"


def test_a_compromised_target_is_a_usage_error_before_anything_runs() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pytest", str(SEED), "--target", "litellm==1.82.8", "-p", "no:cacheprovider", "-q"],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 4  # pytest's usage-error exit code
    assert "--target litellm==1.82.8: litellm 1.82.8 is a compromised release" in done.stderr
