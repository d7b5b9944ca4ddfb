"""The SQL that creates a Prisma schema, from Prisma's WebAssembly schema engine (no native binary).

LiteLLM releases before litellm-proxy-extras (1.65.0 and older) ship only `schema.prisma`: their
proxy runs `prisma db push`, which needs Prisma's native schema engine, downloaded from Prisma's
own host at run time (unreachable here). npm serves the same engine compiled to WebAssembly
(`@prisma/schema-engine-wasm`); `schema_engine_js/diff.mjs` runs its `diff` between two
datamodels, which needs no database: from nothing to a release's schema it gives exactly the
create script `prisma db push` would apply, from one release's schema to another's the
difference between them.

Checked against the SQL migrations on releases that have both (litellm-proxy-extras 0.1.3, 0.2.6
and 0.4.110): the same tables, columns and types. The migrations add what a schema cannot say
(partial and GIN indexes, a trigger, NOT NULL on arrays), so they stay the source where they
exist (`database_schema.py`).

    engine = ensure_schema_engine(cache_root)
    sql = engine.diff(None, Path("schema.prisma").read_text())        # from nothing
    sql = engine.diff(old_schema_text, new_schema_text)                # the difference

Scripts are cached by the hash of their inputs (`<cache>/schema-sql/`): a release's schema is
diffed once (≈ 1 s).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from harness.common.log import Log, quiet
from harness.gateways.litellm.wasm_engine import WasmEngineError, ensure_npm_folder

JS_DIR = Path(__file__).resolve().parent / "schema_engine_js"
#: The engine build: the tag a released Prisma (7.10.0) pins; diffs are cached under it.
ENGINE_PACKAGE = "@prisma/schema-engine-wasm@7.10.0-4.0edf323efd1d98336f3f0a68684b56f689b900d3"
_REQUIRED = "node_modules/@prisma/schema-engine-wasm/schema_engine_bg.wasm"
_DIFF_TIMEOUT_S = 120
SQL_CACHE = "schema-sql"


class SchemaEngineError(WasmEngineError):
    """The schema engine could not be installed, or refused a schema."""


def source_files() -> list[Path]:
    """The files that define an install (sorted, so its hash is stable)."""
    return [JS_DIR / "package.json", JS_DIR / "package-lock.json", *sorted(JS_DIR.glob("*.mjs"))]


@dataclass(frozen=True)
class SchemaEngine:
    """An installed schema engine and where its scripts are cached."""

    install_dir: Path
    node: Path
    sql_cache: Path

    def diff(self, from_schema: str | None, to_schema: str) -> str:
        """The SQL that turns `from_schema` (None: an empty database) into `to_schema`.

        Both are `schema.prisma` texts. Raises `SchemaEngineError` with the engine's message
        when it refuses a schema.
        """
        key = hashlib.sha256(json.dumps([ENGINE_PACKAGE, from_schema, to_schema]).encode()).hexdigest()[:24]
        cached = self.sql_cache / f"{key}.sql"
        if cached.is_file():
            return cached.read_text()
        proc = subprocess.run(
            [str(self.node), str(self.install_dir / "diff.mjs")],
            input=json.dumps({"from": from_schema, "to": to_schema}),
            capture_output=True,
            text=True,
            timeout=_DIFF_TIMEOUT_S,
            # node only: nothing of the caller's environment changes a diff
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/")},
        )
        if proc.returncode != 0:
            raise SchemaEngineError(f"Prisma's schema engine refused the schema: {proc.stderr.strip()[-2000:]}")
        self.sql_cache.mkdir(parents=True, exist_ok=True)
        temporary = cached.with_suffix(f".{os.getpid()}.tmp")
        temporary.write_text(proc.stdout)
        temporary.replace(cached)  # whole or not at all: parallel workers may write the same key
        return proc.stdout


def ensure_schema_engine(cache_root: Path, log: Log | None = None) -> SchemaEngine:
    """Install the schema engine once per content hash (npm, ~1 s) and return it."""
    target, runtime = ensure_npm_folder(cache_root, "schema-engine", source_files(), log or quiet,
                                        label="schema engine", required=_REQUIRED)
    return SchemaEngine(target, runtime.node, Path(cache_root).resolve() / SQL_CACHE)
