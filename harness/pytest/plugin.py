"""pytest plugin: scenario YAML files collected as tests, one test per check.

`pytest scenarios/ --target <gateway>==1.82.3` collects every scenario file (by default any
YAML file below a `scenarios` folder; ini option `gateconform_scenario_globs`); each check
becomes an item named like a sentence (`svc cannot call gpt-4o`) and located at the YAML
line of its expectation. A scenario is provisioned and probed once, on its first item; its
other items read the verdicts. One proxy per model list serves every scenario of the session.

This module only wires pytest's hooks to the parts (the entry point `harness.pytest.plugin`):
options (options and their checks), collect (which files; a file's items), items (a check's
outcome and failure text), session (the runner, results documents), xdist (the scheduler).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from harness.pytest.collect import ScenarioFile, is_scenario_file, scenario_globs
from harness.pytest.items import as_verdict_report
from harness.pytest.options import add_options, check_options, target_notes
from harness.pytest.session import RUNNER_KEY, SessionScenarios, finish_session


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(parser)


def pytest_configure(config: pytest.Config) -> None:
    check_options(config)
    config.stash[RUNNER_KEY] = SessionScenarios(config)
    # Registered here too, so the marker is known when pytest-xdist is not installed.
    config.addinivalue_line("markers", "xdist_group(name): run these tests on one pytest-xdist worker")
    if config.pluginmanager.hasplugin("xdist"):  # its hooks exist only then
        from harness.pytest import xdist

        config.pluginmanager.register(xdist, "gateconform-xdist")


def pytest_report_header(config: pytest.Config) -> list[str]:
    """What the target check had to say (what `latest` passed over and why), once, in the header."""
    return target_notes(config)


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if is_scenario_file(file_path, scenario_globs(parent.config)):
        return ScenarioFile.from_parent(parent, path=file_path)
    return None


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    return as_verdict_report(item, call, report)


def pytest_sessionfinish(session: pytest.Session) -> None:
    # Runs on success, failure and Ctrl-C alike: every proxy started for the session stops.
    finish_session(session)
