// Where the engine connects, and how a Prisma connection URL maps onto a `pg.Pool`.
//
// The native engine reads the URL from the schema's datasource (`url = env("DATABASE_URL")`),
// overridden by OVERWRITE_DATASOURCES (JSON `[{name, url}]`, set by prisma-client-py when the
// application passes `datasource=`). Prisma's URL carries pool settings as query parameters that
// `pg` does not know; LiteLLM 1.82.x appends `connection_limit` and `pool_timeout`. We translate
// the ones with a `pg` equivalent and drop the ones that only matter to Prisma's own driver.

const DROPPED_PARAMS = new Set([
  'pgbouncer', // Prisma avoids prepared statements behind pgbouncer; pg never caches them anyway
  'statement_cache_size', // Prisma's prepared-statement cache; pg has none
  'max_connection_lifetime',
  'max_idle_connection_lifetime',
  'single_use_connections',
  'sslidentity',
  'sslpassword',
  'sslcert',
  'sslaccept',
])

/** The datasource block of a Prisma schema: `{name, provider, url | envVar}`. */
export function parseDatasource(schemaText) {
  const noComments = schemaText.replace(/^\s*\/\/.*$/gm, '')
  const m = /datasource\s+(\w+)\s*\{([^}]*)\}/m.exec(noComments)
  if (!m) throw new Error('the schema has no datasource block')
  const [, name, body] = m
  const provider = /provider\s*=\s*"([^"]*)"/.exec(body)?.[1]
  const envUrl = /\burl\s*=\s*env\(\s*"([^"]+)"\s*\)/.exec(body)
  const literal = /\burl\s*=\s*"([^"]*)"/.exec(body)
  return { name, provider, envVar: envUrl?.[1] ?? null, url: envUrl ? null : literal?.[1] ?? null }
}

/** The URL to connect to: OVERWRITE_DATASOURCES, else the datasource's env var or literal. */
export function resolveDatasourceUrl(datasource, env) {
  if (env.OVERWRITE_DATASOURCES) {
    let overrides
    try {
      overrides = JSON.parse(env.OVERWRITE_DATASOURCES)
    } catch {
      throw new Error('OVERWRITE_DATASOURCES is not valid JSON')
    }
    const list = Array.isArray(overrides) ? overrides : [overrides]
    const hit = list.find((o) => o && o.name === datasource.name) ?? list.find((o) => o && o.url)
    if (hit?.url) return hit.url
  }
  if (datasource.envVar) {
    const url = env[datasource.envVar]
    if (!url) throw new Error(`environment variable ${datasource.envVar} (the datasource url) is not set`)
    return url
  }
  if (datasource.url) return datasource.url
  throw new Error('the datasource has no url')
}

