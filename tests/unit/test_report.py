"""Reports drawn from a results document: HTML, Markdown, JUnit, Allure, and `gateconform report`.

Everything here reads a real run's document (tests/fixtures) or variants of it that add a
proxy that did not start, a skipped scenario and an HTTP 500; nothing starts a proxy.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from typer.testing import CliRunner

from harness.cli import app as cli
from harness.report import outputs
from harness.report.html import render_html
from harness.report.junit import render_junit
from harness.report.markdown import render_markdown
from harness.report.view import build_view
from harness.model.results import RunResult
from harness.store.documents import write_results
from tests.fixtures import report_docs
from tests.fixtures.fake_runner import install

KEY_PATTERN = re.compile(r"sk-[A-Za-z0-9_\-]{8,}")
SEED = report_docs.SEED_ID


def files_of(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


# -- the matrix


def test_matrix_marks_each_model_of_a_failed_listing_and_the_calls_that_got_through() -> None:
    view = build_view(report_docs.load())
    seed = next(s for s in view.scenarios if s.id == SEED)

    assert [c.model for c in seed.columns] == ["gpt-4o", "gpt-4o-mini", "claude-sonnet", "all-proxy-models"]
    assert seed.columns[-1].listed_only  # only the proxy named it
    svc = {c.model: cell for c, cell in zip(seed.columns, seed.rows[0].cells)}
    assert seed.rows[0].principal == "svc"
    assert (svc["gpt-4o"].listed.state, svc["gpt-4o"].listed.expected, svc["gpt-4o"].listed.observed) == (
        "fail", "not listed", "listed")
    assert (svc["gpt-4o-mini"].listed.state, svc["gpt-4o-mini"].listed.expected) == ("pass", "listed")
    assert (svc["gpt-4o"].call.state, svc["gpt-4o"].call.expected, svc["gpt-4o"].call.observed) == (
        "fail", "denied", "allowed (200)")
    assert svc["gpt-4o-mini"].call.state == "pass"
    assert svc["all-proxy-models"].listed.state == "fail" and svc["all-proxy-models"].call.state == "none"
    control = seed.rows[1]
    assert control.principal == "control"
    assert {cell.listed.state for cell in control.cells} == {"none"}  # its listing is not checked
    # every checked part links to the evidence of its check
    assert svc["gpt-4o"].call.anchor == next(e.anchor for e in seed.evidence if e.title == "svc cannot call gpt-4o")


def test_failures_come_first_in_scenarios_and_checks() -> None:
    view = build_view(report_docs.every_outcome())
    assert [s.overall for s in view.scenarios] == ["fail", "fail", "error", "error", "skip"]
    for scenario in view.scenarios:
        ranks = [{"fail": 0, "error": 1, "skip": 2, "pass": 3}[e.outcome] for e in scenario.evidence]
        assert ranks == sorted(ranks)
    # a proxy that did not start is one entry to look at, not one per check
    attention = [(s.id, e.title if e else None) for s, e in view.attention]
    assert ("litellm-boot-failure", None) in attention
    assert [e for s, e in view.attention if s.id == "litellm-boot-failure"] == [None]
    assert attention[0][0] == SEED


# -- HTML


def test_html_is_one_self_contained_page_with_summary_matrix_and_evidence() -> None:
    page = render_html(report_docs.load())

    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    # nothing fetched: no external stylesheet, script, image, font or frame
    assert not re.search(r"<link\b|<img\b|<iframe\b|@import|url\(|\bsrc=", page)
    assert re.findall(r'href="(?!#)([^"]+)"', page) == ["https://github.com/BerriAI/litellm/issues/23850"]
    # summary first: verdict, target, proxy version, counts
    head = page[: page.index("Needs attention")]
    assert "FAIL" in head and "litellm==1.82.3" in head and "LiteLLM 1.82.3" in head
    assert re.search(r'data-outcome="fail"><b>4</b> failed', head)
    assert re.search(r'data-outcome="pass"><b>15</b> passed', head)
    # one matrix per scenario, failing parts marked, evidence one click away
    assert page.count('<table class="matrix">') == 3
    failing_links = re.findall(r'<a class="part fail" href="#(c-[0-9a-f]+)"', page)
    assert len(failing_links) == 6  # seed: 3 listed parts wrong + 2 calls; listing scenario: 1
    for anchor in set(failing_links):
        assert f'<details class="check fail" id="{anchor}"' in page
    assert "saw allowed (200)" in page
    assert "upstream received 1 request" in page and "gc-ca7cc56f-2" in page  # upstream hits
    assert "key_model_access_denied" in page  # a denial's error type
    assert "BerriAI/litellm#23850" in page
    # failing scenarios come first
    sections = re.findall(r'<section class="scenario" id="s-\d+" data-scenario="([^"]+)" data-overall="(\w+)"', page)
    assert [overall for _, overall in sections] == ["fail", "fail", "pass"]


def test_html_shows_a_boot_failure_with_its_log_tail_a_skip_reason_and_a_server_error() -> None:
    page = render_html(report_docs.every_outcome())

    assert "The scenario could not run" in page
    assert "NotConnectedError: Could not connect to the query engine" in page
    assert report_docs.SKIP_REASON in page
    assert '<a class="part error"' in page and '<a class="part skip"' in page
    assert "HTTP 500 is a server error" in page
    assert "postgresql://llmproxy:***@" in page  # the log tail stays redacted


def test_html_escapes_what_the_proxy_sent() -> None:
    result = report_docs.load()
    verdict = report_docs.scenario(result, SEED).verdicts[1]
    verdict.observation.body_excerpt = '<script>alert("x")</script>'
    page = render_html(result)
    assert '<script>alert("x")</script>' not in page
    assert "&lt;script&gt;alert(" in page


def test_rerendering_the_results_document_gives_identical_files(tmp_path: Path) -> None:
    # In memory (sets in hash order, fresh objects) and read back from disk: same bytes.
    result = report_docs.every_outcome()
    results_path = write_results(result, tmp_path / "run" / "results.json")
    outputs.write_reports(result, tmp_path / "run")
    again = CliRunner().invoke(cli.app, ["report", str(results_path), "--out-dir", str(tmp_path / "again")])
    assert again.exit_code == 0, again.output

    first, second = files_of(tmp_path / "run"), files_of(tmp_path / "again")
    first.pop("results.json")
    assert sorted(first) == sorted(second)
    assert first == second
    assert {"report.html", "summary.md", "junit.xml", "allure-results/environment.properties"} <= set(first)


# -- Markdown


def test_markdown_summary_has_target_counts_failing_table_and_folded_yaml() -> None:
    text = render_markdown(report_docs.every_outcome())

    assert text.startswith("### gateconform: ❌ FAIL on `litellm==1.82.3` (LiteLLM 1.82.3)")
    assert "**4 failed**, **8 errors**, 14 passed, 7 skipped — 33 checks in 5 scenarios" in text
    rows = [line for line in text.splitlines() if line.startswith("| ")]
    assert rows[0] == "| | scenario | check | route | expected | observed |"
    # A denied call that got through is a bypass, named with its route, before any other failure.
    assert rows[1] == (f"| 🚨 bypass | {SEED} | svc cannot call gpt-4o | `POST /v1/chat/completions` | denied "
                       "| allowed (200) |")
    assert rows[3] == (f"| ❌ fail | {SEED} | svc lists exactly [gpt-4o-mini] | `GET /v1/models` | [gpt-4o-mini] "
                       "| [all-proxy-models, claude-sonnet, gpt-4o, gpt-4o-mini] |")
    assert any("⚠️ error" in row and "narrow can call claude-sonnet" in row and "HTTP 500" in row for row in rows)
    assert not any("✅" in row for row in rows)  # passing checks are not in the table
    # each failing scenario: sentences, rerun command, YAML folded
    assert ("- 🚨 svc cannot call gpt-4o: expected denied, observed allowed (HTTP 200, upstream received 1 request) "
            "(`POST /v1/chat/completions`)") in text
    assert ("gateconform run scenarios/litellm/issue-23850-access-group-limits-service-key.yaml "
            "--target litellm==1.82.3") in text
    assert text.count("<details><summary>Scenario YAML") == 4  # 2 failing, 1 erroring, 1 boot failure
    yaml_block = text.split("<details><summary>Scenario YAML", 1)[1].split("</details>", 1)[0]
    assert "```yaml\n# BerriAI/litellm#23850" in yaml_block and "cannot_call: [gpt-4o, claude-sonnet]" in yaml_block
    assert "<details><summary>The scenario could not run (error and log tail)</summary>" in text
    assert "[BerriAI/litellm#23850](https://github.com/BerriAI/litellm/issues/23850)" in text
    assert "Also run: ⏭️ `litellm-skipped-access-groups`" in text


def test_markdown_table_cells_cannot_break_the_table() -> None:
    result = report_docs.load()
    verdict = report_docs.scenario(result, SEED).verdicts[1]
    verdict.observed = "a | b\nc <b>"
    text = render_markdown(result)
    assert "| a \\| b c &lt;b> |" in text


def test_markdown_of_a_passing_run_says_so() -> None:
    result = report_docs.load()
    result.scenarios = [report_docs.scenario(result, report_docs.PASSING_ID)]
    text = render_markdown(result)
    assert text.startswith("### gateconform: ✅ PASS")
    assert "Every check passed." in text and "| |" not in text


# -- JUnit


def test_junit_has_one_testcase_per_check_with_failure_error_and_skipped() -> None:
    result = report_docs.every_outcome()
    root = ET.fromstring(render_junit(result))

    assert root.tag == "testsuites"
    assert (root.get("tests"), root.get("failures"), root.get("errors"), root.get("skipped")) == ("33", "4", "8", "7")
    cases = {(c.get("classname"), c.get("name")): c for c in root.iter("testcase")}
    assert len(cases) == 33
    failed = cases[(SEED, "svc cannot call gpt-4o")]
    failure = failed.find("failure")
    assert failure.get("message") == (
        "svc cannot call gpt-4o: expected denied, observed allowed (HTTP 200, upstream received 1 request)")
    assert "upstream requests: 1" in failure.text and "HTTP status: 200" in failure.text
    props = {p.get("name"): p.get("value") for p in failed.iter("property")}
    assert props == {"check_id": f"{SEED}::svc::chat::gpt-4o", "scenario_id": SEED}
    assert failed.get("time") == "0.207"

    errored = cases[("litellm-key-models-list-limits-key", "narrow can call claude-sonnet")]
    assert errored.find("error").get("message").startswith("narrow can call claude-sonnet: expected allowed, but HTTP 500")
    assert errored.find("failure") is None
    boot = cases[("litellm-boot-failure", "svc cannot call gpt-4o")]
    assert "target did not start" in boot.find("error").get("message")
    skipped = cases[("litellm-skipped-access-groups", "svc cannot call gpt-4o")]
    assert skipped.find("skipped").get("message") == report_docs.SKIP_REASON
    passed = cases[(SEED, "svc can call gpt-4o-mini")]
    assert list(passed) == [passed.find("properties")]
    suite = next(s for s in root.iter("testsuite") if s.get("name") == "litellm-boot-failure")
    assert "NotConnectedError" in suite.find("system-err").text
    suite_props = {p.get("name"): p.get("value") for p in root.find("testsuite").find("properties")}
    assert suite_props["target"] == "litellm==1.82.3" and suite_props["proxy_version"] == "1.82.3"


def test_junit_survives_control_characters_in_a_body() -> None:
    result = report_docs.load()
    report_docs.scenario(result, SEED).verdicts[1].observation.body_excerpt = "bad \x00\x1b byte"
    root = ET.fromstring(render_junit(result))  # parses: no raw control character was written
    case = next(c for c in root.iter("testcase") if c.get("name") == "svc cannot call gpt-4o")
    assert "body: bad \ufffd\ufffd byte" in case.find("failure").text


# -- Allure


def test_allure_results_build_a_tree_with_evidence(tmp_path: Path) -> None:
    folder = outputs.write_allure(report_docs.every_outcome(), tmp_path / "allure-results")
    results = [json.loads(p.read_text()) for p in sorted(folder.glob("*-result.json"))]

    assert len(results) == 33
    assert {r["status"] for r in results} == {"passed", "failed", "broken", "skipped"}
    by_name = {(r["fullName"]): r for r in results}
    failed = by_name[f"{SEED}::svc::chat::gpt-4o"]
    labels = {(label["name"], label["value"]) for label in failed["labels"]}
    assert {("epic", "litellm==1.82.3"),
            ("feature", "An access group limits a service-account key in an all-models team"),
            ("story", "svc"), ("severity", "critical"), ("suite", SEED)} <= labels
    assert failed["status"] == "failed" and failed["stage"] == "finished"
    assert failed["statusDetails"]["message"].startswith("svc cannot call gpt-4o: expected denied")
    assert failed["links"] == [{"type": "issue", "url": "https://github.com/BerriAI/litellm/issues/23850",
                                "name": "BerriAI/litellm#23850"}]
    assert re.fullmatch(r"[0-9a-f-]{36}", failed["uuid"])
    names = [a["name"] for a in failed["attachments"]]
    assert names == ["evidence", "response body (redacted excerpt)", "scenario YAML"]
    for attachment in failed["attachments"]:
        assert (folder / attachment["source"]).is_file()
    evidence = json.loads((folder / failed["attachments"][0]["source"]).read_text())
    assert evidence["observation"]["status"] == 200 and evidence["outcome"] == "fail"
    allowed = by_name[f"{SEED}::svc::chat::gpt-4o-mini"]
    assert ("severity", "normal") in {(label["name"], label["value"]) for label in allowed["labels"]}
    boot = by_name["litellm-boot-failure::svc::chat::gpt-4o"]
    assert boot["status"] == "broken"
    assert "target / provisioning error" in [a["name"] for a in boot["attachments"]]
    assert "proxy.version=1.82.3" in (folder / "environment.properties").read_text()
    assert json.loads((folder / "categories.json").read_text())[0]["matchedStatuses"] == ["failed"]


# -- secrets


def test_no_report_contains_a_secret_even_if_the_document_leaked_one(tmp_path: Path) -> None:
    master = "sk-master-" + "M" * 24
    generated = "sk-" + "g3n3rat3d" * 3
    result = report_docs.every_outcome()
    seed = report_docs.scenario(result, SEED)
    seed.verdicts[1].observation.body_excerpt = f'{{"key": "{generated}", "auth": "Bearer {master}"}}'
    seed.verdicts[1].observation.error_message = f"key {generated} was used"
    next(s for s in result.scenarios if s.error).error += f"\nLITELLM_MASTER_KEY={master}"

    outputs.write_reports(result, tmp_path)
    written = files_of(tmp_path)
    assert len(written) > 10
    for name, data in written.items():
        text = data.decode("utf-8", errors="replace")
        assert master not in text and generated not in text, name
        assert KEY_PATTERN.findall(text) == [], name
    assert "sk-…MMMM" in (tmp_path / "report.html").read_text()


# -- the results document and the command


def test_documents_without_the_newer_optional_fields_still_load() -> None:
    data = json.loads(report_docs.FIXTURE.read_text())
    for key in ("target_kind", "image_digest"):
        data.pop(key, None)
    old = RunResult.from_json(json.dumps(data))
    assert old.target_kind is None and old.image_digest is None
    assert render_html(old)  # reports cope with the fields missing
    assert RunResult.new("litellm==1.82.3").target_kind == "local"
    assert RunResult.new("docker:ghcr.io/berriai/litellm:main-v1.82.3").target_kind == "docker"
    assert RunResult.new("http://localhost:4000").target_kind == "url"


def test_report_command_writes_the_files_asked_for(tmp_path: Path) -> None:
    results = write_results(report_docs.load(), tmp_path / "results.json")
    runner = CliRunner()
    done = runner.invoke(cli.app, ["report", str(results), "--html", str(tmp_path / "out.html"),
                                   "--markdown", str(tmp_path / "s.md"), "--junit", str(tmp_path / "j.xml")])
    assert done.exit_code == 0, done.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["j.xml", "out.html", "results.json", "s.md"]
    assert f"report: {tmp_path / 'out.html'}" in done.output

    default = runner.invoke(cli.app, ["report", str(results)])
    assert default.exit_code == 0, default.output
    assert {"report.html", "summary.md", "junit.xml", "allure-results"} <= {p.name for p in tmp_path.iterdir()}


@pytest.mark.parametrize("content, says", [
    (None, "no such file"),
    ("{}", "not a gateconform results document"),
    ('{"schema_version": "gateconform.results/9"}', "not a gateconform results document"),
])
def test_report_command_refuses_what_is_not_a_results_document(tmp_path: Path, content: str | None, says: str) -> None:
    path = tmp_path / "results.json"
    if content is not None:
        path.write_text(content)
    done = CliRunner().invoke(cli.app, ["report", str(path), "--html", str(tmp_path / "out.html")])
    assert done.exit_code == 2
    assert says in " ".join(done.output.split())
    assert not (tmp_path / "out.html").exists()


def test_run_writes_every_report_and_prints_their_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    document = report_docs.load()
    recorded = write_results(document, tmp_path / "recorded.json")
    install(monkeypatch, str(recorded))
    scenarios = tmp_path / "scenarios"
    scenarios.mkdir()
    for scenario in document.scenarios:
        (scenarios / f"{scenario.id}.yaml").write_text(scenario.source)
    out = tmp_path / "out"

    done = CliRunner().invoke(cli.app, ["run", str(scenarios), "--target", "litellm==1.82.3", "--report-dir", str(out)])
    assert done.exit_code == 1, done.output  # the recorded run has failures
    for name in ("results.json", "report.html", "summary.md", "junit.xml", "allure-results"):
        assert (out / name).exists(), name
        assert f"report: {out / name}" in done.output
    assert len(list((out / "allure-results").glob("*-result.json"))) == 19
