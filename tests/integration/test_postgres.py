"""The throwaway PostgreSQL gets LiteLLM's real schema the way `prisma migrate deploy` would."""

from __future__ import annotations

import pytest

from harness.common.cache_root import default_cache_root
from harness.gateways.litellm.environment_build import ensure_environment
from harness.targets.errors import PostgresError
from harness.targets.postgres import PostgresServer
from harness.targets.postgres_binaries import find_postgres_binaries
from harness.targets.postgres_migrations import load_migrations
from harness.gateways.litellm.wasm_engine import ensure_wasm_engine

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def migrations_dir():  # type: ignore[no-untyped-def]
    cache_root = default_cache_root()
    engine = ensure_wasm_engine(cache_root)
    return ensure_environment("1.82.3", cache_root, engine.env()).migrations_dir


@pytest.mark.parametrize("source", ["system", "embedded"])
def test_migrated_template_copies_and_nothing_is_left(source: str, migrations_dir) -> None:  # type: ignore[no-untyped-def]
    try:
        binaries = find_postgres_binaries(source)
    except PostgresError as error:
        pytest.skip(f"no {source} PostgreSQL here: {error}")
    server = PostgresServer(binaries=binaries)
    with server:
        first = server.database_for(migrations_dir)
        second = server.database_for(migrations_dir)
        assert first != second
        database = second.rsplit("/", 1)[1]
        recorded = server.psql('SELECT count(*) FROM "_prisma_migrations" WHERE finished_at IS NOT NULL;', database)
        assert int(recorded) == len(load_migrations(migrations_dir))
        tables = server.psql("SELECT count(*) FROM pg_tables WHERE tablename = 'LiteLLM_VerificationToken';", database)
        assert int(tables) == 1
        run_dir, pid = server.run_dir, server.postmaster_pid()
        assert pid is not None and server.running
    assert server.run_dir is None and not run_dir.exists()
    assert not server.running
