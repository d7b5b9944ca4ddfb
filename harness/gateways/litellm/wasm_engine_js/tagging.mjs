// GraphQL argument values -> JSON-protocol argument values, with `$type` tags where the schema
// says the position takes a Json, DateTime, Decimal, BigInt or Bytes value.
//
// Why tag at all: the GraphQL protocol (what prisma-client-py speaks) carries every scalar as a
// plain literal and the native engine coerces it by the schema. The JSON protocol (all the wasm
// engine understands) only coerces *tagged* values: an untagged string for a Json field becomes
// a JSON string value, silently. So we follow the DMMF input types (see dmmf_index.mjs) down the
// argument tree and tag exactly where the native engine would have coerced.
//
// We work on the GraphQL AST rather than on parsed JS values so that integer and decimal
// literals keep their exact text (a BigInt above 2^53 must not go through a JS number).

/** The tag for a scalar literal given the scalar types allowed at its position, or null. */
function scalarTag(scalars, kind) {
  // A position that also accepts a plain String (or the literal is a number for Int/Float)
  // needs no tag: the engine takes it as is.
  if (kind === 'string' && (scalars.has('String') || scalars.has('UUID'))) return null
  if (kind === 'number' && (scalars.has('Int') || scalars.has('Float'))) return null
  if (kind === 'boolean' && scalars.has('Boolean')) return null
  for (const t of ['Json', 'DateTime', 'Decimal', 'BigInt', 'Bytes']) {
    if (!scalars.has(t)) continue
    if (kind === 'boolean' && t !== 'Json') continue
    if (kind === 'number' && (t === 'DateTime' || t === 'Bytes')) continue
    return t
  }
  return null
}

function isEnumValue(refs, index, value) {
  return refs.some((r) => r.k === 'e' && (index.enums[r.t] ?? []).includes(value))
}

/** Plain conversion of a GraphQL value node, no schema involved. */
export function plainValue(node) {
  switch (node.kind) {
    case 'NullValue':
      return null
    case 'IntValue':
    case 'FloatValue':
      return Number(node.value)
    case 'StringValue':
    case 'EnumValue':
      return node.value
    case 'BooleanValue':
      return node.value
    case 'ListValue':
      return node.values.map(plainValue)
    case 'ObjectValue': {
      const out = {}
      for (const f of node.fields) out[f.name.value] = plainValue(f.value)
      return out
    }
    default:
      throw new Error(`unsupported GraphQL value of kind ${node.kind} (variables are not supported)`)
  }
}

/** JSON text of a GraphQL value node (for a Json position given an object or list literal). */
function jsonText(node) {
  return JSON.stringify(plainValue(node))
}

/**
 * Convert `node` at a position whose possible input types are `refs` (from the index; an empty
 * or missing list means "nothing taggable can be here").
 */
export function tagValue(node, refs, index) {
  if (!refs || refs.length === 0) return plainValue(node)
  switch (node.kind) {
    case 'NullValue':
      return null
    case 'ListValue': {
      // Elements of a list position take the list's own type; if no candidate is a list (the
      // engine also accepts a list for some single-valued filters) try all candidates.
      const listRefs = refs.filter((r) => r.l).map((r) => ({ ...r, l: false }))
      const scalars = new Set(refs.filter((r) => r.k === 's' && !r.l).map((r) => r.t))
      if (listRefs.length === 0 && scalars.has('Json') && !refs.some((r) => r.k === 'o')) {
        // A list literal for a plain Json position is one JSON array value.
        return { $type: 'Json', value: jsonText(node) }
      }
      const elementRefs = listRefs.length ? listRefs : refs
      return node.values.map((v) => tagValue(v, elementRefs, index))
    }
    case 'ObjectValue': {
      const objectRefs = refs.filter((r) => r.k === 'o' && !r.l)
      if (objectRefs.length === 0) {
        const scalars = new Set(refs.filter((r) => r.k === 's').map((r) => r.t))
        if (scalars.has('Json')) return { $type: 'Json', value: jsonText(node) }
        return plainValue(node)
      }
      // Several candidate input objects (e.g. Create vs UncheckedCreate, Filter vs plain value):
      // a field's possible types are the union over the candidates that have that field. Fields
      // of the same name carry the same scalar type in all of Prisma's variants.
      const out = {}
      for (const f of node.fields) {
        const name = f.name.value
        const fieldRefs = []
        for (const r of objectRefs) {
          const found = index.inp[r.t]?.[name]
          if (found) fieldRefs.push(...found)
        }
        out[name] = tagValue(f.value, fieldRefs, index)
      }
      return out
    }
    case 'StringValue':
    case 'EnumValue':
    case 'IntValue':
    case 'FloatValue':
    case 'BooleanValue': {
      const scalars = new Set(refs.filter((r) => r.k === 's' && !r.l).map((r) => r.t))
      // Scalar lists (e.g. `String[]`) given a single literal: allowed by the engine for `has`
      // style positions; the element type is what matters.
      for (const r of refs) if (r.k === 's' && r.l) scalars.add(r.t)
      const kind =
        node.kind === 'BooleanValue' ? 'boolean' : node.kind === 'IntValue' || node.kind === 'FloatValue' ? 'number' : 'string'
      if (kind === 'string' && isEnumValue(refs, index, node.value)) return node.value
      const tag = scalarTag(scalars, kind)
      if (tag === null) return plainValue(node)
      if (tag === 'Json') {
        // prisma-client-py sends Json values as JSON text in a string; a bare number or boolean
        // literal is its own JSON text.
        return { $type: 'Json', value: kind === 'string' ? node.value : String(node.value) }
      }
      return { $type: tag, value: String(node.value) }
    }
    default:
      return plainValue(node)
  }
}
