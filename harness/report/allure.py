"""Allure 2 results: written from a results document, or attached through allure-pytest.

`write_allure_results` writes what `allure serve <folder>` reads: one `<uuid>-result.json`
per check (name, status, labels, links, parameters, attachments), the attachments
(`<uuid>-attachment.<ext>`), `environment.properties` and `categories.json`. UUIDs are
derived from the run and check ids, so writing the same document twice gives the same files.

Behaviors tab: epic = target, feature = scenario, story = principal. Suites tab: target /
scenario id / principal. Status: pass → passed, fail → failed, error → broken (the harness
could not decide), skip → skipped.

`annotate_pytest_item` does the same labelling for a test collected by the pytest plugin when
allure-pytest is active (`pytest --alluredir DIR`).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

from harness.common.files import make_folder, write_text
from harness.report.text import evidence_text, severity, verdict_data
from harness.report.view import evidence_note, issue_label, normalized
from harness.model.results import RunResult, ScenarioResult
from harness.model.verdict import Verdict

STATUS = {"pass": "passed", "fail": "failed", "error": "broken", "skip": "skipped"}
_NAMESPACE = uuid.UUID("6f1c8a52-3b7e-4d0a-9a51-2c4b8e0d7f13")  # gateconform's, fixed

CATEGORIES = [
    {"name": "Access not as expected (check failed)", "matchedStatuses": ["failed"]},
    {"name": "Could not tell (proxy error, timeout, odd answer, target did not start)",
     "matchedStatuses": ["broken"]},
    {"name": "Skipped (the proxy lacks a feature)", "matchedStatuses": ["skipped"]},
]


def _uuid(*parts: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, "\x1f".join(parts)))


def _md5(text: str) -> str:
    return hashlib.md5(text.encode("utf-8")).hexdigest()  # noqa: S324 - an id, not security


def _epoch_ms(iso: str | None) -> int | None:
    if not iso:
        return None
    try:
        return int(datetime.fromisoformat(iso).timestamp() * 1000)
    except ValueError:
        return None


def labels_for(target: str, scenario_id: str, scenario_title: str, verdict: Verdict) -> list[tuple[str, str]]:
    """The Allure labels of one check: behaviours tree, suites tree, severity, probe tag."""
    principal = verdict.check.principal
    return [
        ("epic", target),
        ("feature", scenario_title or scenario_id),
        ("story", principal),
        ("parentSuite", target),
        ("suite", scenario_id),
        ("subSuite", principal),
        ("severity", severity(verdict)),
        ("tag", verdict.check.probe),
    ]


def _attachments(verdict: Verdict, scenario: ScenarioResult) -> list[tuple[str, str, str, str]]:
    """(name, body, MIME type, extension) of each attachment of one check."""
    found = [("evidence", json.dumps(verdict_data(verdict), indent=2, ensure_ascii=False) + "\n",
              "application/json", "json")]
    obs = verdict.observation
    if obs is not None and obs.body_excerpt:
        found.append(("response body (redacted excerpt)", obs.body_excerpt, "text/plain", "txt"))
    if scenario.error:
        found.append(("target / provisioning error", scenario.error, "text/plain", "txt"))
    if scenario.source:
        found.append(("scenario YAML", scenario.source, "text/plain", "yaml"))
    return found


def _result(run: RunResult, scenario: ScenarioResult, verdict: Verdict, folder: Path) -> dict[str, Any]:
    test_uuid = _uuid(run.run_id, run.target, verdict.check_id)
    attachments = []
    for index, (name, body, mime, ext) in enumerate(_attachments(verdict, scenario)):
        source = f"{_uuid(test_uuid, str(index), name)}-attachment.{ext}"
        write_text(folder / source, body)
        attachments.append({"name": name, "source": source, "type": mime})

    start = _epoch_ms(run.started_at) or 0
    obs = verdict.observation
    elapsed = int(round(obs.elapsed_ms)) if obs is not None else 0
    outcome = verdict.outcome.value
    result: dict[str, Any] = {
        "uuid": test_uuid,
        "historyId": _md5(f"{run.target}\x1f{verdict.check_id}"),
        "testCaseId": _md5(verdict.check_id),
        "fullName": verdict.check_id,
        "name": verdict.title,
        "description": "\n\n".join(part for part in (scenario.title, verdict.message, evidence_note(run.evidence))
                                     if part),
        "status": STATUS[outcome],
        "stage": "finished",
        "start": start,
        "stop": start + elapsed,
        "labels": [{"name": n, "value": v} for n, v in labels_for(run.target, scenario.id, scenario.title, verdict)]
        + [{"name": "host", "value": run.machine.hostname}, {"name": "framework", "value": "gateconform"},
           {"name": "language", "value": "python"}],
        "links": ([{"type": "issue", "url": scenario.issue, "name": issue_label(scenario.issue)}] if scenario.issue else [])
        + _rule_links(verdict, scenario),
        "parameters": [
            {"name": name, "value": value}
            for name, value in (("principal", verdict.check.principal), ("model", verdict.check.model),
                                ("probe", verdict.check.probe), ("expected", verdict.expected),
                                ("oracle", verdict.check.oracle), ("derivation", verdict.check.derivation))
            if value
        ],
        "attachments": attachments,
    }
    if outcome != "pass":
        result["statusDetails"] = {"message": verdict.message, "trace": evidence_text(verdict)}
    return result


def _rule_links(verdict: Verdict, scenario: ScenarioResult) -> list[dict[str, str]]:
    """A derived check's documented rules, each a link to its page (the docs it rests on)."""
    rules = scenario.rules or {}
    return [{"type": "link", "url": rules[rule]["url"], "name": f"rule {rule}"}
            for rule in verdict.check.rules or () if rules.get(rule, {}).get("url")]


