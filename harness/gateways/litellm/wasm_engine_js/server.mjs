// The native query engine's HTTP interface (as prisma-client-py drives it), served by Prisma's
// WebAssembly query engine from @prisma/client 5.17.0 over @prisma/adapter-pg.
//
// prisma-client-py spawns `<engine> -p PORT --enable-metrics --enable-raw-queries` with
// PRISMA_DML_PATH (the schema) and optionally OVERWRITE_DATASOURCES, polls `GET /status`, then
// sends GraphQL to `POST /` (single or `{batch: [...]}`), interactive transactions through
// `/transaction/start` and `/transaction/{id}/commit|rollback` with `X-transaction-id` on the
// queries in between, and may read `/metrics`.
import fs from 'node:fs'
import http from 'node:http'
import os from 'node:os'
import { createRequire } from 'node:module'

import { parseDatasource, poolConfigFromUrl, redactUrl, resolveDatasourceUrl } from './connection.mjs'
import { loadIndex } from './dmmf_index.mjs'
import { createAdapter } from './pg_adapter.mjs'
import { detectRawFormat, rawMapper } from './raw_results.mjs'
import { mapBatchResult, mapResult } from './results.mjs'
import { TranslationError, translateBatch, translateQuery } from './translate.mjs'

const require = createRequire(import.meta.url)
const DEBUG = (process.env.GATECONFORM_ENGINE_LOG ?? '').toLowerCase() === 'debug'

// Secrets that must never reach a log line (filled once the database URL is known).
const secrets = []
function scrub(text) {
  let out = String(text)
  for (const s of secrets) out = out.split(s).join('***')
  return out
}
export function log(message) {
  process.stderr.write(`prisma-wasm-engine[${process.pid}]: ${scrub(message)}\n`)
}
const debug = DEBUG ? log : () => {}

function parseArgs(argv) {
  const opts = { port: 4466 }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    if (a === '-p' || a === '--port') opts.port = Number(argv[++i])
    else if (a.startsWith('--port=')) opts.port = Number(a.slice('--port='.length))
    // --enable-metrics, --enable-raw-queries, --enable-playground: always on / not applicable
  }
  if (!Number.isInteger(opts.port) || opts.port < 0 || opts.port > 65535) throw new Error(`invalid port in ${argv.join(' ')}`)
  return opts
}

/** Instantiate the wasm query engine (same engine code as the native binary, commit 393aa35). */
function loadWasmEngine() {
  const glue = require('@prisma/client/runtime/query_engine_bg.postgresql.js')
  const wasmPath = require.resolve('@prisma/client/runtime/query_engine_bg.postgresql.wasm')
  const module = new WebAssembly.Module(fs.readFileSync(wasmPath))
  const instance = new WebAssembly.Instance(module, { './query_engine_bg.js': glue })
  glue.__wbg_set_wasm(instance.exports)
  return glue.QueryEngine
}

// ---------------------------------------------------------------------------------------------
// Error shapes. The native engine answers query errors with HTTP 200 and
// `{errors: [{error, user_facing_error: {is_panic, message, meta, error_code}}]}`, and transaction
// endpoint errors with a non-2xx status and the bare user-facing error as the body.

function userFacing(message, code, meta = {}, isPanic = false) {
  const e = { is_panic: isPanic, message, meta }
  if (code) e.error_code = code
  return e
}
function queryError(message, code, meta, isPanic) {
  return { errors: [{ error: message, user_facing_error: userFacing(message, code, meta, isPanic) }] }
}
const TX_NOT_FOUND =
  "Transaction not found. Transaction ID is invalid, refers to an old closed transaction Prisma doesn't have information about anymore, or was obtained before disconnecting."

function txErrorStatus(err) {
  const msg = `${err?.message ?? ''} ${err?.meta?.error ?? ''}`
  if (err?.error_code !== 'P2028') return 500
  if (/not found/i.test(msg)) return 404
  if (/already closed/i.test(msg)) return 400
  if (/in the given time|timed out|timeout/i.test(msg)) return 504
  return 400
}

