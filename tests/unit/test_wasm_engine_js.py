"""The wasm engine's pure JavaScript logic: value tagging, DMMF index, result mapping, raw-result
formats, connection URL mapping.

One node process runs every case (≈0.1 s) against the module sources in
harness/targets/wasm_engine_js; the modules exercised here import no npm package, so no install is
needed. Skips when node is not on PATH.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from harness.gateways.litellm.wasm_engine import JS_DIR

pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="node is not on PATH")

# A GraphQL literal is written here as JS data; `ast()` builds the graphql-js AST node that
# graphql's `parse` would produce for it. `{__int: "..."}` stands for an integer literal whose
# digits must survive exactly.
_DRIVER = r"""
const dir = process.argv[1]
const imp = (name) => import(new URL(name, `file://${dir}/`).href)
const { tagValue } = await imp('tagging.mjs')
const { buildIndex } = await imp('dmmf_index.mjs')
const { stripTags, mapResult, mapBatchResult } = await imp('results.mjs')
const { toLegacy, detectRawFormat } = await imp('raw_results.mjs')
const conn = await imp('connection.mjs')
const fs = await import('node:fs')
const os = await import('node:os')
const path = await import('node:path')

function ast(v) {
  if (v === null) return { kind: 'NullValue' }
  if (Array.isArray(v)) return { kind: 'ListValue', values: v.map(ast) }
  if (typeof v === 'object' && v.__int) return { kind: 'IntValue', value: v.__int }
  if (typeof v === 'object' && v.__enum) return { kind: 'EnumValue', value: v.__enum }
  if (typeof v === 'object')
    return { kind: 'ObjectValue', fields: Object.entries(v).map(([k, x]) => ({ kind: 'ObjectField', name: { kind: 'Name', value: k }, value: ast(x) })) }
  if (typeof v === 'string') return { kind: 'StringValue', value: v }
  if (typeof v === 'boolean') return { kind: 'BooleanValue', value: v }
  if (Number.isInteger(v)) return { kind: 'IntValue', value: String(v) }
  return { kind: 'FloatValue', value: String(v) }
}

// A miniature DMMF in the shape prisma-schema-wasm's get_dmmf returns.
const s = (type, isList = false) => ({ type, namespace: 'prisma', location: 'scalar', isList })
const o = (type, isList = false) => ({ type, namespace: 'prisma', location: 'inputObjectTypes', isList })
const e = (type) => ({ type, namespace: 'prisma', location: 'enumTypes', isList: false })
const field = (name, ...inputTypes) => ({ name, isRequired: false, isNullable: true, inputTypes })
const dmmf = {
  schema: {
    inputObjectTypes: {
      prisma: [
        { name: 'TokenCreateInput', fields: [
          field('token', s('String')), field('metadata', e('JsonNullValueInput'), s('Json')),
          field('expires', s('DateTime'), s('Null')), field('tpm_limit', s('BigInt'), s('Null')),
          field('price', s('Decimal')), field('blob', s('Bytes')), field('models', o('TokenCreatemodelsInput'), s('String', true)),
          field('spend', s('Float')), field('team', o('TeamCreateNestedOneInput')) ] },
        { name: 'TokenUncheckedCreateInput', fields: [ field('team_id', s('String')), field('metadata', e('JsonNullValueInput'), s('Json')) ] },
        { name: 'TokenCreatemodelsInput', fields: [ field('set', s('String', true)) ] },
        { name: 'TeamCreateNestedOneInput', fields: [ field('connect', o('TeamWhereUniqueInput')) ] },
        { name: 'TeamWhereUniqueInput', fields: [ field('team_id', s('String')) ] },
        { name: 'TokenWhereInput', fields: [
          field('AND', o('TokenWhereInput'), o('TokenWhereInput', true)), field('token', o('StringFilter'), s('String')),
          field('expires', o('DateTimeNullableFilter'), s('DateTime'), s('Null')), field('metadata', o('JsonNullableFilter')) ] },
        { name: 'StringFilter', fields: [ field('equals', s('String')), field('in', s('String', true)) ] },
        { name: 'DateTimeNullableFilter', fields: [ field('gt', s('DateTime')), field('in', s('DateTime', true)) ] },
        { name: 'JsonNullableFilter', fields: [ field('equals', s('Json'), e('JsonNullValueFilter')), field('path', s('String', true)) ] },
      ],
    },
    outputObjectTypes: {
      prisma: [
        { name: 'Query', fields: [
          { name: 'findUniqueTokenOrThrow', args: [{ name: 'where', inputTypes: [o('TokenWhereInput')] }], outputType: { type: 'Token', location: 'outputObjectTypes', isList: false } },
        ] },
        { name: 'Mutation', fields: [
          { name: 'createOneToken', args: [{ name: 'data', inputTypes: [o('TokenCreateInput'), o('TokenUncheckedCreateInput')] }], outputType: { type: 'Token', location: 'outputObjectTypes', isList: false } },
          { name: 'queryRaw', args: [{ name: 'query', inputTypes: [s('String')] }, { name: 'parameters', inputTypes: [s('Json')] }], outputType: { type: 'Json', location: 'scalar', isList: false } },
        ] },
      ],
      model: [
        { name: 'Token', fields: [
          { name: 'token', args: [], outputType: { type: 'String', location: 'scalar' } },
          { name: 'team', args: [{ name: 'where', inputTypes: [o('TokenWhereInput')] }], outputType: { type: 'Team', location: 'outputObjectTypes' } },
        ] },
      ],
    },
    enumTypes: { prisma: [
      { name: 'JsonNullValueInput', values: ['JsonNull'] },
      { name: 'JsonNullValueFilter', values: ['DbNull', 'JsonNull', 'AnyNull'] },
    ] },
  },
  mappings: {
    modelOperations: [{ model: 'Token', findUniqueOrThrow: 'findUniqueTokenOrThrow', createOne: 'createOneToken' }],
    otherOperations: { read: [], write: ['queryRaw'] },
  },
}
const index = buildIndex(dmmf)
const createRefs = index.ops.createOneToken.args.data
const whereRefs = index.ops.findUniqueTokenOrThrow.args.where
const out = {}

