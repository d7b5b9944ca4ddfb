// prisma-client-py's GraphQL requests -> Prisma's JSON protocol (answers: see results.mjs).
//
// prisma-client-py (0.11 and 0.15) only ever sends one shape of GraphQL (see its _builder.py):
//
//   mutation {
//     result: createOneLiteLLM_TeamTable(data: {...}) { team_id models members { ... } }
//   }
//
// i.e. one root field aliased `result`, literal arguments (no variables, no fragments), and a
// selection set whose nested fields may carry arguments (relation includes). The JSON protocol
// equivalent is `{modelName, action, query: {arguments, selection}}`.
import { parse } from 'graphql'
import { RAW_ACTIONS } from './results.mjs'
import { plainValue, tagValue } from './tagging.mjs'

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
