"""Releases whose companions the index does not serve install with the nearest served ones, and say so.

uv's resolver and the index are fakes here: what uv says when a pin is not served (its real
wording, as seen for 1.110.2, 1.109.3 and 1.108.8), and which versions the index serves.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

import pytest
from packaging.version import Version

from harness.gateways.litellm import environment_build
from harness.gateways.litellm.environments import STAMP_NAME, find_complete_environment
from harness.gateways.litellm.substitutions import (
    Substitution,
    describe_all,
    missing_companion,
    nearest_served,
    plan_substitutions,
)
from harness.targets.errors import EnvironmentBuildError

NOT_ON_INDEX = (
    "  × No solution found when resolving dependencies:\n"
    "  ╰─▶ Because litellm-proxy was not found in the package registry and litellm[proxy]>=1.110.2 depends on\n"
    "      litellm-proxy==1.110.2, we can conclude that litellm[proxy]>=1.110.2 cannot be used.\n"
)
NOT_SERVED = (
    "error: No solution found when resolving dependencies\n"
    "  cause: Because there is no version of litellm-proxy-extras==0.4.114.post1 and litellm[proxy]==1.110.2 "
    "depends on litellm-proxy-extras==0.4.114.post1, we can conclude that litellm[proxy]==1.110.2 cannot be used.\n"
)
ENTERPRISE_NOT_SERVED = (
    "Because there is no version of litellm-enterprise==0.1.83.post1 and litellm[proxy]==1.110.2 depends on "
    "litellm-enterprise==0.1.83.post1, we can conclude that litellm[proxy]==1.110.2 cannot be used."
)
NOT_A_COMPANION = (
    "Because there is no version of tokenizers==0.99 and transformers==9.0 depends on tokenizers==0.99, "
    "we can conclude that transformers==9.0 cannot be used."
)

SERVED = {
    "litellm-proxy-extras": [Version(v) for v in ("0.4.108", "0.4.109", "0.4.110")],
    "litellm-enterprise": [Version(v) for v in ("0.1.82", "0.1.83", "0.1.84rc1")],
}


class FakeResolver:
    """uv's dry-run resolve: fails naming the first pinned companion not yet overridden."""

    def __init__(self, failures: Sequence[tuple[str, str]]) -> None:
        self.failures = list(failures)  # (package, uv's message) in the order uv meets them
        self.calls: list[list[str]] = []

    def __call__(self, overrides: Sequence[str]) -> tuple[bool, str]:
        self.calls.append(list(overrides))
        for package, message in self.failures:
            if not any(line.startswith(package) for line in overrides):
                return False, message
        return True, ""


def test_uv_messages_name_the_missing_companion_and_its_pin() -> None:
    assert missing_companion(NOT_ON_INDEX) == ("litellm-proxy", "1.110.2", False)
    assert missing_companion(NOT_SERVED) == ("litellm-proxy-extras", "0.4.114.post1", True)
    assert missing_companion(ENTERPRISE_NOT_SERVED) == ("litellm-enterprise", "0.1.83.post1", True)
    assert missing_companion(NOT_A_COMPANION) is None  # only what litellm itself pins is substituted
    assert missing_companion("error: network unreachable") is None


@pytest.mark.parametrize(("pinned", "served", "expected"), [
    ("0.4.114.post1", ["0.4.108", "0.4.110", "0.4.109"], "0.4.110"),  # the newest not newer than the pin
    ("0.1.83.post1", ["0.1.83", "0.1.84rc1"], "0.1.83"),
    ("0.1.1", ["0.1.3", "0.1.2"], "0.1.2"),  # none older: the oldest after it
    ("0.2.0", ["0.3.0rc1"], "0.3.0rc1"),  # a pre-release only when nothing final is served
    ("0.2.0", [], None),
])
def test_the_nearest_served_version_stands_in(pinned: str, served: list[str], expected: str | None) -> None:
    found = nearest_served(pinned, [Version(v) for v in served])
    assert (str(found) if found else None) == expected


