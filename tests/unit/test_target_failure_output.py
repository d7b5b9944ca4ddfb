"""What the terminal shows when the target did not install or start: the error once, short rows."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console

from harness.report.terminal import print_verdicts
from harness.engine import runner
from harness.model.reasons import NotRunReason
from harness.model.results import RunResult, ScenarioResult
from harness.engine.grouping import group_by_models
from harness.scenario.loader import load_scenarios
from harness.targets.errors import EnvironmentBuildError
from harness.gateways.litellm.local import LocalTarget
from tests.fixtures import report_docs

ROOT = Path(__file__).parents[2]

INSTALL_FAILURE = (
    "target did not start: litellm==1.82.3 (local): uv pip install litellm[proxy]==1.82.3 failed (exit 1):\n"
    "  × No solution found when resolving dependencies:\n"
    "  ╰─▶ Because there is no version of litellm-proxy-extras==0.4.999 …"
)


def printed(result: RunResult, monkeypatch: pytest.MonkeyPatch) -> str:
    buffer = io.StringIO()
    print_verdicts(result, Console(file=buffer, width=160, color_system=None))
    return buffer.getvalue()


def not_started(scenario: ScenarioResult, error: str) -> ScenarioResult:
    return ScenarioResult.failed(id=scenario.id, title=scenario.title, checks=[v.check for v in scenario.verdicts],
                                 error=error, reason=NotRunReason.TARGET_NOT_INSTALLED, source=scenario.source)


def test_an_install_failure_is_printed_once_not_once_per_check(monkeypatch: pytest.MonkeyPatch) -> None:
    result = report_docs.load()
    result.proxy_version = None
    result.scenarios = [not_started(s, INSTALL_FAILURE) for s in result.scenarios]
    checks = sum(len(s.verdicts) for s in result.scenarios)
    assert checks > 10 and len(result.scenarios) == 3

    text = printed(result, monkeypatch)
    assert text.count("No solution found") == 1
    assert text.count("the same error as") == 2  # the other scenarios point at it
    assert text.count("ERROR") >= checks  # every check still has its row


def test_the_header_says_no_proxy_started_instead_of_a_question_mark(monkeypatch: pytest.MonkeyPatch) -> None:
    result = report_docs.load()
    result.proxy_version = None
    result.scenarios = [not_started(s, INSTALL_FAILURE) for s in result.scenarios]
    header = printed(result, monkeypatch).splitlines()[0]
    assert "LiteLLM ?" not in header
    assert "no proxy started" in header


def test_a_proxy_that_wrote_no_log_gets_no_empty_log_section(tmp_path: Path) -> None:
    target = LocalTarget("litellm==1.82.3", cache_root=tmp_path)
    target.run_dir = tmp_path
    (tmp_path / "proxy.log").write_text("")
    message = target._failure_message("the proxy exited with code 1")
    assert "Last 40 lines" not in message
    assert message.endswith("the proxy exited with code 1; the proxy wrote nothing to its log")

    (tmp_path / "proxy.log").write_text("Traceback …\nImportError: cannot import name 'x'\n")
    message = target._failure_message("the proxy exited with code 1")
    assert message.endswith("Last 40 lines of the proxy log:\nTraceback …\nImportError: cannot import name 'x'")


class NotInstallable:
    """A target whose release does not install (as `litellm==1.110.2` today); counts the attempts."""

    attempts = 0

    def __init__(self, spec: str, log: object) -> None:
        pass

    def start(self, models: object) -> object:
        NotInstallable.attempts += 1
        raise EnvironmentBuildError("litellm 1.110.2 is listed but does not install as published "
                                    "(litellm-proxy is not on the index)")

    def stop(self) -> None:
        pass


def test_a_release_that_does_not_install_is_tried_once_not_once_per_model_list(monkeypatch: pytest.MonkeyPatch) -> None:
    scenarios = load_scenarios([ROOT / "scenarios/litellm"])
    assert len(group_by_models(scenarios)) > 1, "the library needs several proxies"
    NotInstallable.attempts = 0
    monkeypatch.setattr(runner, "make_target", NotInstallable)
    with runner.ScenarioRunner("litellm==1.110.2") as scenario_runner:
        result = scenario_runner.run_all(scenarios)
    assert NotInstallable.attempts == 1
    assert {s.error for s in result.scenarios} == {
        "target did not start: litellm 1.110.2 is listed but does not install as published "
        "(litellm-proxy is not on the index)"}
