"""Prisma migrations without Prisma's native schema engine (which cannot be downloaded here).

The SQL files of a Prisma migrations folder (the one a gateway's package ships) are
run in name order, each recorded in `_prisma_migrations` exactly as `prisma migrate deploy`
records it, by one psql script (`migration_script`): the local target runs it through its
PostgreSQL server, a built image's entrypoint with psql. Equal fingerprints
(`migrations_fingerprint`) give identical schemas, so one migrated database can be the template
of every further one.

A gateway may also have SQL that is no migration (a schema created from its datamodel, or the
difference between the migrations' schema and the one its code expects): a `DatabaseSchema`
is migrations (or none) followed by such SQL, applied by one script (`schema_script`).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from harness.targets.errors import PostgresError

# Migrations that build an index CONCURRENTLY must run outside a transaction block.
_CONCURRENT_INDEX = re.compile(r"\bCREATE\s+(UNIQUE\s+)?INDEX\s+CONCURRENTLY\b", re.IGNORECASE)
_MIGRATION_MARK = "gateconform-migration:"


@dataclass(frozen=True)
class Migration:
    """One Prisma migration folder: its name, SQL file and how it must be run."""

    name: str
    path: Path
    checksum: str  # sha256 of the file, as Prisma records it
    concurrent: bool  # uses CREATE INDEX CONCURRENTLY: cannot run in a transaction


def load_migrations(migrations_dir: Path) -> list[Migration]:
    """The migrations in `migrations_dir/*/migration.sql`, in name order (Prisma's order)."""
    files = sorted(Path(migrations_dir).glob("*/migration.sql"), key=lambda p: p.parent.name)
    if not files:
        raise PostgresError(f"no migrations under {migrations_dir}")
    migrations = []
    for path in files:
        data = path.read_bytes()
        migrations.append(
            Migration(
                name=path.parent.name,
                path=path,
                checksum=hashlib.sha256(data).hexdigest(),
                concurrent=uses_concurrent_index(data.decode("utf-8", errors="replace")),
            )
        )
    return migrations


def uses_concurrent_index(sql: str) -> bool:
    """True if the SQL (comments ignored) builds an index CONCURRENTLY."""
    without_comments = re.sub(r"/\*.*?\*/", " ", sql, flags=re.DOTALL)
    without_comments = re.sub(r"--[^\n]*", " ", without_comments)
    return bool(_CONCURRENT_INDEX.search(without_comments))


def migrations_fingerprint(migrations: Sequence[Migration]) -> str:
    """Short hash of names and checksums: equal fingerprints give identical schemas."""
    digest = hashlib.sha256()
    for migration in migrations:
        digest.update(f"{migration.name}\0{migration.checksum}\n".encode())
    return digest.hexdigest()[:12]


_PRISMA_MIGRATIONS_TABLE = """
CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id"                    VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum"              VARCHAR(64) NOT NULL,
    "finished_at"           TIMESTAMPTZ,
    "migration_name"        VARCHAR(255) NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        TIMESTAMPTZ,
    "started_at"            TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count"   INTEGER NOT NULL DEFAULT 0
);
"""


@dataclass(frozen=True)
class DatabaseSchema:
    """How a database gets a gateway's schema: its migrations (if any), then `sql` (if any).

    `description` says where the schema came from, in a few words, for logs and results.
    """

    migrations_dir: Path | None = None
    sql: str = ""
    description: str = ""

    def migrations(self) -> list[Migration]:
        """The migrations to run (none without a folder)."""
        return load_migrations(self.migrations_dir) if self.migrations_dir is not None else []

    def fingerprint(self) -> str:
        """Short hash of the migrations and the SQL: equal fingerprints give identical schemas."""
        digest = hashlib.sha256(migrations_fingerprint(self.migrations()).encode())
        digest.update(b"\0" + self.sql.encode())
        return digest.hexdigest()[:12]


def schema_script(schema: DatabaseSchema) -> str:
    """One psql script creating `schema`: its migrations (`migration_script`), then its SQL in one transaction.

    `_prisma_migrations` is created even without migrations, so a database made by the script
    can be told from an empty one by that table alone.
    """
    migrations = schema.migrations()
    script = migration_script(migrations) if migrations else migration_script([])
    if schema.sql.strip():
        script += f"\\echo {_MIGRATION_MARK}(schema SQL)\nBEGIN;\n{schema.sql.rstrip()}\nCOMMIT;\n"
    return script


def migration_script(migrations: Sequence[Migration]) -> str:
    """One psql script applying every migration, each recorded in `_prisma_migrations`.

    Each migration runs in its own transaction (as `prisma migrate deploy` does), except those
    that build an index CONCURRENTLY, which PostgreSQL forbids inside one. An `\\echo` before each
    lets a failure be attributed to its migration.
    """
    lines = ["\\set ON_ERROR_STOP on", "SET client_min_messages = warning;", _PRISMA_MIGRATIONS_TABLE]
    for migration in migrations:
        record = (
            'INSERT INTO "_prisma_migrations" (id, checksum, finished_at, migration_name, started_at, '
            "applied_steps_count) VALUES (gen_random_uuid()::text, "
            f"'{migration.checksum}', now(), '{sql_literal(migration.name)}', now(), 1);"
        )
        include = f"\\i {psql_quote(str(migration.path))}"
        lines.append(f"\\echo {_MIGRATION_MARK}{migration.name}")
        if migration.concurrent:
            lines += [include, record]
        else:
            lines += ["BEGIN;", include, record, "COMMIT;"]
    return "\n".join(lines) + "\n"


def sql_literal(text: str) -> str:
    """`text` as the inside of a single-quoted SQL string literal."""
    return text.replace("'", "''")


def psql_quote(text: str) -> str:
    """`text` quoted as one argument of a psql meta-command (`\\i 'path'`)."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _failed_migration(output: str) -> str | None:
    marks = [line.split(_MIGRATION_MARK, 1)[1].strip() for line in output.splitlines() if _MIGRATION_MARK in line]
    return marks[-1] if marks else None
