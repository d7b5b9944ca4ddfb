// The driver adapter: @prisma/adapter-pg over a pg.Pool, with columns of unknown types relabelled.
//
// Why relabel: adapter-pg 5.17 fails a whole raw query ("Failed to deserialize column of type
// 'Unknown'") when a column's type is not in its short list — e.g. `name` (pg_catalog columns),
// `name[]` (LiteLLM 1.82 runs `SELECT ARRAY_AGG(viewname) FROM pg_views` at startup), `interval`,
// `regclass`, `"char"`, `timestamptz[]`. The native engine returns such columns as text. We do
// the same: such a column reaches the engine as `text` (or `text[]` for array types), holding the
// value's PostgreSQL text form.
import pg from 'pg'
import { PrismaPg } from '@prisma/adapter-pg'
import { bindAdapter } from '@prisma/driver-adapter-utils'

export const TEXT_OID = 25
export const TEXT_ARRAY_OID = 1009

// Every type OID adapter-pg 5.17 maps (its `fieldToColumnType`); OIDs >= 10000 (user types such as
// enums) it maps to text itself.
export const ADAPTER_SUPPORTED_OIDS = new Set([
  21, 23, 20, 700, 701, 16, 1082, 1083, 1266, 1114, 1184, 1700, 790, 114, 3802, 2950, 26, 1042, 25, 1043, 1560,
  1562, 869, 650, 142, 17, 1005, 1007, 1021, 1022, 1231, 791, 1000, 1002, 1014, 1009, 1015, 1563, 1561, 1041, 651,
  143, 1182, 1183, 1115, 199, 3807, 1001, 2951, 1016, 1028,
])

// Built-in array types (pg_type.typcategory = 'A', oid < 10000) in PostgreSQL 15, minus
// int2vector/oidvector whose text form is space separated rather than `{...}`.
export const BUILTIN_ARRAY_OIDS = new Set([
  143, 199, 210, 270, 271, 272, 273, 629, 651, 719, 775, 791, 1000, 1001, 1002, 1003, 1005, 1006, 1007, 1008, 1009,
  1010, 1011, 1012, 1013, 1014, 1015, 1016, 1017, 1018, 1019, 1020, 1021, 1022, 1027, 1028, 1034, 1040, 1041, 1115,
  1182, 1183, 1185, 1187, 1231, 1263, 1270, 1561, 1563, 2201, 2207, 2208, 2209, 2210, 2211, 2949, 2951, 3221, 3643,
  3644, 3645, 3735, 3770, 3807, 3905, 3907, 3909, 3911, 3913, 3927, 4073, 4090, 4097, 4192, 5039, 6150, 6151, 6152,
  6153, 6155, 6157,
])

// Types pg would parse into JS objects (Date, interval objects, points) that adapter-pg does not
// support: keep their text form instead, which is what we hand on as `text`.
const KEEP_AS_TEXT = [600, 718, 1008, 1017, 1040, 1185, 1186, 1187, 1270, 3907]
for (const oid of KEEP_AS_TEXT) pg.types.setTypeParser(oid, 'text', (value) => value)

const parseTextArray = pg.types.getTypeParser(TEXT_ARRAY_OID, 'text')

/** Rewrite a pg result in place so that adapter-pg accepts every column. Returns the result. */
export function relabelUnknownColumns(result) {
  const fields = result?.fields
  if (!Array.isArray(fields)) return result
  fields.forEach((field, i) => {
    const oid = field.dataTypeID
    if (ADAPTER_SUPPORTED_OIDS.has(oid) || oid >= 10000) return
    if (BUILTIN_ARRAY_OIDS.has(oid)) {
      field.dataTypeID = TEXT_ARRAY_OID
      for (const row of result.rows ?? []) {
        if (typeof row[i] === 'string') row[i] = parseTextArray(row[i])
      }
    } else {
      field.dataTypeID = TEXT_OID
      for (const row of result.rows ?? []) {
        if (row[i] !== null && typeof row[i] !== 'string') row[i] = String(row[i])
      }
    }
  })
  return result
}

function patchPerformIO(queryable) {
  const original = queryable.performIO.bind(queryable)
  queryable.performIO = async (query) => {
    const res = await original(query)
    if (res.ok) relabelUnknownColumns(res.value)
    return res
  }
  return queryable
}

/** PrismaPg whose raw results (outside and inside transactions) are relabelled. */
class RelabellingPrismaPg extends PrismaPg {
  constructor(pool, options) {
    super(pool, options)
    patchPerformIO(this)
  }

  async startTransaction() {
    const res = await super.startTransaction()
    if (res.ok) patchPerformIO(res.value)
    return res
  }
}

/** A pool and the bound adapter the wasm engine takes. */
export function createAdapter(poolConfig, schema, onPoolError) {
  const pool = new pg.Pool(poolConfig)
  // An idle client losing its connection (database restart) must not crash the process; the
  // next query gets a fresh connection.
  pool.on('error', (err) => onPoolError?.(err))
  const adapter = bindAdapter(new RelabellingPrismaPg(pool, schema ? { schema } : undefined))
  return { pool, adapter }
}