// The wasm engine asserts (and so traps) on a transaction id shorter than a cuid; the native
// engine just does not find such a transaction. Answer like the native engine without asking.
// GATECONFORM_ENGINE_NO_TX_ID_GUARD=1 turns the guard off: tests use it to reach a real trap.
const MIN_TX_ID_LENGTH = 24
const TX_ID_GUARD = process.env.GATECONFORM_ENGINE_NO_TX_ID_GUARD !== '1'
const badTxId = (id) => TX_ID_GUARD && typeof id === 'string' && id.length < MIN_TX_ID_LENGTH

// ---------------------------------------------------------------------------------------------

function send(res, status, body, contentType = 'application/json') {
  const text = typeof body === 'string' ? body : JSON.stringify(body)
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(text) })
  res.end(text)
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = []
    req.on('data', (c) => chunks.push(c))
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')))
    req.on('error', reject)
  })
}

function isPanic(err) {
  return err instanceof WebAssembly.RuntimeError || err?.name === 'RuntimeError'
}

// Requests being served, so that a panic can still answer them before the process ends.
const inflight = new Set()

/**
 * A panic traps the wasm instance (`RuntimeError: unreachable`); every later call would fail, so
 * we end the process like a crashed native engine (exit 101, Rust's panic code) and the client
 * starts a new one. Requests in flight get an `is_panic` error first rather than a reset socket.
 * Traps often surface outside any request's promise chain (inside a wasm callback), hence the
 * process-wide hook below.
 */
let panicking = false
function panicExit(reason) {
  if (panicking) return
  panicking = true
  log(`engine panic: ${reason}; exiting so that the client starts a new engine`)
  const exit = () => process.exit(101)
  setTimeout(exit, 1000).unref()
  let pending = 0
  for (const res of inflight) {
    if (res.writableFinished) continue
    pending++
    res.once('finish', () => --pending === 0 && exit())
    if (res.writableEnded) continue // answered already, still flushing
    if (!res.headersSent) send(res, 500, queryError(`PANIC: ${reason}`, undefined, {}, true))
    else res.end()
  }
  if (pending === 0) setImmediate(exit)
}

