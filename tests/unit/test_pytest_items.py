"""A check's test is located at the YAML line of its expectation, as Tavern locates its tests.

A pytest subprocess in a project of its own (a `pytest.ini`, scenarios under
`scenarios/litellm/`) collects recorded scenarios; its runner replays the recorded results
(tests/fixtures/fake_runner.py), so no proxy starts. The lines are found in the YAML text
here, not asked of the scenario model.
"""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from harness.store.documents import write_results
from tests.fixtures import report_docs
from tests.fixtures.fake_runner import ENV

# Seconds each (a pytest subprocess): `pytest -m "not integration and not slow"` skips them.
pytestmark = pytest.mark.slow

ROOT = Path(__file__).parents[2]
SEED = report_docs.SEED_ID
SKIPPED = "litellm-skipped-access-groups"


def _line_of(text: str, written: str, after: str) -> int:
    """1-based number of the first line starting (indented) with `written` below the line `after`."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() == after)
    return next(i + 1 for i, line in enumerate(lines) if i > start and line.strip().startswith(written))


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project folder: `pytest.ini`, the recorded scenarios in `scenarios/litellm/`, the recording."""
    base = tmp_path_factory.mktemp("project")
    (base / "pytest.ini").write_text("[pytest]\n")
    document = report_docs.every_outcome()
    write_results(document, base / "recorded.json")
    folder = base / "scenarios" / "litellm"
    folder.mkdir(parents=True)
    for scenario in document.scenarios:
        (folder / f"{scenario.id}.yaml").write_text(scenario.source or "")
    return base


def run_pytest(project: Path, *options: str) -> subprocess.CompletedProcess[str]:
    args = [sys.executable, "-m", "pytest", "scenarios", "-p", "tests.fixtures.fake_runner",
            "-p", "tests.fixtures.fake_releases",  # the target check asks a fake index
            "-p", "no:cacheprovider", "--target", "litellm==1.82.3", *options]
    env = {**os.environ, ENV: str(project / "recorded.json"), "PYTHONPATH": str(ROOT),
           "GATECONFORM_CACHE_DIR": str(project / "cache")}
    done = subprocess.run(args, cwd=project, capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 1, done.stdout + done.stderr  # failures and errors
    return done


@pytest.fixture(scope="module")
def seed_text(project: Path) -> str:
    return (project / "scenarios" / "litellm" / f"{SEED}.yaml").read_text()


def test_a_failure_names_the_yaml_line_of_its_expectation(project: Path, seed_text: str) -> None:
    done = run_pytest(project, "-q", "-ra", "-o", "junit_family=xunit1", f"--junitxml={project / 'junit.xml'}")
    cannot_call = _line_of(seed_text, "cannot_call:", after="svc:")
    lists = _line_of(seed_text, "lists:", after="svc:")
    where = f"scenarios/litellm/{SEED}.yaml:{cannot_call} (expect.svc.cannot_call: gpt-4o)"
    assert f"  expectation: {where}" in done.stdout
    assert f"  expectation: scenarios/litellm/{SEED}.yaml:{lists} (expect.svc.lists)" in done.stdout

    cases = {c.get("name"): c for c in ET.parse(project / "junit.xml").getroot().iter("testcase")
             if c.get("classname", "").endswith(f"{SEED}.yaml")}
    failed = cases["svc cannot call gpt-4o"]
    failure = failed.find("failure")
    assert failure is not None and where in (failure.text or "")
    # the verdict sentence stays the short message
    assert failure.get("message", "").startswith("svc cannot call gpt-4o: expected denied, observed allowed")
    # where pytest puts a test's location (xunit1 JUnit), pytest's 0-based line of the expectation
    assert failed.get("file") == f"scenarios/litellm/{SEED}.yaml"
    assert failed.get("line") == str(cannot_call - 1)


SWEEP_SUFFIX = " on every model-bearing route"


def test_a_skip_is_located_at_its_expectation_not_in_the_plugin(project: Path) -> None:
    done = run_pytest(project, "-q", "-ra", f"--junitxml={project / 'junit-skips.xml'}")
    text = (project / "scenarios" / "litellm" / f"{SKIPPED}.yaml").read_text()
    lists = _line_of(text, "lists:", after="svc:")
    assert f"SKIPPED [1] scenarios/litellm/{SKIPPED}.yaml:{lists}: svc lists exactly [gpt-4o-mini]: skipped:" in done.stdout
    assert "harness/pytest" not in done.stdout
    cases = [c for c in ET.parse(project / "junit-skips.xml").getroot().iter("testcase") if c.find("skipped") is not None]
    checks = [c for c in cases if not c.get("name", "").endswith(SWEEP_SUFFIX)]
    assert len(checks) == 7
    # each key's sweep item is skipped too (the recorded document has no sweep), located the same way
    assert {c.get("name") for c in cases if c not in checks} >= {f"svc{SWEEP_SUFFIX}"}
    assert all((c.find("skipped").text or "").startswith("scenarios/litellm/") for c in cases)


def test_the_one_line_traceback_is_the_expectation_line_and_the_verdict(project: Path, seed_text: str) -> None:
    done = run_pytest(project, "-q", "--tb=line")
    cannot_call = _line_of(seed_text, "cannot_call:", after="svc:")
    crash_line = f"scenarios/litellm/{SEED}.yaml:{cannot_call}: svc cannot call gpt-4o: expected denied, observed allowed"
    assert any(line.startswith(crash_line) for line in done.stdout.splitlines()), done.stdout
