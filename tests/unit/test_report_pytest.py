"""Reports through pytest: JUnit (`--junitxml`) and Allure (`--alluredir`) from the plugin.

A pytest subprocess collects scenario files as the plugin does, but its runner replays a
recorded results document (tests/fixtures/fake_runner.py), so no proxy starts.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.fixtures import report_docs
from tests.fixtures.fake_runner import ENV
from harness.store.documents import write_results

# Seconds each (a pytest subprocess or a browser): `pytest -m "not integration and not slow"` skips them.
pytestmark = pytest.mark.slow

ROOT = Path(__file__).parents[2]
#: One check per expectation, and one item per swept key (`harness.pytest.sweep_items`): the
#: recorded document has no sweep verdicts, so those are skipped (or errors, where the scenario
#: could not run).
CHECKS, SWEEP_ITEMS = 33, 9
SEED = report_docs.SEED_ID
HAS_ALLURE = importlib.util.find_spec("allure_pytest") is not None


@pytest.fixture(scope="module")
def pytest_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One pytest session over every scenario of the every-outcome document."""
    base = tmp_path_factory.mktemp("plugin")
    document = report_docs.every_outcome()
    recorded = write_results(document, base / "recorded.json")
    scenarios = base / "scenarios"
    scenarios.mkdir()
    for scenario in document.scenarios:
        (scenarios / f"{scenario.id}.yaml").write_text(scenario.source)
    args = [sys.executable, "-m", "pytest", str(scenarios), "-p", "tests.fixtures.fake_runner",
            "-p", "tests.fixtures.fake_releases",  # the target check asks a fake index
            "-p", "no:cacheprovider", "--target", "litellm==1.82.3", "-q", "-ra",
            f"--junitxml={base / 'junit.xml'}", f"--gateconform-report-dir={base / 'reports'}"]
    if HAS_ALLURE:
        args.append(f"--alluredir={base / 'allure-results'}")
    done = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env={**os.environ, ENV: str(recorded), "GATECONFORM_CACHE_DIR": str(base / "cache")})
    assert done.returncode == 1, done.stdout + done.stderr  # failures and errors
    (base / "stdout.txt").write_text(done.stdout)
    return base


def test_junit_failure_message_is_the_verdict_sentence(pytest_run: Path) -> None:
    cases = {(c.get("classname"), c.get("name")): c for c in ET.parse(pytest_run / "junit.xml").getroot().iter("testcase")}
    assert len(cases) == CHECKS + SWEEP_ITEMS
    failed = next(c for (_, name), c in cases.items() if name == "svc cannot call gpt-4o" and c.find("failure") is not None)
    failure = failed.find("failure")
    assert failure.get("message") == (
        "svc cannot call gpt-4o: expected denied, observed allowed (HTTP 200, upstream received 1 request)")
    assert "upstream requests: 1" in failure.text and "Traceback" not in failure.text
    props = {p.get("name"): p.get("value") for p in failed.iter("property")}
    assert props == {"check_id": f"{SEED}::svc::chat::gpt-4o", "scenario_id": SEED}


def test_junit_maps_errors_to_error_and_skips_to_skipped(pytest_run: Path) -> None:
    cases = list(ET.parse(pytest_run / "junit.xml").getroot().iter("testcase"))
    errors = [c.find("error") for c in cases if c.find("error") is not None]
    assert len(errors) == 8 + 2  # the scenario that could not run: its 7 checks and its 2 keys' sweeps
    server_error = next(e for e in errors if "HTTP 500" in e.get("message"))
    assert server_error.get("message").startswith('failed on setup with "narrow can call claude-sonnet: expected allowed')
    assert "Traceback" not in (server_error.text or "") and "CheckErrored" not in server_error.get("message")
    assert sum(c.find("skipped") is not None for c in cases) == 7 + SWEEP_ITEMS - 2
    assert sum(c.find("failure") is not None for c in cases) == 4
    # -ra's summary lines carry the sentence too
    stdout = (pytest_run / "stdout.txt").read_text()
    assert "svc cannot call gpt-4o: expected denied, observed allowed" in stdout


@pytest.mark.skipif(not HAS_ALLURE, reason="allure-pytest is not installed (pip install -e '.[dev]')")
def test_allure_pytest_gets_labels_severity_and_evidence(pytest_run: Path) -> None:
    folder = pytest_run / "allure-results"
    results = [json.loads(p.read_text()) for p in folder.glob("*-result.json")]
    assert len(results) == CHECKS + SWEEP_ITEMS
    failed = next(r for r in results if r["name"] == "svc cannot call gpt-4o" and r["status"] == "failed")
    labels = {(label["name"], label["value"]) for label in failed["labels"]}
    assert {("epic", "litellm==1.82.3"),
            ("feature", "An access group limits a service-account key in an all-models team"),
            ("story", "svc"), ("severity", "critical")} <= labels
    assert {a["name"] for a in failed["attachments"]} >= {"evidence", "response body (redacted excerpt)", "scenario YAML"}
    for attachment in failed["attachments"]:
        assert (folder / attachment["source"]).is_file()
    assert {"type": "issue", "url": "https://github.com/BerriAI/litellm/issues/23850",
            "name": "BerriAI/litellm#23850"} in failed["links"]
    statuses = {r["status"] for r in results}
    assert statuses == {"passed", "failed", "broken", "skipped"}


def test_report_dir_gets_the_results_document_and_every_report(pytest_run: Path) -> None:
    reports = pytest_run / "reports"
    for name in ("results.json", "report.html", "summary.md", "junit.xml"):
        assert (reports / name).is_file(), name
    document = json.loads((reports / "results.json").read_text())
    assert {s["id"] for s in document["scenarios"]} >= {SEED}
    assert "svc cannot call gpt-4o" in (reports / "summary.md").read_text()