out.index = {
  ops: index.ops,
  inputTypes: Object.keys(index.inp).sort(),
  createFields: Object.keys(index.inp.TokenCreateInput).sort(),
}
out.tagCreate = tagValue(ast({
  token: 'sk-hash', metadata: '{"a": 1}', expires: '2030-01-01T00:00:00+00:00', tpm_limit: { __int: '12345678901234567890' },
  price: '1.50', blob: 'AAEC', models: ['gpt-4o', 'gpt-4o-mini'], spend: 1.5, team: { connect: { team_id: 't1' } },
}), createRefs, index)
out.tagUnchecked = tagValue(ast({ team_id: 't1', metadata: '[1, 2]' }), createRefs, index)
out.tagJsonNullEnum = tagValue(ast({ metadata: 'JsonNull' }), createRefs, index)
out.tagJsonObjectLiteral = tagValue(ast({ metadata: { a: { b: [1, true] } } }), createRefs, index)
out.tagModelsSet = tagValue(ast({ models: { set: ['a'] } }), createRefs, index)
out.tagWhere = tagValue(ast({
  AND: [{ expires: { gt: '2020-01-01T00:00:00Z', in: ['2021-01-01T00:00:00Z', '2022-01-01T00:00:00Z'] } }, { token: { in: ['x'] } }],
  expires: '2024-01-01T00:00:00Z',
  metadata: { path: ['a'], equals: 'true' },
}), whereRefs, index)
out.tagNull = tagValue(ast({ expires: null }), createRefs, index)
out.tagUnknownField = tagValue(ast({ nope: '2024-01-01T00:00:00Z' }), createRefs, index)

out.strip = stripTags({ a: { $type: 'DateTime', value: '2024-01-01T00:00:00.000Z' }, b: [{ $type: 'BigInt', value: '5' }],
  c: { $type: 'Json', value: '{"x":1}' }, d: { nested: { $type: 'Decimal', value: '1.5' } }, e: null, f: 3 })
