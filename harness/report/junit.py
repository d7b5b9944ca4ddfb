"""JUnit XML drawn from a results document (for `gateconform run`, without pytest).

One `<testsuite>` per scenario, one `<testcase>` per check: a failed check is `<failure>`, a
check the harness could not decide is `<error>`, a skipped one `<skipped>`. The failure
message is the verdict sentence ("svc cannot call gpt-4o: expected denied, observed allowed
…"); the element text carries the evidence. Names match the pytest plugin's test names.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import datetime

from harness.report.text import evidence_text
from harness.report.view import evidence_note, normalized
from harness.model.results import RunResult, ScenarioResult
from harness.model.verdict import Outcome, Verdict

# Characters XML 1.0 cannot carry at all (a body excerpt may contain them).
_ILLEGAL_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _clean(text: str) -> str:
    return _ILLEGAL_XML.sub("\ufffd", text)


def _seconds(ms: float | None) -> str:
    return f"{(ms or 0.0) / 1000:.3f}"


def _run_seconds(result: RunResult) -> float:
    try:
        start = datetime.fromisoformat(result.started_at)
        end = datetime.fromisoformat(result.finished_at or result.started_at)
    except ValueError:
        return 0.0
    return max(0.0, (end - start).total_seconds())


def _set_counts(element: ET.Element, counts: dict[str, int]) -> None:
    element.set("tests", str(sum(counts.values())))
    element.set("failures", str(counts[Outcome.FAIL.value]))
    element.set("errors", str(counts[Outcome.ERROR.value]))
    element.set("skipped", str(counts[Outcome.SKIP.value]))


def _properties(parent: ET.Element, pairs: list[tuple[str, str | None]]) -> None:
    present = [(name, value) for name, value in pairs if value]
    if present:
        properties = ET.SubElement(parent, "properties")
        for name, value in present:
            ET.SubElement(properties, "property", name=name, value=_clean(value))  # type: ignore[arg-type]


def _testcase(suite: ET.Element, scenario: ScenarioResult, verdict: Verdict) -> None:
    obs = verdict.observation
    case = ET.SubElement(suite, "testcase", classname=scenario.id, name=_clean(verdict.title),
                         time=_seconds(obs.elapsed_ms if obs is not None else None))
    derived = verdict.check.oracle == "derived"  # a derived check says what it rests on (absent otherwise)
    _properties(case, [("check_id", verdict.check_id), ("scenario_id", scenario.id),
                       ("oracle", verdict.check.oracle if derived else None),
                       ("derivation", verdict.check.derivation if derived else None),
                       ("rules", " ".join(verdict.check.rules or ()) if derived else None)])
    outcome = verdict.outcome
    if outcome is Outcome.FAIL:
        element = ET.SubElement(case, "failure", message=_clean(verdict.message), type="CheckFailed")
        element.text = _clean(evidence_text(verdict))
    elif outcome is Outcome.ERROR:
        element = ET.SubElement(case, "error", message=_clean(verdict.message), type="CheckErrored")
        element.text = _clean(evidence_text(verdict))
    elif outcome is Outcome.SKIP:
        reason = verdict.check.skip_reason or verdict.message
        ET.SubElement(case, "skipped", message=_clean(reason), type="pytest.skip")


def render_junit(result: RunResult) -> str:
    """JUnit XML text of `result` (deterministic: the same document gives the same bytes)."""
    result = normalized(result)
    root = ET.Element("testsuites", name=f"gateconform {result.target}")
    _set_counts(root, result.counts)
    root.set("time", f"{_run_seconds(result):.3f}")
    for scenario in result.scenarios:
        suite = ET.SubElement(root, "testsuite", name=scenario.id)
        _set_counts(suite, scenario.counts)
        suite.set("time", _seconds(scenario.elapsed_ms))
        suite.set("timestamp", result.started_at)
        suite.set("hostname", result.machine.hostname)
        _properties(suite, [
            ("target", result.target), ("proxy_version", result.proxy_version),
            ("image_digest", result.image_digest), ("run_id", result.run_id),
            ("evidence", evidence_note(result.evidence)),
            ("substitutions", "; ".join(result.substitutions or []) or None), ("deps_dating", result.deps_dating),
            ("scenario_title", scenario.title), ("issue", scenario.issue), ("path", scenario.path),
        ])
        for verdict in scenario.verdicts:
            _testcase(suite, scenario, verdict)
        if scenario.error:
            ET.SubElement(suite, "system-err").text = _clean(scenario.error)
    ET.indent(root, space="  ")
    text = ET.tostring(root, encoding="unicode", xml_declaration=False)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + text + "\n"