def test_planning_substitutes_each_missing_companion_until_it_resolves() -> None:
    resolve = FakeResolver([("litellm-proxy", NOT_ON_INDEX), ("litellm-proxy-extras", NOT_SERVED),
                            ("litellm-enterprise", ENTERPRISE_NOT_SERVED)])
    plan = plan_substitutions("1.110.2", resolve, lambda package: SERVED.get(package))
    assert plan == [
        Substitution("litellm-proxy", "1.110.2", None, "not on the index"),
        Substitution("litellm-proxy-extras", "0.4.114.post1", "0.4.110", "0.4.114.post1 is not served"),
        Substitution("litellm-enterprise", "0.1.83.post1", "0.1.83", "0.1.83.post1 is not served"),
    ]
    assert resolve.calls[-1] == ["litellm-proxy ; sys_platform == 'never'", "litellm-proxy-extras==0.4.110",
                                 "litellm-enterprise==0.1.83"]  # uv's override lines
    assert describe_all("1.110.2", plan) == (
        "litellm 1.110.2 with substitutions: litellm-proxy 1.110.2 left out (not on the index); "
        "litellm-proxy-extras 0.4.114.post1 → 0.4.110 (0.4.114.post1 is not served); "
        "litellm-enterprise 0.1.83.post1 → 0.1.83 (0.1.83.post1 is not served)")


def test_a_release_that_installs_as_published_needs_no_substitution() -> None:
    assert plan_substitutions("1.108.7", FakeResolver([]), lambda package: None) == []


def test_a_missing_package_that_is_no_companion_is_not_installable() -> None:
    with pytest.raises(EnvironmentBuildError, match="does not install as published: tokenizers==0.99 is not served"):
        plan_substitutions("1.110.2", FakeResolver([("tokenizers", NOT_A_COMPANION)]), lambda package: None)


def test_a_substitution_survives_the_stamp() -> None:
    substitution = Substitution("litellm-proxy-extras", "0.4.114.post1", "0.4.110", "0.4.114.post1 is not served")
    assert Substitution.from_json(json.loads(json.dumps(substitution.to_json()))) == substitution
    assert Substitution.from_json({"nonsense": 1}) is None


def fake_venv(staging: Path, *_args: object) -> None:
    (staging / "bin").mkdir(parents=True)
    (staging / "bin" / "python").touch()


def test_an_unservable_release_is_built_with_overrides_and_its_stamp_names_them(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    commands: list[list[str]] = []

    def run_tool(command: Sequence[str], **_kw: object) -> str:
        commands.append(list(command))
        if command[:3] == ["uv", "pip", "install"] and "--override" not in command:
            raise EnvironmentBuildError("uv pip install failed:\n" + NOT_SERVED)
        return ""

    monkeypatch.setattr(environment_build, "_uv", lambda: "uv")
    monkeypatch.setattr(environment_build, "_create_venv", fake_venv)
    monkeypatch.setattr(environment_build, "run_with_progress", run_tool)
    monkeypatch.setattr(environment_build, "_plan_substitutions", lambda version, dating, site: [
        Substitution("litellm-proxy-extras", "0.4.114.post1", "0.4.110", "0.4.114.post1 is not served")])
    monkeypatch.setattr(environment_build, "_declared_requirements", lambda staging, site: ["prisma (>=0.11.0,<1.0)"])
    monkeypatch.setattr(environment_build, "_installed_versions", lambda staging, site: {"litellm": "1.110.2", "prisma": "0.15.0"})
    monkeypatch.setattr(environment_build, "_prisma_generate", lambda *a, **k: None)
    built = environment_build.ensure_environment("1.110.2", tmp_path, engine_env={})
    installs = [c for c in commands if c[:3] == ["uv", "pip", "install"]]
    assert len(installs) == 3 and all("--override" in c for c in installs[1:])
    stamp = json.loads((built.root / STAMP_NAME).read_text())
    assert stamp["substitutions"] == [{"package": "litellm-proxy-extras", "pinned": "0.4.114.post1",
                                       "used": "0.4.110", "why": "0.4.114.post1 is not served"}]
    found = find_complete_environment(tmp_path, "1.110.2")
    assert found is not None and [s.used for s in found.substitutions] == ["0.4.110"]
