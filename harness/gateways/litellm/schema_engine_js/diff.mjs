// gateconform: the SQL that turns one Prisma schema into another (or creates one from nothing),
// computed by Prisma's WebAssembly schema engine without any database.
//
// stdin:  {"from": "<schema.prisma text>" | null, "to": "<schema.prisma text>"}
// stdout: the SQL script (what `prisma migrate diff --from-empty|--from-schema-datamodel
//         --to-schema-datamodel --script` prints); errors on stderr, exit code 1.
//
// The engine connects to its adapter as soon as it is created and asks for the server's version;
// a stub adapter answers that one query. Nothing else reaches it: a diff between two datamodels
// needs no database (anything that does fails loudly).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { bindMigrationAwareSqlAdapterFactory, ColumnTypeEnum } from '@prisma/driver-adapter-utils';

const ENGINE_DIR = fileURLToPath(new URL('./node_modules/@prisma/schema-engine-wasm/', import.meta.url));
// What the stub says the server is: the datamodel diff does not depend on it.
const SERVER_VERSION = ['PostgreSQL 15', 150000];

async function loadEngine() {
  // Node cannot import the package's main entry (it would load the .wasm as an ES module):
  // instantiate the module by hand and hand it to the wasm-bindgen glue.
  const glue = await import(ENGINE_DIR + 'schema_engine_bg.js');
  const module = new WebAssembly.Module(readFileSync(ENGINE_DIR + 'schema_engine_bg.wasm'));
  const instance = new WebAssembly.Instance(module, { './schema_engine_bg.js': glue });
  glue.__wbg_set_wasm(instance.exports);
  instance.exports.__wbindgen_start();
  return glue;
}

function stubAdapter() {
  const refuse = async () => {
    throw new Error('gateconform schema engine: no database here; only a diff between datamodels works');
  };
  return {
    provider: 'postgres',
    adapterName: 'gateconform-stub',
    queryRaw: async (query) => {
      if (!/\bversion\(\)/.test(query.sql)) return refuse();
      return {
        columnNames: ['exists', 'version', 'numeric_version'],
        columnTypes: [ColumnTypeEnum.Boolean, ColumnTypeEnum.Text, ColumnTypeEnum.Int32],
        rows: [[true, ...SERVER_VERSION]],
      };
    },
    executeRaw: refuse,
    executeScript: refuse,
    startTransaction: refuse,
    getConnectionInfo: () => ({ schemaName: 'public', supportsRelationJoins: true }),
    dispose: async () => {},
  };
}

// Prisma 7 refuses connection settings in the schema (P1012): the diff does not need them.
function withoutConnectionSettings(text) {
  return text.replace(/^\s*(url|directUrl|shadowDatabaseUrl)\s*=.*$/gm, '');
}

async function main() {
  const request = JSON.parse(readFileSync(0, 'utf8'));
  const to = withoutConnectionSettings(request.to);
  const glue = await loadEngine();
  const factory = {
    provider: 'postgres',
    adapterName: 'gateconform-stub',
    connect: async () => stubAdapter(),
    connectToShadowDb: async () => stubAdapter(),
  };
  const engine = await glue.SchemaEngine.new(
    { datamodels: [['schema.prisma', to]] }, () => {}, bindMigrationAwareSqlAdapterFactory(factory));
  const from = request.from == null
    ? { tag: 'empty' }
    : { tag: 'schemaDatamodel', files: [{ path: 'from.prisma', content: withoutConnectionSettings(request.from) }] };
  const result = await engine.diff({
    from,
    to: { tag: 'schemaDatamodel', files: [{ path: 'schema.prisma', content: to }] },
    script: true,
    exitCode: null,
    filters: { externalTables: [], externalEnums: [] },
  });
  process.stdout.write(result.stdout ?? '');
}

main().catch((error) => {
  process.stderr.write(`${error && error.message ? error.message : error}\n`);
  process.exit(1);
});
