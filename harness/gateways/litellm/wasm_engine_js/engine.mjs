#!/usr/bin/env node
// Entry point: a stand-in for Prisma's native query engine binary, serving prisma-client-py's
// HTTP interface with Prisma's WebAssembly query engine. Everything heavy is imported lazily so
// that `--version` (called by `prisma generate` and by the client's version check) answers fast.
const ENGINE_COMMIT = '393aa359c9ad4a4bb28630fb5613f9c281cde053'

const argv = process.argv.slice(2)
if (argv.includes('--version') || argv.includes('-V') || argv[0] === 'version') {
  process.stdout.write(`query-engine ${ENGINE_COMMIT}\n`)
  process.exit(0)
}

if (argv[0] === 'cli') {
  // The native binary's `cli` subcommands (get-config, dmmf, debug-panic) are served by
  // prisma-schema-wasm in Prisma 5's CLI and never reach us; say so instead of starting a server.
  process.stderr.write(`prisma-wasm-engine: unsupported command: ${argv.join(' ')}\n`)
  process.exit(1)
}

const { main, log } = await import('./server.mjs')
try {
  await main(argv)
} catch (err) {
  // Start-up failures (no schema, no database url, database unreachable) end the process with a
  // message, as the native engine does; prisma-client-py then reports it cannot connect.
  log(`cannot start: ${err?.message ?? err}`)
  process.exit(1)
}