out.mapSingle = mapResult({ data: { findUniqueToken: { token: 't', expires: { $type: 'DateTime', value: 'X' } } } }, 'findUnique', (r) => r)
out.mapError = mapResult({ errors: [{ error: 'e', user_facing_error: { error_code: 'P2002' } }] }, 'createOne', (r) => r)
const rawTyped = { columns: ['a', 'j', 'arr', 'n'], types: ['string', 'json', 'string-array', 'int'], rows: [['x', { $type: 'kept' , value: 1, other: 2 }, ['p', null], null]] }
out.mapRawTyped = mapResult({ data: { queryRaw: rawTyped } }, 'queryRaw', (r) => r)
out.mapRawLegacy = mapResult({ data: { queryRaw: rawTyped } }, 'queryRaw', toLegacy)
out.mapExecuteRaw = mapResult({ data: { executeRaw: 3 } }, 'executeRaw', toLegacy)
out.mapBatch = mapBatchResult({ batchResult: [{ data: { createOneToken: { expires: { $type: 'DateTime', value: 'Y' } } } }, { data: { deleteManyToken: { count: 2 } } }] }, ['createOne', 'deleteMany'], (r) => r)

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gc-raw-'))
fs.mkdirSync(path.join(tmp, 'old')); fs.mkdirSync(path.join(tmp, 'new'))
fs.writeFileSync(path.join(tmp, 'old', '_raw_query.py'), "value = raw_value['prisma__value']\ntype = raw_value['prisma__type']\n")
fs.writeFileSync(path.join(tmp, 'new', '_raw_query.py'), "result = RawQueryResult(columns=raw_result['columns'])\n")
out.detect = {
  legacyFile: detectRawFormat({ dmlPath: path.join(tmp, 'old', 'schema.prisma') }),
  typedFile: detectRawFormat({ dmlPath: path.join(tmp, 'new', 'schema.prisma') }),
  missing: detectRawFormat({ dmlPath: path.join(tmp, 'none', 'schema.prisma') }),
  settingWins: detectRawFormat({ setting: 'typed', dmlPath: path.join(tmp, 'old', 'schema.prisma') }),
  autoSetting: detectRawFormat({ setting: 'auto', dmlPath: path.join(tmp, 'old', 'schema.prisma') }),
}
try { detectRawFormat({ setting: 'bogus' }); out.detect.bad = 'no error' } catch (err) { out.detect.bad = err.message }
fs.rmSync(tmp, { recursive: true, force: true })