export async function main(argv) {
  const opts = parseArgs(argv)
  const started = Date.now()
  const dmlPath = process.env.PRISMA_DML_PATH
  if (!dmlPath) throw new Error('PRISMA_DML_PATH is not set (the schema file to serve)')
  const schemaText = fs.readFileSync(dmlPath, 'utf8')

  const datasource = parseDatasource(schemaText)
  if (datasource.provider && !['postgresql', 'postgres'].includes(datasource.provider)) {
    throw new Error(`datasource provider ${datasource.provider} is not supported (PostgreSQL only)`)
  }
  const url = resolveDatasourceUrl(datasource, process.env)
  const { poolConfig, schema, ignored } = poolConfigFromUrl(url, { cpus: os.availableParallelism?.() ?? os.cpus().length })
  if (poolConfig.password && poolConfig.password.length >= 3) secrets.push(poolConfig.password, encodeURIComponent(poolConfig.password))
  debug(`database ${redactUrl(url)} pool max=${poolConfig.max} timeout=${poolConfig.connectionTimeoutMillis}ms` +
    (ignored.length ? ` (ignored: ${ignored.join(', ')})` : ''))

  const rawFormat = detectRawFormat({ setting: process.env.GATECONFORM_RAW_RESULT_FORMAT, dmlPath, log: debug })
  const mapRaw = rawMapper(rawFormat)
  const index = loadIndex(schemaText, process.env.GATECONFORM_ENGINE_CACHE || `${os.tmpdir()}/gateconform-engine-cache`, debug)

  const QueryEngine = loadWasmEngine()
  const { pool, adapter } = createAdapter(poolConfig, schema, (err) => log(`idle database connection error: ${err.message}`))
  const engineLog = (line) => {
    // The engine logs JSON lines; pass on warnings and errors.
    try {
      const event = JSON.parse(line)
      if (event.level === 'error' || event.level === 'warn' || DEBUG) log(`engine ${event.level}: ${event.message ?? line}`)
    } catch {
      log(`engine: ${line}`)
    }
  }
  const engine = new QueryEngine(
    {
      datamodel: schemaText,
      // The adapter owns the connection; the engine only needs the env var to exist.
      env: datasource.envVar ? { [datasource.envVar]: 'postgresql://driver-adapter' } : {},
      logQueries: false,
      ignoreEnvVarErrors: true,
      datasourceOverrides: {},
      logLevel: DEBUG ? 'info' : 'warn',
      configDir: process.cwd(),
      engineProtocol: 'json',
    },
    engineLog,
    adapter,
  )
  await engine.connect('{}')
  // The adapter connects lazily; the native engine fails `connect` when the database cannot be
  // reached (P1001), and LiteLLM's start-up relies on hearing about it then, not on a query later.
  try {
    const client = await pool.connect()
    client.release()
  } catch (err) {
    throw new Error(`cannot reach the database at ${redactUrl(url)}: ${err.message}`)
  }

  // ------------------------------------------------------------------------------------------
  async function handleQuery(req, res) {
    const txId = req.headers['x-transaction-id']
    const text = await readBody(req)
    let body
    try {
      body = JSON.parse(text)
    } catch {
      return send(res, 400, queryError('request body is not JSON'))
    }
    if (badTxId(txId)) return send(res, 200, queryError(`Transaction API error: ${TX_NOT_FOUND}`, 'P2028', { error: TX_NOT_FOUND }))

    let request
    let map
    try {
      if (Array.isArray(body.batch)) {
        const t = translateBatch(body, index)
        request = t.body
        map = (r) => mapBatchResult(r, t.actions, mapRaw)
      } else {
        const t = translateQuery(body.query, index)
        request = t.query
        map = (r) => mapResult(r, t.action, mapRaw)
        debug(`${t.rootField}${txId ? ` (tx ${txId})` : ''} args: ${Object.keys(t.query.query.arguments).join(',')}`)
      }
    } catch (e) {
      if (!(e instanceof TranslationError)) throw e
      log(`cannot translate request: ${e.message}`)
      return send(res, 200, queryError(`gateconform wasm engine: ${e.message}`))
    }

    const t0 = Date.now()
    const answer = JSON.parse(await engine.query(JSON.stringify(request), '{}', txId || undefined))
    const errors = answer.errors ?? answer.batchResult?.flatMap((r) => r.errors ?? [])
    if (errors?.length) {
      // Query errors (unique violations, missing tables LiteLLM then creates, ...) are the
      // application's business and reach it in the answer; like the native engine we stay quiet
      // about them unless debugging.
      for (const e of errors) debug(`query error ${e.user_facing_error?.error_code ?? ''}: ${e.user_facing_error?.message ?? e.error}`)
      if (errors.some((e) => e.user_facing_error?.is_panic)) {
        send(res, 500, answer)
        return panicExit(errors[0].error)
      }
    }
    debug(`answered in ${Date.now() - t0} ms`)
    return send(res, 200, map(answer))
  }

  async function handleTxStart(req, res) {
    let options
    try {
      options = JSON.parse((await readBody(req)) || '{}')
    } catch {
      return send(res, 400, userFacing('transaction options are not JSON'))
    }
    // The native engine defaults both limits (Prisma's defaults); the wasm engine requires them.
    const input = { max_wait: 2000, timeout: 5000, ...options }
    const answer = JSON.parse(await engine.startTransaction(JSON.stringify(input), '{}'))
    if (answer.id) return send(res, 200, answer)
    log(`transaction start failed: ${answer.message ?? JSON.stringify(answer)}`)
    return send(res, txErrorStatus(answer), answer)
  }

  async function handleTxEnd(res, id, verb) {
    if (badTxId(id)) return send(res, 404, userFacing(`Transaction API error: ${TX_NOT_FOUND}`, 'P2028', { error: TX_NOT_FOUND }))
    const raw = verb === 'commit' ? await engine.commitTransaction(id, '{}') : await engine.rollbackTransaction(id, '{}')
    const answer = JSON.parse(raw || '{}')
    if (answer.error_code) {
      log(`transaction ${verb} failed: ${answer.message}`)
      return send(res, txErrorStatus(answer), answer)
    }
    return send(res, 200, {})
  }

  async function route(req, res) {
    const u = new URL(req.url, 'http://engine')
    const p = u.pathname
    if (req.method === 'GET' && p === '/status') return send(res, 200, { status: 'ok' })
    if (req.method === 'GET' && p === '/metrics') {
      // The wasm engine keeps no metrics; LiteLLM does not read them. Answer an empty set.
      if (u.searchParams.get('format') === 'prometheus') return send(res, 200, '', 'text/plain')
      return send(res, 200, { counters: [], gauges: [], histograms: [] })
    }
    if (req.method === 'POST' && (p === '/' || p === '')) return handleQuery(req, res)
    if (req.method === 'POST' && p === '/transaction/start') return handleTxStart(req, res)
    const m = /^\/transaction\/([^/]+)\/(commit|rollback)$/.exec(p)
    if (req.method === 'POST' && m) return handleTxEnd(res, decodeURIComponent(m[1]), m[2])
    return send(res, 404, { error: `no route ${req.method} ${p}` })
  }

  const handler = (req, res) => {
    inflight.add(res)
    res.on('close', () => inflight.delete(res))
    route(req, res).catch((err) => {
      if (isPanic(err)) return panicExit(err.message)
      log(`internal error on ${req.method} ${req.url}: ${err?.stack ?? err}`)
      if (!res.headersSent) send(res, 500, queryError(`gateconform wasm engine internal error: ${err?.message ?? err}`))
    })
  }

  // prisma-client-py connects to `localhost:PORT`, which may resolve to ::1 or 127.0.0.1; the
  // native engine listens on both loopback addresses. Never on a public interface.
  const servers = []
  const listen = (host) =>
    new Promise((resolve, reject) => {
      const server = http.createServer(handler)
      server.keepAliveTimeout = 60_000
      server.once('error', reject)
      server.listen(opts.port, host, () => {
        servers.push(server)
        resolve(server)
      })
    })
  await listen('127.0.0.1')
  await listen('::1').catch((e) => debug(`not listening on ::1: ${e.code ?? e.message}`))
  log(`ready on port ${opts.port} in ${Date.now() - started} ms (raw results: ${rawFormat})`)

  let closing = false
  const shutdown = async (signal) => {
    if (closing) return
    closing = true
    debug(`${signal}: shutting down`)
    setTimeout(() => process.exit(0), 2000).unref()
    for (const s of servers) s.close()
    try {
      await engine.disconnect('{}')
      await pool.end()
    } catch (e) {
      debug(`error while shutting down: ${e.message}`)
    }
    process.exit(0)
  }
  process.on('SIGINT', () => shutdown('SIGINT'))
  process.on('SIGTERM', () => shutdown('SIGTERM'))

  // A native engine dies with its parent's process group; a node process would linger when the
  // proxy is killed hard (SIGKILL). Exit when we get re-parented.
  const parent = process.ppid
  setInterval(() => {
    if (process.ppid !== parent) {
      log('parent process is gone; exiting')
      process.exit(0)
    }
  }, 1000).unref()
}

function fatal(err) {
  if (isPanic(err)) return panicExit(err.message)
  log(`fatal: ${err?.stack ?? err}`)
  process.exit(1)
}
process.on('uncaughtException', fatal)
process.on('unhandledRejection', fatal)
