// JSON-protocol answers -> the GraphQL-protocol answers prisma-client-py reads.
//
// The client reads a single query's value at `data.result` (its queries alias the root field
// `result`); the wasm engine answers at `data.<rootField>`, with DateTime, Json, BigInt, Decimal
// and Bytes values tagged `{"$type": ..., "value": ...}`, which the GraphQL protocol sends bare.
// Pure functions, no dependencies: unit-tested directly.

export const RAW_ACTIONS = new Set(['queryRaw', 'executeRaw'])

/** Drop `$type` tags: `{"$type": "DateTime", "value": "..."}` -> `"..."`, recursively. */
export function stripTags(value) {
  if (Array.isArray(value)) return value.map(stripTags)
  if (value !== null && typeof value === 'object') {
    if (typeof value.$type === 'string' && 'value' in value && Object.keys(value).length === 2) {
      // Json values stay JSON text: prisma-client-py's Json fields parse a string (pydantic Json).
      return value.value
    }
    const out = {}
    for (const [k, v] of Object.entries(value)) out[k] = stripTags(v)
    return out
  }
  return value
}

/**
 * Map one JSON-protocol result (`{data: {<root>: value}}` or `{errors: [...]}`) to the
 * GraphQL-protocol shape prisma-client-py reads (`{data: {result: value}}`).
 * `mapRaw` turns a raw-query result into the format the installed client expects.
 */
export function mapResult(response, action, mapRaw) {
  if (!response || response.errors || !response.data) return response
  const values = Object.values(response.data)
  const value = values.length ? values[0] : null
  if (RAW_ACTIONS.has(action)) {
    // Raw results are never tagged (a jsonb column may legitimately hold a "$type" key).
    return { data: { result: action === 'queryRaw' ? mapRaw(value) : value } }
  }
  return { data: { result: stripTags(value) } }
}

export function mapBatchResult(response, actions, mapRaw) {
  if (!response || !Array.isArray(response.batchResult)) return response
  return {
    ...response,
    batchResult: response.batchResult.map((r, i) => mapResult(r, actions[i], mapRaw)),
  }
}
