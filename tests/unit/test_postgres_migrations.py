"""LiteLLM's migrations applied as SQL, the way `prisma migrate deploy` would record them."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from harness.targets.errors import PostgresError
from harness.targets.postgres_migrations import (
    DatabaseSchema,
    load_migrations,
    migration_script,
    migrations_fingerprint,
    schema_script,
    uses_concurrent_index,
)


def write_migration(root: Path, name: str, sql: str) -> Path:
    folder = root / name
    folder.mkdir(parents=True)
    (folder / "migration.sql").write_text(sql)
    return folder / "migration.sql"


def test_concurrent_index_is_detected_in_sql_not_in_comments() -> None:
    assert uses_concurrent_index('CREATE INDEX CONCURRENTLY IF NOT EXISTS "i" ON "t"("c");')
    assert uses_concurrent_index('create unique index\n  concurrently "i" on "t"("c");')
    assert not uses_concurrent_index("-- CREATE INDEX CONCURRENTLY cannot run inside a transaction\nSELECT 1;")
    assert not uses_concurrent_index("/* CREATE INDEX CONCURRENTLY later */ CREATE INDEX \"i\" ON \"t\"(\"c\");")


def test_migrations_in_name_order_with_prisma_checksums(tmp_path: Path) -> None:
    second = write_migration(tmp_path, "20250102_b", "ALTER TABLE t ADD c int;")
    first = write_migration(tmp_path, "20250101_a", "CREATE TABLE t (id int);")
    (tmp_path / "migration_lock.toml").write_text('provider = "postgresql"\n')
    migrations = load_migrations(tmp_path)
    assert [m.name for m in migrations] == ["20250101_a", "20250102_b"]
    assert migrations[0].checksum == hashlib.sha256(first.read_bytes()).hexdigest()
    assert migrations[1].path == second


def test_each_migration_in_its_own_transaction_except_concurrent_ones(tmp_path: Path) -> None:
    write_migration(tmp_path, "1_table", "CREATE TABLE t (id int);")
    write_migration(tmp_path, "2_index", "CREATE INDEX CONCURRENTLY i ON t (id);")
    script = migration_script(load_migrations(tmp_path))
    table_part, index_part = script.split("2_index\n", 1)
    assert "BEGIN;" in table_part.split("1_table", 1)[1] and "COMMIT;" in table_part
    assert "BEGIN;" not in index_part and "COMMIT;" not in index_part
    assert script.count('INSERT INTO "_prisma_migrations"') == 2
    assert script.startswith("\\set ON_ERROR_STOP on")


def test_fingerprint_changes_with_content(tmp_path: Path) -> None:
    path = write_migration(tmp_path, "1_table", "CREATE TABLE t (id int);")
    before = migrations_fingerprint(load_migrations(tmp_path))
    path.write_text("CREATE TABLE t (id bigint);")
    assert migrations_fingerprint(load_migrations(tmp_path)) != before


def test_no_migrations_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(PostgresError, match="no migrations"):
        load_migrations(tmp_path)


def test_a_schema_without_migrations_is_its_sql_in_one_transaction() -> None:
    script = schema_script(DatabaseSchema(None, 'CREATE TABLE "t" ("id" TEXT NOT NULL);\n'))
    assert 'CREATE TABLE IF NOT EXISTS "_prisma_migrations"' in script  # a created database is told by it
    assert 'INSERT INTO "_prisma_migrations"' not in script
    assert script.rstrip().endswith('BEGIN;\nCREATE TABLE "t" ("id" TEXT NOT NULL);\nCOMMIT;')


def test_a_schema_is_its_migrations_then_its_sql(tmp_path: Path) -> None:
    write_migration(tmp_path, "1_table", "CREATE TABLE t (id int);")
    schema = DatabaseSchema(tmp_path, "ALTER TABLE t ADD c int;")
    script = schema_script(schema)
    assert script.index("1_table") < script.index("ALTER TABLE t ADD c int;")
    assert schema.fingerprint() != DatabaseSchema(tmp_path).fingerprint()  # its own template
    assert DatabaseSchema(tmp_path).fingerprint() == DatabaseSchema(tmp_path, "", "described").fingerprint()
