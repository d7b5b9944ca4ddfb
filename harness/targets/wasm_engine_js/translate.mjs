// prisma-client-py's GraphQL requests -> Prisma's JSON protocol, and JSON-protocol responses
// back into what the client reads.
//
// prisma-client-py (0.11 and 0.15) only ever sends one shape of GraphQL (see its _builder.py):
//
//   mutation {
//     result: createOneLiteLLM_TeamTable(data: {...}) { team_id models members { ... } }
//   }
//
// i.e. one root field aliased `result`, literal arguments (no variables, no fragments), and a
// selection set whose nested fields may carry arguments (relation includes). The JSON protocol
// equivalent is `{modelName, action, query: {arguments, selection}}`. The client reads the
// answer at `data.result`; the wasm engine answers at `data.<rootField>` with `$type`-tagged
// DateTime/Json/BigInt/Decimal/Bytes values, which the GraphQL protocol sends untagged.
import { parse } from 'graphql'
import { plainValue, tagValue } from './tagging.mjs'

export const RAW_ACTIONS = new Set(['queryRaw', 'executeRaw'])

export class TranslationError extends Error {}

function argumentsOf(fieldNode, argRefs, index, { tag }) {
  const out = {}
  for (const arg of fieldNode.arguments ?? []) {
    const name = arg.name.value
    out[name] = tag ? tagValue(arg.value, argRefs?.[name], index) : plainValue(arg.value)
  }
  return out
}

function selectionOf(selectionSet, outType, index) {
  const selection = {}
  for (const sel of selectionSet?.selections ?? []) {
    if (sel.kind !== 'Field') throw new TranslationError(`unsupported GraphQL selection of kind ${sel.kind}`)
    const name = sel.name.value
    const hasArgs = (sel.arguments ?? []).length > 0
    if (!sel.selectionSet && !hasArgs) {
      selection[name] = true
      continue
    }
    const fieldInfo = outType ? index.out[outType]?.[name] : undefined
    const nested = {}
    if (hasArgs) nested.arguments = argumentsOf(sel, fieldInfo?.args, index, { tag: true })
    nested.selection = selectionOf(sel.selectionSet, fieldInfo?.out ?? null, index)
    selection[name] = nested
  }
  return selection
}

/**
 * Translate one GraphQL query string into a JSON-protocol query.
 * Returns `{query, rootField, action}`; `action` tells the caller how to map the result.
 */
export function translateQuery(graphql, index) {
  let doc
  try {
    doc = parse(graphql, { noLocation: true })
  } catch (e) {
    throw new TranslationError(`cannot parse the GraphQL request: ${e.message}`)
  }
  const op = doc.definitions[0]
  if (doc.definitions.length !== 1 || op.kind !== 'OperationDefinition') {
    throw new TranslationError('expected exactly one GraphQL operation')
  }
  const fields = op.selectionSet.selections
  if (fields.length !== 1 || fields[0].kind !== 'Field') {
    throw new TranslationError(`expected exactly one root field, got ${fields.length}`)
  }
  const root = fields[0]
  const rootField = root.name.value
  const info = index.ops[rootField]
  if (!info) throw new TranslationError(`unknown operation ${rootField}`)
  // Raw queries take `query` and `parameters` (JSON text of the parameter list) verbatim.
  const tag = !RAW_ACTIONS.has(info.action)
  const query = {
    action: info.action,
    query: {
      arguments: argumentsOf(root, info.args, index, { tag }),
      selection: root.selectionSet ? selectionOf(root.selectionSet, info.out, index) : {},
    },
  }
  if (info.model) query.modelName = info.model
  return { query, rootField, action: info.action }
}

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

/**
 * A GraphQL-protocol batch (`{batch: [{query, variables}], transaction: true}`) as a JSON-protocol
 * batch. The GraphQL protocol takes `transaction: true`; the JSON protocol an options object.
 */
export function translateBatch(body, index) {
  const items = body.batch.map((item) => translateQuery(typeof item === 'string' ? item : item.query, index))
  const out = { batch: items.map((i) => i.query) }
  if (body.transaction) {
    out.transaction = typeof body.transaction === 'object' ? body.transaction : {}
  }
  return { body: out, actions: items.map((i) => i.action) }
}

export function mapBatchResult(response, actions, mapRaw) {
  if (!response || !Array.isArray(response.batchResult)) return response
  return {
    ...response,
    batchResult: response.batchResult.map((r, i) => mapResult(r, actions[i], mapRaw)),
  }
}
