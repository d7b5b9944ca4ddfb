"""The seed scenario (BerriAI/litellm#23850) end to end, as a user runs it, on real proxies.

The CLI runs it on 1.82.3 (the reported version) and the pytest plugin on 1.108.7 (a current
release); both are subprocesses, exactly as a user types them. What is asserted is the
harness's verdicts: the over-broad access is reported as failures naming the models, the
control key passes, nothing secret reaches a report, and nothing is left running.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from harness.targets.lifecycle import OWNER_ENV, OWNER_FILE
from harness.targets.processes import marked_processes
from harness.targets.reaping import leftover_run_dirs
from tests.integration.interrupts import sigint_as_in_a_terminal

pytestmark = pytest.mark.integration

ROOT = Path(__file__).parents[2]
SEED = ROOT / "scenarios/litellm/issue-23850-access-group-limits-service-key.yaml"
SEED_ID = "litellm-23850-access-group-limits-service-key"
KEY_PATTERN = re.compile(r"sk-[A-Za-z0-9_\-]{8,}")
OVER_BROAD = {"svc cannot call gpt-4o", "svc cannot call claude-sonnet", "svc lists exactly [gpt-4o-mini]"}


def run(command: list[str], timeout: float = 900) -> subprocess.CompletedProcess[str]:
    """Run a command as a user would, then assert it left no process and no temp folder."""
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    stdout, stderr = process.communicate(timeout=timeout)
    assert_nothing_left_by(process.pid)
    return subprocess.CompletedProcess(command, process.returncode, stdout, stderr)


def gateconform(*args: str) -> list[str]:
    return [sys.executable, "-c", "from harness.cli.app import main; main()", *args]


def processes_owned_by(pid: int) -> list[int]:
    """Live processes a gateconform run in process `pid` started (other runs on the machine aside)."""
    return sorted(
        found for found, marker in marked_processes()
        if marker.get(OWNER_ENV, "").startswith(f"{pid}:")
    )


def run_dirs_owned_by(pid: int) -> list[Path]:
    """Temp folders a gateconform run in process `pid` made (each records its owner as `pid:ticks`).

    Only this run's: another run on the machine (a parallel CI job, a user's run) is never counted.
    """
    owned = []
    for folder in leftover_run_dirs():
        try:
            owner = (folder / OWNER_FILE).read_text().strip()
        except OSError:
            continue  # being created or removed right now by some run, or not a run folder
        if owner.startswith(f"{pid}:"):
            owned.append(folder)
    return owned


def assert_nothing_left_by(pid: int) -> None:
    assert processes_owned_by(pid) == [], "a proxy, engine or database of the finished run is still running"
    assert run_dirs_owned_by(pid) == [], "the finished run left temp folders"


def assert_no_secrets_in(folder: Path) -> None:
    for path in folder.rglob("*"):
        if path.is_file():
            found = KEY_PATTERN.findall(path.read_text(errors="replace"))
            assert found == [], f"{path.name} contains an unredacted key: {found[0][:6]}…"


def test_cli_reports_the_over_broad_access_on_1_82_3(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    done = run(gateconform("run", str(SEED), "--target", "litellm==1.82.3", "--report-dir", str(reports)))
    assert done.returncode == 1, done.stdout + done.stderr  # 1 = a check failed

    result = json.loads((reports / "results.json").read_text())
    assert result["proxy_version"] == "1.82.3"
    (scenario,) = result["scenarios"]
    assert scenario["id"] == SEED_ID
    # the written checks (the sweep's, on every other route, are the request-surface tests')
    outcomes = {v["title"]: v["outcome"] for v in scenario["verdicts"] if v["check"].get("oracle") != "sweep"}
    assert {title for title, outcome in outcomes.items() if outcome == "fail"} == OVER_BROAD
    assert {title for title, outcome in outcomes.items() if outcome == "pass"} == {
        "svc can call gpt-4o-mini",
        "control can call gpt-4o",
        "control can call gpt-4o-mini",
        "control can call claude-sonnet",
    }
    listing = next(v for v in scenario["verdicts"] if v["title"] == "svc lists exactly [gpt-4o-mini]")
    assert "extra:" in listing["message"]
    assert "gpt-4o" in listing["message"] and "claude-sonnet" in listing["message"]
    denied_call = next(v for v in scenario["verdicts"] if v["title"] == "svc cannot call gpt-4o")
    assert denied_call["observation"]["status"] == 200
    assert len(denied_call["observation"]["upstream_hits"]) == 1  # the provider really got it

    # The terminal shows the same, failures named as sentences.
    assert "svc cannot call gpt-4o: expected denied, observed allowed" in " ".join(done.stdout.split())
    # Every report of the run is there, and the grep below reads each of them.
    written = {path.relative_to(reports).as_posix() for path in reports.rglob("*") if path.is_file()}
    assert {"results.json", "report.html", "summary.md", "junit.xml"} <= written, sorted(written)
    assert len([name for name in written if name.startswith("allure-results/") and name.endswith("-result.json")]) \
        == len(scenario["verdicts"])  # one per check, the sweep's too
    assert "svc cannot call gpt-4o" in (reports / "summary.md").read_text()
    assert_no_secrets_in(reports)
    assert KEY_PATTERN.findall(done.stdout + done.stderr) == []


def test_pytest_plugin_collects_checks_as_tests_on_a_current_release(tmp_path: Path) -> None:
    junit = tmp_path / "junit.xml"
    results = tmp_path / "results.json"
    done = run([
        sys.executable, "-m", "pytest", str(SEED), "--target", "litellm==1.108.7", "-p", "no:cacheprovider",
        f"--junitxml={junit}", f"--gateconform-results={results}", "-q",
    ])
    assert done.returncode == 1, done.stdout + done.stderr

    every = {case.get("name"): case for case in ET.parse(junit).getroot().iter("testcase")}
    cases = {name: case for name, case in every.items() if "on every model-bearing route" not in name}  # the sweep's: one per key
    assert len(cases) == 7 and len(every) > len(cases)
    failed = {name for name, case in cases.items() if case.find("failure") is not None}
    # 1.108.7 still lets the service-account key past its access group.
    assert failed == OVER_BROAD
    failure_text = cases["svc cannot call gpt-4o"].find("failure").text or ""
    assert "expected denied, observed allowed" in failure_text

    document = json.loads(results.read_text())
    assert document["proxy_version"] == "1.108.7"
    assert_no_secrets_in(tmp_path)


def test_ctrl_c_during_proxy_boot_leaves_nothing(tmp_path: Path) -> None:
    process = subprocess.Popen(
        gateconform("run", str(SEED), "--target", "litellm==1.82.3", "--report-dir", str(tmp_path)),
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        preexec_fn=sigint_as_in_a_terminal,
    )
    assert process.stdout is not None
    seen: list[str] = []
    deadline = time.monotonic() + 600
    for line in process.stdout:
        seen.append(line)
        if "starting proxy" in line:
            time.sleep(3)  # well into the proxy's import phase
            process.send_signal(signal.SIGINT)
            break
        assert time.monotonic() < deadline, "the proxy never started booting"
    else:
        pytest.fail("the run ended before the proxy started: " + "".join(seen))
    rest = process.communicate(timeout=120)[0]
    assert process.returncode != 0, "an interrupted run must not report success"
    assert_nothing_left_by(process.pid)
    assert "interrupted" in rest, "".join(seen) + rest
