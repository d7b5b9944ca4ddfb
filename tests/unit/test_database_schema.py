"""Where a release's database schema comes from, and how that and its substitutions are told.

The schema engine is a fake that records what it was asked to diff (the real one runs in
`tests/integration/test_every_release.py`).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.gateways.litellm import database_schema as module
from harness.gateways.litellm.database_schema import database_schema, provenance_lines
from harness.gateways.litellm.environments import LiteLLMEnvironment, Provenance
from harness.gateways.litellm.substitutions import Substitution
from harness.model.results import RunResult, ScenarioResult
from harness.report.junit import render_junit
from harness.report.markdown import render_markdown
from harness.report.html import render_html

RELEASE_SCHEMA = "model A { id String @id }\nmodel B { id String @id }\n"
EXTRAS_SCHEMA = "model A { id String @id }\n"
EXTRAS = Substitution("litellm-proxy-extras", "0.4.114.post1", "0.4.110", "0.4.114.post1 is not served")


class FakeSchemaEngine:
    def __init__(self) -> None:
        self.asked: list[tuple[str | None, str]] = []

    def diff(self, from_schema: str | None, to_schema: str) -> str:
        self.asked.append((from_schema, to_schema))
        return "CREATE TABLE everything;" if from_schema is None else "CREATE TABLE b;"


@pytest.fixture
def engine(monkeypatch: pytest.MonkeyPatch) -> FakeSchemaEngine:
    fake = FakeSchemaEngine()
    monkeypatch.setattr(module, "ensure_schema_engine", lambda cache_root, log: fake)
    return fake


def environment(tmp_path: Path, *, migrations: bool, substitutions: tuple[Substitution, ...] = (),
                dating: str | None = None) -> LiteLLMEnvironment:
    site = tmp_path / "lib" / "python3.11" / "site-packages"
    (site / "litellm" / "proxy").mkdir(parents=True)
    (site / "litellm" / "proxy" / "schema.prisma").write_text(RELEASE_SCHEMA)
    if migrations:
        extras = site / "litellm_proxy_extras"
        (extras / "migrations" / "1_init").mkdir(parents=True)
        (extras / "migrations" / "1_init" / "migration.sql").write_text("CREATE TABLE a;")
        (extras / "schema.prisma").write_text(EXTRAS_SCHEMA)
    return LiteLLMEnvironment(tmp_path, "1.110.2", "0.15.0", provenance=Provenance(substitutions, dating))


def test_a_release_with_its_own_migrations_uses_them_alone(tmp_path: Path, engine: FakeSchemaEngine) -> None:
    schema = database_schema(environment(tmp_path, migrations=True), tmp_path, print)
    assert schema.migrations_dir is not None and schema.sql == ""
    assert engine.asked == []  # no engine needed: what `prisma migrate deploy` would do


def test_a_release_without_migrations_gets_its_schema_from_nothing(tmp_path: Path, engine: FakeSchemaEngine) -> None:
    schema = database_schema(environment(tmp_path, migrations=False), tmp_path, print)
    assert schema.migrations_dir is None and schema.sql == "CREATE TABLE everything;"
    assert engine.asked == [(None, RELEASE_SCHEMA)]  # what `prisma db push` would do
    assert schema.description == "litellm 1.110.2's schema.prisma (Prisma's wasm schema engine)"


def test_substituted_migrations_are_topped_up_to_the_release_schema(tmp_path: Path, engine: FakeSchemaEngine) -> None:
    env = environment(tmp_path, migrations=True, substitutions=(EXTRAS,))
    schema = database_schema(env, tmp_path, print)
    assert schema.migrations_dir is not None and schema.sql == "CREATE TABLE b;"
    assert engine.asked == [(EXTRAS_SCHEMA, RELEASE_SCHEMA)]
    substitutions, dating = provenance_lines(env, schema)
    assert substitutions == (
        "litellm-proxy-extras 0.4.114.post1 → 0.4.110 (0.4.114.post1 is not served)",
        "database schema: the migrations of litellm-proxy-extras 0.4.110, then its schema's difference to "
        "litellm 1.110.2's schema.prisma",
    )
    assert dating is None


def test_the_dating_that_worked_is_told_with_why_earlier_ones_did_not(tmp_path: Path, engine: FakeSchemaEngine) -> None:
    env = LiteLLMEnvironment(tmp_path, "1.95.0", "0.15.0", provenance=Provenance(
        (), "its first pre-release 1.95.0.dev3 (2026-07-24)", ("its upload (2026-08-02): ImportError: …",)))
    _, dating = provenance_lines(env, database_schema(environment(tmp_path / "x", migrations=True), tmp_path, print))
    assert dating == ("dependencies dated at its first pre-release 1.95.0.dev3 (2026-07-24) "
                      "(before it: its upload (2026-08-02): ImportError: …)")


def test_every_report_names_the_substitutions_and_old_documents_still_load() -> None:
    result = RunResult.new("newest", proxy_version="1.110.2")
    result.substitutions = [EXTRAS.describe()]
    result.scenarios.append(ScenarioResult(id="s", title="a scenario"))  # junit: properties per suite
    result.finish()
    said = f"1.110.2 with substitutions: {EXTRAS.describe()}"
    assert said in render_markdown(result)
    assert said in render_html(result).replace("&gt;", ">")
    assert EXTRAS.describe() in render_junit(result).replace("&gt;", ">")
    assert "with substitutions" not in render_markdown(RunResult.new("litellm==1.82.3", proxy_version="1.82.3"))
    old = json.loads(RunResult.new("litellm==1.82.3").to_json())
    for field in ("substitutions", "deps_dating"):
        old.pop(field)
    assert RunResult.model_validate(old).substitutions is None
