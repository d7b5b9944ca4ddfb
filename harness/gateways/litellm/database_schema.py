"""Where a LiteLLM release's database schema comes from, on a machine without Prisma's native engines.

Three cases, each what the release itself would do at start-up with Prisma's engines at hand:

- **the migrations** of the installed `litellm-proxy-extras` (1.65.1 on; `prisma migrate deploy`
  runs them): the hand-written SQL in them (partial and GIN indexes, a trigger) is kept;
- **the release's own `schema.prisma`** when it ships no migrations (1.65.0 and older run
  `prisma db push`): Prisma's wasm schema engine diffs it from an empty database
  (`schema_engine.py`);
- **the migrations of a substituted `litellm-proxy-extras`** (the release pins one the index does
  not serve, `substitutions.py`), **then the difference** between that package's schema and the
  release's `schema.prisma`: the database the pinned package would have made, as closely as
  what is served allows. It is recorded with the substitutions.

Not a case: a release whose (unpinned) `litellm-proxy-extras` resolves today to a newer package
than the release knows: a plain install migrates to that newer schema too, so it is what users
run.
"""

from __future__ import annotations

from pathlib import Path

from harness.common.log import Log
from harness.gateways.litellm.environments import LiteLLMEnvironment
from harness.gateways.litellm.schema_engine import ensure_schema_engine
from harness.targets.errors import EnvironmentBuildError
from harness.targets.postgres_migrations import DatabaseSchema

EXTRAS = "litellm-proxy-extras"


def has_migrations(environment: LiteLLMEnvironment) -> bool:
    """True when the installed `litellm-proxy-extras` ships SQL migrations."""
    return any(environment.migrations_dir.glob("*/migration.sql"))


def database_schema(environment: LiteLLMEnvironment, cache_root: Path, log: Log) -> DatabaseSchema:
    """How a database for `environment`'s release gets its schema (see the module doc)."""
    version = environment.litellm_version
    release_schema = _read(environment.schema_path, version)
    extras = next((s for s in environment.substitutions if s.package == EXTRAS and s.used), None)
    if not has_migrations(environment):
        sql = ensure_schema_engine(cache_root, log).diff(None, release_schema)
        return DatabaseSchema(None, sql, f"litellm {version}'s schema.prisma (Prisma's wasm schema engine)")
    if extras is None:
        return DatabaseSchema(environment.migrations_dir, "", "")
    extras_schema = _read(environment.migrations_schema_path, version)
    sql = ensure_schema_engine(cache_root, log).diff(extras_schema, release_schema)
    return DatabaseSchema(
        environment.migrations_dir, sql,
        f"the migrations of {EXTRAS} {extras.used}, then its schema's difference to litellm {version}'s schema.prisma",
    )


def provenance_lines(environment: LiteLLMEnvironment, schema: DatabaseSchema) -> tuple[tuple[str, ...], str | None]:
    """(substitutions, dependency dating) as a run records them (`results.json`, every report).

    The substitutions name each companion stood in for and, when one was, where the database
    schema came from; the dating says which dating of the dependencies worked (as-released
    environments) and why earlier ones did not.
    """
    lines = [substitution.describe() for substitution in environment.substitutions]
    if lines and schema.sql and schema.migrations_dir is not None:
        lines.append(f"database schema: {schema.description}")
    provenance = environment.provenance
    dating = None
    if provenance.dating:
        dating = f"dependencies dated at {provenance.dating}"
        if provenance.dating_failures:
            dating += f" (before it: {'; '.join(provenance.dating_failures)})"
    return tuple(lines), dating


def _read(path: Path, version: str) -> str:
    try:
        return path.read_text()
    except OSError as error:
        raise EnvironmentBuildError(f"litellm {version}: cannot read {path.name} ({error}); "
                                    "this release has no proxy schema the local target could use") from None
