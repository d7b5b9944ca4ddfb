"""Reports of a derived or both run: each check's origin, a derived check's rule chain and doc link,
the cases the docs leave open and the contradictions found."""

from __future__ import annotations

import io
import json
import xml.etree.ElementTree as ET
from dataclasses import replace

from rich.console import Console

from harness.report.allure import write_allure_results
from harness.report.html import render_html
from harness.report.junit import render_junit
from harness.report.markdown import render_markdown
from harness.report.terminal import print_verdicts
from tests.fixtures import report_docs

CHAIN = "key access group limited {gpt-4o-mini} ∩ team all-proxy-models ⇒ gpt-4o denied"
URL = "https://docs.litellm.ai/docs/proxy/access_groups"
DENIED_GPT4O = f"{report_docs.SEED_ID}::svc::chat::gpt-4o"


def _derived_run():
    result = report_docs.load()
    seed = next(s for s in result.scenarios if s.id == report_docs.SEED_ID)
    seed.verdicts = [
        replace(v, check=replace(v.check, oracle="derived", derivation=CHAIN,
                                              rules=("key-access-group", "team-step")))
        if v.check_id == DENIED_GPT4O else v
        for v in seed.verdicts
    ]
    seed.oracle = "both"
    seed.rules = {"key-access-group": {"sentence": "…", "url": URL, "releases": ">=1.81.12"},
                  "team-step": {"sentence": "…", "url": "https://docs.litellm.ai/docs/proxy/key_auth_arch"}}
    seed.undetermined = [{"principal": "svc", "round": None, "model": "flagship",
                          "reason": "the docs do not say whether an alias inherits its target's access", "rules": []}]
    seed.contradictions = [{"check_id": f"{report_docs.SEED_ID}::control::list_models", "written": "lists exactly [x]",
                            "derived": "lists exactly [gpt-4o]", "summary": "team all-proxy-models ⇒ {gpt-4o}"}]
    return result


def test_markdown_shows_the_chain_with_its_doc_link_the_open_cases_and_the_contradictions():
    text = render_markdown(_derived_run())
    assert f"derived: {CHAIN}" in text
    assert f"[key-access-group]({URL})" in text
    assert "Oracle: `both` — 1 derived checks, 1 undetermined, 1 contradictions" in text
    assert "the docs do not say whether an alias inherits its target's access" in text
    assert "written lists exactly [x], the docs derive lists exactly [gpt-4o]" in text


def test_html_shows_each_checks_origin_and_a_derived_ones_rules():
    page = render_html(_derived_run())
    assert "derived from the documented rules" in page and "written in the scenario" in page
    assert f'<a href="{URL}" rel="noreferrer">key-access-group</a>' in page
    assert "cases the docs leave open (no check)" in page
    assert "derived expectations that contradict written ones" in page


def test_junit_and_terminal_name_a_derived_checks_rules():
    root = ET.fromstring(render_junit(_derived_run()))
    case = next(c for c in root.iter("testcase")
                if any(p.get("value") == DENIED_GPT4O for p in c.iter("property")))
    properties = {p.get("name"): p.get("value") for p in case.iter("property")}
    assert properties["derivation"] == CHAIN and properties["rules"] == "key-access-group team-step"
    out = io.StringIO()
    print_verdicts(_derived_run(), Console(file=out, width=200))
    printed = out.getvalue()
    assert "oracle both: 1 derived checks, 1 undetermined, 1 contradictions" in printed
    assert "undetermined svc flagship" in printed and "· derived" in printed


def test_an_explicit_run_document_has_no_oracle_fields():
    document = report_docs.load().scenarios[0].model_dump()
    assert not {"oracle", "undetermined", "contradictions", "rules"} & set(document)


def test_allure_gives_a_derived_check_its_origin_chain_and_rule_links(tmp_path):
    folder = write_allure_results(_derived_run(), tmp_path / "allure")
    results = [json.loads(p.read_text()) for p in folder.glob("*-result.json")]
    derived = next(r for r in results if r["fullName"] == DENIED_GPT4O)
    parameters = {p["name"]: p["value"] for p in derived["parameters"]}
    assert parameters["oracle"] == "derived" and parameters["derivation"] == CHAIN
    assert {"type": "link", "url": URL, "name": "rule key-access-group"} in derived["links"]
    written = next(r for r in results if r["fullName"] != DENIED_GPT4O and r["fullName"].startswith(report_docs.SEED_ID))
    assert {p["name"]: p["value"] for p in written["parameters"]}["oracle"] == "scenario"
