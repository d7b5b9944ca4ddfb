"""Environment builds: which prisma client a release needs, and that half-built envs are not reused."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from harness.common.cache_root import default_cache_root
from harness.gateways.litellm.environment_build import ensure_environment, prisma_requirement_of
from harness.gateways.litellm.environments import STAMP_NAME, environment_name, find_complete_environment
from harness.targets.errors import CompromisedReleaseError


def test_prisma_requirement_from_an_old_release_extra() -> None:
    declared = [
        'PyJWT (>=2.12.0,<3.0.0) ; (python_version >= "3.9") and (extra == "proxy")',
        'prisma (>=0.11.0,<0.12.0) ; extra == "extra-proxy"',
    ]
    assert prisma_requirement_of(declared) == "prisma<0.12.0,>=0.11.0"


def test_prisma_requirement_from_a_new_release() -> None:
    assert prisma_requirement_of(["prisma>=0.11.0,<1.0 ; extra == 'extra-proxy'"]) == "prisma<1.0,>=0.11.0"


def test_no_prisma_requirement() -> None:
    assert prisma_requirement_of(["httpx>=0.23", "not a requirement ((("]) is None


def test_cache_root_can_be_overridden(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("GATECONFORM_CACHE_DIR", str(tmp_path / "cache"))
    assert default_cache_root() == (tmp_path / "cache").resolve()


def test_an_environment_without_stamp_is_incomplete(tmp_path: Path) -> None:
    root = tmp_path / "envs" / environment_name("1.82.3")
    (root / "bin").mkdir(parents=True)
    (root / "bin" / "python").symlink_to(sys.executable)
    assert find_complete_environment(tmp_path, "1.82.3") is None
    (root / STAMP_NAME).write_text(json.dumps({"litellm_version": "1.82.3", "prisma_version": "0.11.0"}))
    found = find_complete_environment(tmp_path, "1.82.3")
    assert found is not None and found.root == root and found.prisma_version == "0.11.0"


def test_a_stamp_for_another_version_does_not_count(tmp_path: Path) -> None:
    root = tmp_path / "envs" / environment_name("1.82.3")
    root.mkdir(parents=True)
    (root / STAMP_NAME).write_text(json.dumps({"litellm_version": "1.82.4"}))
    assert find_complete_environment(tmp_path, "1.82.3") is None


def test_compromised_release_is_never_built(tmp_path: Path) -> None:
    with pytest.raises(CompromisedReleaseError):
        ensure_environment("1.82.8", tmp_path, engine_env={})
    assert not (tmp_path / "envs").exists()


def test_an_environment_whose_interpreter_is_gone_is_rebuilt(tmp_path: Path) -> None:
    root = tmp_path / "envs" / environment_name("1.82.3")
    (root / "bin").mkdir(parents=True)
    (root / "bin" / "python").symlink_to(tmp_path / "no-such-python")
    (root / STAMP_NAME).write_text(json.dumps({"litellm_version": "1.82.3"}))
    assert find_complete_environment(tmp_path, "1.82.3") is None