// WHATWG `URL` rejects URLs libpq and Prisma accept, e.g. `postgresql://postgres:@/db?host=/sock`
// (credentials without a host: a unix socket, as embedded PostgreSQL hands out). Parse by hand.
const URL_RE = /^(postgres(?:ql)?):\/\/(?:([^:@/]*)(?::([^@/]*))?@)?([^/?#]*)(?:\/([^?#]*))?(?:\?([^#]*))?$/

/** Split a PostgreSQL URL: `{protocol, user, password, host, port, database, params}`. */
export function parsePostgresUrl(url) {
  const m = URL_RE.exec(String(url).trim())
  if (!m) throw new Error('the database url is not a postgresql:// URL')
  const [, protocol, user, password, hostPort, database, query] = m
  let host = hostPort
  let port
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(hostPort)
  if (v6) {
    host = v6[1]
    port = v6[2]
  } else if (hostPort.includes(':')) {
    ;[host, port] = hostPort.split(':')
  }
  const dec = (x) => (x ? decodeURIComponent(x) : undefined)
  return {
    protocol,
    user: dec(user),
    password: password === undefined ? undefined : decodeURIComponent(password),
    host: dec(host),
    port: port ? Number(port) : undefined,
    database: dec(database),
    params: new URLSearchParams(query ?? ''),
  }
}

/** `postgresql://user:***@host:port/db?…` — for logs; never prints the password. */
export function redactUrl(url) {
  const m = URL_RE.exec(String(url).trim())
  if (!m) return '<unparseable database url>'
  return String(url).trim().replace(/^(postgres(?:ql)?:\/\/[^:@/]*):[^@/]*@/, '$1:***@')
}

function seconds(params, name) {
  if (!params.has(name)) return undefined
  const n = Number(params.get(name))
  if (!Number.isFinite(n) || n < 0) throw new Error(`database url parameter ${name} must be a number of seconds`)
  return n
}

/**
 * Translate a Prisma PostgreSQL URL into `{poolConfig, schema}`.
 *
 * - connection_limit -> pool `max` (default like Prisma: 2 * cpus + 1)
 * - pool_timeout / connect_timeout -> `connectionTimeoutMillis` (pg uses one timeout for both
 *   waiting for a pooled connection and opening one; the larger wins, 0 means "no timeout")
 * - socket_timeout -> `query_timeout`
 * - schema -> `search_path` (and the adapter's schema name, which the engine uses to qualify
 *   table names)
 * - sslmode -> `ssl`; pgbouncer, statement_cache_size and Prisma-only TLS knobs are dropped
 */
export function poolConfigFromUrl(url, { cpus = 1 } = {}) {
  const scheme = /^([a-z0-9+.-]+):/i.exec(String(url).trim())?.[1]
  if (scheme && !['postgresql', 'postgres'].includes(scheme)) {
    throw new Error(`the wasm engine only serves PostgreSQL, not ${scheme}`)
  }
  const u = parsePostgresUrl(url)
  const params = u.params
  const config = {
    host: u.host || undefined,
    port: u.port ?? 5432,
    user: u.user || undefined,
    password: u.password || undefined,
    database: u.database || undefined,
  }
  // libpq style: `?host=/run/postgresql` selects a unix socket folder.
  if (params.has('host')) config.host = params.get('host')

  const limit = params.has('connection_limit') ? Number(params.get('connection_limit')) : NaN
  config.max = Number.isInteger(limit) && limit > 0 ? limit : cpus * 2 + 1

  const timeouts = [seconds(params, 'pool_timeout'), seconds(params, 'connect_timeout')].filter((t) => t !== undefined)
  if (timeouts.length === 0) config.connectionTimeoutMillis = 10_000 // Prisma's pool_timeout default
  else config.connectionTimeoutMillis = timeouts.includes(0) ? 0 : Math.max(...timeouts) * 1000

  const socketTimeout = seconds(params, 'socket_timeout')
  if (socketTimeout) config.query_timeout = socketTimeout * 1000

  const schema = params.get('schema') || undefined
  const options = []
  if (schema) options.push(`-c search_path=${schema.replace(/[^A-Za-z0-9_$]/g, (c) => `\\${c}`)}`)
  if (params.has('options')) options.push(params.get('options'))
  if (options.length) config.options = options.join(' ')
  if (params.has('application_name')) config.application_name = params.get('application_name')

  const sslmode = params.get('sslmode')
  if (sslmode === 'require' || sslmode === 'prefer') {
    // libpq's `require` encrypts without verifying; `prefer` falls back to plain text, which pg
    // cannot do, so it is treated as `require` only when asked for explicitly.
    if (sslmode === 'require') config.ssl = { rejectUnauthorized: false }
  } else if (sslmode === 'verify-ca' || sslmode === 'verify-full') {
    config.ssl = { rejectUnauthorized: params.get('sslaccept') !== 'accept_invalid_certs' }
  }

  const ignored = [...params.keys()].filter((k) => DROPPED_PARAMS.has(k))
  return { poolConfig: config, schema, ignored }
}