out.pool = {}
for (const [name, url] of Object.entries({
  litellm182: 'postgresql://llm:s3cr%40t@127.0.0.1:5432/litellm?connection_limit=7&pool_timeout=60',
  all: 'postgresql://u:p@db:6543/x?connection_limit=3&pool_timeout=5&connect_timeout=20&socket_timeout=9&schema=tenant_1&pgbouncer=true&statement_cache_size=0&application_name=gc',
  zeroTimeout: 'postgres://u@h/x?pool_timeout=0',
  socket: 'postgresql://postgres:@/postgres?host=/tmp/pg-sock',
  ipv6: 'postgresql://u:p@[::1]:5433/x?sslmode=require',
  defaults: 'postgresql://h/x',
})) out.pool[name] = conn.poolConfigFromUrl(url, { cpus: 2 })
try { conn.poolConfigFromUrl('mysql://u:p@h/x'); out.poolMysql = 'no error' } catch (err) { out.poolMysql = err.message }
out.redact = conn.redactUrl('postgresql://llm:s3cr%40t@127.0.0.1:5432/litellm?connection_limit=7')
out.datasource = conn.parseDatasource('// head\ndatasource client {\n  provider = "postgresql"\n  url      = env("DATABASE_URL")\n}\ngenerator client {\n provider = "prisma-client-py"\n}\n')
const ds = { name: 'client', envVar: 'DATABASE_URL', url: null }
out.resolve = {
  env: conn.resolveDatasourceUrl(ds, { DATABASE_URL: 'postgresql://a/b' }),
  override: conn.resolveDatasourceUrl(ds, { DATABASE_URL: 'postgresql://a/b', OVERWRITE_DATASOURCES: JSON.stringify([{ name: 'client', url: 'postgresql://c/d' }]) }),
}
try { conn.resolveDatasourceUrl(ds, {}); out.resolve.missing = 'no error' } catch (err) { out.resolve.missing = err.message }
process.stdout.write(JSON.stringify(out))
"""


@pytest.fixture(scope="module")
def js() -> dict[str, Any]:
    proc = subprocess.run(
        ["node", "--input-type=module", "-e", _DRIVER, str(JS_DIR)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_index_maps_root_fields_to_model_and_action(js: dict[str, Any]) -> None:
    ops = js["index"]["ops"]
    assert ops["findUniqueTokenOrThrow"]["model"] == "Token"
    assert ops["findUniqueTokenOrThrow"]["action"] == "findUniqueOrThrow"
    assert ops["createOneToken"]["action"] == "createOne"
    assert ops["queryRaw"] == {"model": None, "action": "queryRaw", "args": {"parameters": [{"k": "s", "t": "Json", "l": False}]}, "out": None}


def test_index_keeps_only_positions_that_can_hold_a_tagged_scalar(js: dict[str, Any]) -> None:
    types = js["index"]["inputTypes"]
    assert "TokenCreateInput" in types and "DateTimeNullableFilter" in types and "JsonNullableFilter" in types
    # Only strings below these: nothing to tag, so the walker never needs them.
    assert "StringFilter" not in types and "TeamWhereUniqueInput" not in types and "TokenCreatemodelsInput" not in types
    assert js["index"]["createFields"] == ["blob", "expires", "metadata", "price", "tpm_limit"]


def test_json_string_is_tagged_so_it_is_stored_as_a_json_object(js: dict[str, Any]) -> None:
    data = js["tagCreate"]
    assert data["metadata"] == {"$type": "Json", "value": '{"a": 1}'}
    assert js["tagUnchecked"] == {"team_id": "t1", "metadata": {"$type": "Json", "value": "[1, 2]"}}


def test_scalars_needing_tags_are_tagged_and_others_left_plain(js: dict[str, Any]) -> None:
    data = js["tagCreate"]
    assert data["expires"] == {"$type": "DateTime", "value": "2030-01-01T00:00:00+00:00"}
    assert data["tpm_limit"] == {"$type": "BigInt", "value": "12345678901234567890"}  # exact digits
    assert data["price"] == {"$type": "Decimal", "value": "1.50"}
    assert data["blob"] == {"$type": "Bytes", "value": "AAEC"}
    assert data["token"] == "sk-hash"
    assert data["models"] == ["gpt-4o", "gpt-4o-mini"]
    assert data["spend"] == 1.5
    assert data["team"] == {"connect": {"team_id": "t1"}}
    assert js["tagModelsSet"] == {"models": {"set": ["a"]}}
    assert js["tagNull"] == {"expires": None}
    assert js["tagUnknownField"] == {"nope": "2024-01-01T00:00:00Z"}


def test_enum_value_at_a_json_position_stays_an_enum(js: dict[str, Any]) -> None:
    assert js["tagJsonNullEnum"] == {"metadata": "JsonNull"}


def test_object_literal_at_a_json_position_becomes_json_text(js: dict[str, Any]) -> None:
    value = js["tagJsonObjectLiteral"]["metadata"]
    assert value["$type"] == "Json"
    assert json.loads(value["value"]) == {"a": {"b": [1, True]}}


def test_filters_are_tagged_through_nested_and_list_positions(js: dict[str, Any]) -> None:
    where = js["tagWhere"]
    first, second = where["AND"]
    assert first["expires"]["gt"] == {"$type": "DateTime", "value": "2020-01-01T00:00:00Z"}
    assert first["expires"]["in"] == [
        {"$type": "DateTime", "value": "2021-01-01T00:00:00Z"},
        {"$type": "DateTime", "value": "2022-01-01T00:00:00Z"},
    ]
    assert second == {"token": {"in": ["x"]}}
    assert where["expires"] == {"$type": "DateTime", "value": "2024-01-01T00:00:00Z"}
    assert where["metadata"] == {"path": ["a"], "equals": {"$type": "Json", "value": "true"}}


def test_result_tags_are_stripped_and_aliased_as_result(js: dict[str, Any]) -> None:
    assert js["strip"] == {
        "a": "2024-01-01T00:00:00.000Z",
        "b": ["5"],
        "c": '{"x":1}',  # Json stays JSON text: the client's pydantic Json field parses it
        "d": {"nested": "1.5"},
        "e": None,
        "f": 3,
    }
    assert js["mapSingle"] == {"data": {"result": {"token": "t", "expires": "X"}}}
    assert js["mapError"]["errors"][0]["user_facing_error"]["error_code"] == "P2002"
    assert js["mapBatch"] == {"batchResult": [{"data": {"result": {"expires": "Y"}}}, {"data": {"result": {"count": 2}}}]}
    assert js["mapExecuteRaw"] == {"data": {"result": 3}}


def test_raw_results_are_never_untagged(js: dict[str, Any]) -> None:
    row = js["mapRawTyped"]["data"]["result"]["rows"][0]
    assert row[1] == {"$type": "kept", "value": 1, "other": 2}


def test_legacy_raw_format_for_prisma_client_py_0_11(js: dict[str, Any]) -> None:
    assert js["mapRawLegacy"] == {
        "data": {
            "result": [
                {
                    "a": {"prisma__type": "string", "prisma__value": "x"},
                    "j": {"prisma__type": "json", "prisma__value": {"$type": "kept", "value": 1, "other": 2}},
                    "arr": {
                        "prisma__type": "array",
                        "prisma__value": [
                            {"prisma__type": "string", "prisma__value": "p"},
                            {"prisma__type": "null", "prisma__value": None},
                        ],
                    },
                    "n": {"prisma__type": "null", "prisma__value": None},
                }
            ]
        }
    }


def test_raw_format_is_detected_from_the_client_next_to_the_schema(js: dict[str, Any]) -> None:
    detect = js["detect"]
    assert detect["legacyFile"] == "legacy"
    assert detect["typedFile"] == "typed"
    assert detect["missing"] == "typed"
    assert detect["settingWins"] == "typed"
    assert detect["autoSetting"] == "legacy"
    assert "legacy, typed or auto" in detect["bad"]


def test_litellm_pool_parameters_map_to_pg_pool_settings(js: dict[str, Any]) -> None:
    cfg = js["pool"]["litellm182"]["poolConfig"]
    assert cfg == {
        "host": "127.0.0.1",
        "port": 5432,
        "user": "llm",
        "password": "s3cr@t",
        "database": "litellm",
        "max": 7,
        "connectionTimeoutMillis": 60_000,
    }


def test_every_prisma_url_parameter_is_mapped_or_dropped(js: dict[str, Any]) -> None:
    mapped = js["pool"]["all"]
    cfg = mapped["poolConfig"]
    assert cfg["max"] == 3
    assert cfg["connectionTimeoutMillis"] == 20_000  # the larger of pool_timeout and connect_timeout
    assert cfg["query_timeout"] == 9_000
    assert cfg["options"] == "-c search_path=tenant_1"
    assert cfg["application_name"] == "gc"
    assert mapped["schema"] == "tenant_1"
    assert sorted(mapped["ignored"]) == ["pgbouncer", "statement_cache_size"]
    assert js["pool"]["zeroTimeout"]["poolConfig"]["connectionTimeoutMillis"] == 0


def test_socket_ipv6_and_default_urls(js: dict[str, Any]) -> None:
    assert js["pool"]["socket"]["poolConfig"]["host"] == "/tmp/pg-sock"
    assert js["pool"]["socket"]["poolConfig"]["user"] == "postgres"
    assert "password" not in js["pool"]["socket"]["poolConfig"]
    ipv6 = js["pool"]["ipv6"]["poolConfig"]
    assert (ipv6["host"], ipv6["port"], ipv6["ssl"]) == ("::1", 5433, {"rejectUnauthorized": False})
    defaults = js["pool"]["defaults"]["poolConfig"]
    assert (defaults["max"], defaults["connectionTimeoutMillis"], defaults["port"]) == (5, 10_000, 5432)
    assert "PostgreSQL" in js["poolMysql"]


def test_logged_urls_hide_the_password(js: dict[str, Any]) -> None:
    assert js["redact"] == "postgresql://llm:***@127.0.0.1:5432/litellm?connection_limit=7"


def test_datasource_url_comes_from_override_then_env(js: dict[str, Any]) -> None:
    assert js["datasource"] == {"name": "client", "provider": "postgresql", "envVar": "DATABASE_URL", "url": None}
    assert js["resolve"]["env"] == "postgresql://a/b"
    assert js["resolve"]["override"] == "postgresql://c/d"
    assert "DATABASE_URL" in js["resolve"]["missing"]


def test_module_sources_exist_where_the_installer_looks() -> None:
    names = {p.name for p in Path(JS_DIR).glob("*.mjs")}
    assert {"engine.mjs", "server.mjs", "translate.mjs", "tagging.mjs", "results.mjs"} <= names
