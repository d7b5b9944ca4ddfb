"""The schema engine's Python side: one diff per distinct pair of schemas, errors said plainly.

`node` is replaced by a small script that stands in for `diff.mjs` (the real engine runs in
tests/integration/test_every_release.py); it records each request it gets.
"""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from harness.gateways.litellm.schema_engine import SchemaEngine, SchemaEngineError, source_files

FAKE_NODE = """#!/usr/bin/env python3
import json, os, sys
request = json.load(sys.stdin)
with open(os.path.join(os.path.dirname(sys.argv[0]), "requests.log"), "a") as log:  # the engine passes no env
    log.write(json.dumps(request) + "\\n")
if "broken" in request["to"]:
    sys.stderr.write("error: Error validating: This line is invalid.\\n")
    sys.exit(1)
print("-- CreateTable" if request["from"] is None else "-- AlterTable")
"""


@pytest.fixture
def engine(tmp_path: Path) -> SchemaEngine:
    node = tmp_path / "node"
    node.write_text(FAKE_NODE)
    node.chmod(node.stat().st_mode | stat.S_IXUSR)
    return SchemaEngine(tmp_path / "install", node, tmp_path / "sql")


def requests(tmp_path: Path) -> list[dict]:
    log = tmp_path / "requests.log"
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def test_a_schema_is_diffed_once_then_read_from_the_cache(engine: SchemaEngine, tmp_path: Path) -> None:
    assert engine.diff(None, "model A {}").strip() == "-- CreateTable"
    assert engine.diff(None, "model A {}").strip() == "-- CreateTable"
    assert engine.diff("model A {}", "model B {}").strip() == "-- AlterTable"
    assert requests(tmp_path) == [{"from": None, "to": "model A {}"}, {"from": "model A {}", "to": "model B {}"}]


def test_a_refused_schema_is_an_error_with_the_engines_words(engine: SchemaEngine, tmp_path: Path) -> None:
    with pytest.raises(SchemaEngineError, match="refused the schema: error: Error validating"):
        engine.diff(None, "broken")
    assert not any((tmp_path / "sql").glob("*.sql")) if (tmp_path / "sql").exists() else True


def test_the_install_is_defined_by_its_package_files_and_script() -> None:
    names = [path.name for path in source_files()]
    assert names == ["package.json", "package-lock.json", "diff.mjs"]
    lock = json.loads(source_files()[1].read_text())
    assert lock["packages"]["node_modules/@prisma/schema-engine-wasm"]["version"].startswith("7.10.0-4.")