def _environment(run: RunResult) -> str:
    pairs = [
        ("target", run.target), ("target.kind", run.target_kind), ("proxy.version", run.proxy_version),
        ("image.digest", run.image_digest), ("run.id", run.run_id), ("gateconform", run.harness_version),
        ("substitutions", "; ".join(run.substitutions or [])), ("deps.dating", run.deps_dating),
        ("started", run.started_at), ("machine", f"{run.machine.hostname}, {run.machine.cores} cores"),
        ("python", run.machine.python), ("evidence", evidence_note(run.evidence)),
    ]
    # .properties values: only a backslash and a line break need escaping.
    def escape(text: str) -> str:
        return text.replace("\\", "\\\\").replace("\n", "\\n")

    return "".join(f"{key}={escape(value)}\n" for key, value in pairs if value)


def write_allure_results(result: RunResult, folder: Path) -> Path:
    """Write Allure 2 result files for every check of `result` into `folder`; returns it."""
    result = normalized(result)
    folder = make_folder(folder)
    # Each file is written whole; a result file comes after its attachments, so Allure never
    # finds one whose attachments are missing, even when the disk fills up half way.
    for scenario in result.scenarios:
        for verdict in scenario.verdicts:
            data = _result(result, scenario, verdict, folder)
            text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
            write_text(folder / f"{data['uuid']}-result.json", text)
    write_text(folder / "environment.properties", _environment(result))
    write_text(folder / "categories.json", json.dumps(CATEGORIES, indent=2) + "\n")
    return folder


def annotate_pytest_item(target: str, scenario: ScenarioResult, verdict: Verdict) -> None:
    """Label the running pytest test for allure-pytest and attach the evidence.

    Call only while allure-pytest records (during setup or call of the test).
    """
    import allure  # allure-pytest's API; imported only when its plugin is active

    for name, value in labels_for(target, scenario.id, scenario.title, verdict):
        allure.dynamic.label(name, value)
    if scenario.issue:
        allure.dynamic.issue(scenario.issue, issue_label(scenario.issue))
    allure.dynamic.description(f"{scenario.title}\n\n{verdict.message}")
    for name, body, mime, ext in _attachments(verdict, scenario):
        allure.attach(body, name=name, attachment_type=_attachment_type(mime, ext))


def _attachment_type(mime: str, ext: str) -> Any:
    from allure_commons.types import AttachmentType

    if mime == "application/json":
        return AttachmentType.JSON
    if ext == "yaml":
        return AttachmentType.YAML
    return AttachmentType.TEXT
