// Raw-query result formats.
//
// The 5.17 engine answers `queryRaw` with `{columns, types, rows}` ("typed" format), which is what
// prisma-client-py >= 0.12 reads. prisma-client-py 0.11 (LiteLLM 1.82.x) was built for the Prisma
// 5.4 engine, which answered a list of objects `[{col: {prisma__type, prisma__value}}]` ("legacy").
//
// Which client reads our answer: GATECONFORM_RAW_RESULT_FORMAT=legacy|typed decides when set;
// otherwise ("auto") we look at the client itself. prisma-client-py passes the schema file of the
// generated client package as PRISMA_DML_PATH (`<site-packages>/prisma/schema.prisma`), and that
// package's `_raw_query.py` is the code that will read the result: if it reads `prisma__type`, it
// wants the legacy format. Reading the consumer beats guessing from version numbers.
import fs from 'node:fs'
import path from 'node:path'

export const FORMATS = new Set(['legacy', 'typed'])

/** Decide the format: explicit setting, else detected from the client next to the schema. */
export function detectRawFormat({ setting, dmlPath, log = () => {} }) {
  if (setting && setting !== 'auto') {
    if (!FORMATS.has(setting)) throw new Error(`GATECONFORM_RAW_RESULT_FORMAT must be legacy, typed or auto, not ${setting}`)
    return setting
  }
  if (dmlPath) {
    const candidate = path.join(path.dirname(path.resolve(dmlPath)), '_raw_query.py')
    try {
      const source = fs.readFileSync(candidate, 'utf8')
      const format = source.includes('prisma__type') ? 'legacy' : 'typed'
      log(`raw-query result format: ${format} (from ${candidate})`)
      return format
    } catch {
      // not next to a generated client (e.g. a schema copied elsewhere): fall through
    }
  }
  log('raw-query result format: typed (default; no prisma-client-py found next to the schema)')
  return 'typed'
}

function legacyCell(type, value) {
  if (value === null || value === undefined) return { prisma__type: 'null', prisma__value: null }
  if (type.endsWith('-array')) {
    const element = type.slice(0, -'-array'.length)
    return {
      prisma__type: 'array',
      prisma__value: (Array.isArray(value) ? value : [value]).map((v) => legacyCell(element, v)),
    }
  }
  return { prisma__type: type, prisma__value: value }
}

/** `{columns, types, rows}` -> `[{col: {prisma__type, prisma__value}}]`. */
export function toLegacy(result) {
  if (!result || !Array.isArray(result.columns) || !Array.isArray(result.rows)) return result
  const { columns, types } = result
  return result.rows.map((row) => {
    const obj = {}
    columns.forEach((col, i) => {
      obj[col] = legacyCell(types[i] ?? 'unknown', row[i])
    })
    return obj
  })
}

/** The mapper for the chosen format. */
export function rawMapper(format) {
  return format === 'legacy' ? toLegacy : (result) => result
}
