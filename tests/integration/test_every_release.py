"""Every release testable: one from before the SQL migrations, and the newest release listed.

- A release before litellm-proxy-extras (1.60.0: it ships only `schema.prisma`; its proxy would
  run `prisma db push`) gets its database from its own schema through Prisma's wasm schema
  engine, starts, and enforces a key's models.
- `newest` is the newest release the index lists, even one whose companions the index does
  not serve: it is installed with the nearest served ones, and every report names them.
- The database made from a schema is the one the migrations make, table for table and column for
  column, on a release that has both (1.108.7; what the migrations add besides is hand-written
  SQL a schema cannot say).

Each run is a subprocess, as a user types it; nothing may be left running. The releases are the
cheapest that prove the point: 1.60.0 installs in seconds and boots in under 10 s.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.common.cache_root import default_cache_root
from harness.gateways.litellm.database_schema import database_schema
from harness.gateways.litellm.environment_build import ensure_environment
from harness.gateways.litellm.schema_engine import ensure_schema_engine
from harness.gateways.litellm.wasm_engine import ensure_wasm_engine
from harness.targets.postgres import PostgresServer
from harness.targets.postgres_migrations import DatabaseSchema
from tests.integration.scenario_copies import without_sweep
from tests.integration.test_seed_scenario import ROOT, assert_no_secrets_in, gateconform, run

pytestmark = pytest.mark.integration

SCENARIO = ROOT / "scenarios/litellm/key-models-list-limits-key.yaml"
#: The cheapest release without SQL migrations that proves the point (any before 1.65.1 would).
OLD_RELEASE = "1.60.0"
COLUMNS = """SELECT table_name || '.' || column_name || ' ' || udt_name FROM information_schema.columns
WHERE table_schema = 'public' AND table_name <> '_prisma_migrations' ORDER BY 1;"""


def outcomes(folder: Path) -> dict[str, str]:
    document = json.loads((folder / "results.json").read_text())
    return {v["check_id"]: v["outcome"] for s in document["scenarios"] for v in s["verdicts"]}


def test_a_release_before_the_sql_migrations_runs_from_its_own_schema(tmp_path: Path) -> None:
    ran = run(gateconform("run", str(without_sweep(SCENARIO, tmp_path)), "--target", f"litellm=={OLD_RELEASE}",
                          "--report-dir", str(tmp_path / "reports")))
    tmp_path = tmp_path / "reports"
    output = ran.stdout + ran.stderr
    assert ran.returncode == 0, output
    assert f"litellm {OLD_RELEASE}'s schema.prisma (Prisma's wasm schema engine)" in output
    document = json.loads((tmp_path / "results.json").read_text())
    assert document["proxy_version"] == OLD_RELEASE
    assert document.get("substitutions") is None  # installed as published
    assert set(outcomes(tmp_path).values()) == {"pass"}  # the key's models are enforced: 401 for gpt-4o
    assert_no_secrets_in(tmp_path)


def test_the_newest_listed_release_runs_with_its_substitutions_named(tmp_path: Path) -> None:
    from harness.gateways.litellm.release_list import published_releases

    newest = published_releases().newest()
    ran = run(gateconform("run", str(without_sweep(SCENARIO, tmp_path)), "--target", "newest", "--report-dir",
                          str(tmp_path / "reports")))
    tmp_path = tmp_path / "reports"
    output = ran.stdout + ran.stderr
    assert f"'newest' = litellm {newest}" in output
    document = json.loads((tmp_path / "results.json").read_text())
    assert document["proxy_version"] == newest
    assert ran.returncode == 0, output
    assert set(outcomes(tmp_path).values()) == {"pass"}
    substitutions = document.get("substitutions") or []
    if substitutions:  # never silent: every report names what stood in for what
        said = f"{newest} with substitutions: {substitutions[0]}"
        for report in ("summary.md", "report.html"):
            assert said in (tmp_path / report).read_text().replace("&gt;", ">"), report
        assert substitutions[0] in (tmp_path / "junit.xml").read_text().replace("&gt;", ">")
        assert f"{newest} with substitutions" in ran.stdout
    assert_no_secrets_in(tmp_path)


def test_the_schema_engine_builds_the_tables_the_migrations_build() -> None:
    cache_root = default_cache_root()
    environment = ensure_environment("1.108.7", cache_root, ensure_wasm_engine(cache_root).env())
    migrated = database_schema(environment, cache_root, print)
    assert migrated.migrations_dir is not None and not migrated.sql  # a release with migrations uses them
    from_schema = DatabaseSchema(None, ensure_schema_engine(cache_root).diff(None, environment.schema_path.read_text()))
    with PostgresServer() as server:
        by_migrations = server.psql(COLUMNS, server.database_for(migrated).rsplit("/", 1)[1]).splitlines()
        by_schema = server.psql(COLUMNS, server.database_for(from_schema).rsplit("/", 1)[1]).splitlines()
    assert len(by_schema) > 1000
    assert by_schema == by_migrations
