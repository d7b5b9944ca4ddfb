// The slice of Prisma's DMMF that input tagging needs, cached on disk by schema hash.
//
// Why: in Prisma's JSON protocol a Json, DateTime, Decimal, BigInt or Bytes argument must be sent
// as `{"$type": ..., "value": ...}`. A plain string given for a Json field is silently stored as
// a JSON *string* (jsonb_typeof = 'string'), so we must know, for every argument position, which
// input types are possible. The full DMMF of LiteLLM's schema is ~10 MB and takes ~0.6 s to
// compute with prisma-schema-wasm; this index keeps only the argument positions that can reach a
// taggable scalar, which is small and loads in milliseconds.
import crypto from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)

// Bump when the index layout changes so old cache files are ignored.
export const INDEX_VERSION = 2

/** Scalars whose JSON-protocol input must carry a `$type` tag. */
export const TAGGED_SCALARS = new Set(['Json', 'DateTime', 'Decimal', 'BigInt', 'Bytes'])

// A type reference is compacted to {k, t, l}: kind ('s' scalar, 'o' input object, 'e' enum),
// type name, and whether the position takes a list.
const KIND = { scalar: 's', inputObjectTypes: 'o', enumTypes: 'e' }

function compactRefs(inputTypes) {
  const refs = []
  for (const it of inputTypes ?? []) {
    const k = KIND[it.location]
    if (k) refs.push({ k, t: it.type, l: Boolean(it.isList) })
    // fieldRefTypes (column references) are never emitted by prisma-client-py: dropped.
  }
  return refs
}

/**
 * Build the index from a full DMMF document.
 *
 * Shape:
 *   ops:   root field name -> {model, action, args: {arg: refs}, out: output type or null}
 *   out:   output type -> {field: {args: {arg: refs}, out: output type or null}}
 *   inp:   input object type -> {field: refs}   (only fields that can reach a tagged scalar)
 *   enums: enum name -> [values]                  (to tell `DbNull`-like enum strings from Json)
 */
export function buildIndex(dmmf) {
  const inputTypes = new Map()
  for (const ns of Object.values(dmmf.schema.inputObjectTypes ?? {})) {
    for (const t of ns) inputTypes.set(t.name, t)
  }

  // Which input object types can (transitively) contain a tagged scalar: fixpoint over the graph.
  const taggable = new Set()
  const refsOf = new Map()
  for (const [name, t] of inputTypes) {
    refsOf.set(name, t.fields.map((f) => [f.name, compactRefs(f.inputTypes)]))
  }
  const refReaches = (r) => (r.k === 's' && TAGGED_SCALARS.has(r.t)) || (r.k === 'o' && taggable.has(r.t))
  let changed = true
  while (changed) {
    changed = false
    for (const [name, fields] of refsOf) {
      if (taggable.has(name)) continue
      if (fields.some(([, refs]) => refs.some(refReaches))) {
        taggable.add(name)
        changed = true
      }
    }
  }

  // Keep a position only if one of its candidates reaches a tagged scalar; keep all its
  // candidates then (the walker needs e.g. `String` to know a string is not a Json value).
  const keepRefs = (refs) => (refs.some(refReaches) ? refs.filter((r) => r.k !== 'o' || taggable.has(r.t)) : null)
  const compactArgs = (args) => {
    const out = {}
    for (const a of args ?? []) {
      const refs = keepRefs(compactRefs(a.inputTypes))
      if (refs) out[a.name] = refs
    }
    return out
  }

  const inp = {}
  for (const name of taggable) {
    const fields = {}
    for (const [fname, refs] of refsOf.get(name)) {
      const kept = keepRefs(refs)
      if (kept) fields[fname] = kept
    }
    inp[name] = fields
  }

  const enums = {}
  for (const ns of Object.values(dmmf.schema.enumTypes ?? {})) {
    for (const e of ns) enums[e.name] = e.values
  }

  const out = {}
  for (const ns of Object.values(dmmf.schema.outputObjectTypes ?? {})) {
    for (const t of ns) {
      if (t.name === 'Query' || t.name === 'Mutation') continue
      const fields = {}
      for (const f of t.fields) {
        const args = compactArgs(f.args)
        const target = f.outputType?.location === 'outputObjectTypes' ? f.outputType.type : null
        if (Object.keys(args).length || target) fields[f.name] = { args, out: target }
      }
      if (Object.keys(fields).length) out[t.name] = fields
    }
  }

  // Root operations: map e.g. `findUniqueLiteLLM_TeamTableOrThrow` to {model, action}.
  const actionOf = new Map()
  for (const m of dmmf.mappings?.modelOperations ?? []) {
    for (const [action, rootName] of Object.entries(m)) {
      if (action !== 'model' && typeof rootName === 'string') actionOf.set(rootName, { model: m.model, action })
    }
  }
  const ops = {}
  for (const ns of Object.values(dmmf.schema.outputObjectTypes ?? {})) {
    for (const t of ns) {
      if (t.name !== 'Query' && t.name !== 'Mutation') continue
      for (const f of t.fields) {
        const mapped = actionOf.get(f.name) ?? { model: null, action: f.name }
        const target = f.outputType?.location === 'outputObjectTypes' ? f.outputType.type : null
        ops[f.name] = { model: mapped.model, action: mapped.action, args: compactArgs(f.args), out: target }
      }
    }
  }
  return { version: INDEX_VERSION, ops, out, inp, enums }
}

/** Compute the DMMF with prisma-schema-wasm (the same code `prisma generate` runs). */
export function computeDmmf(schemaText) {
  const psw = require('@prisma/prisma-schema-wasm')
  return JSON.parse(psw.get_dmmf(JSON.stringify({ prismaSchema: schemaText })))
}

export function schemaHash(schemaText) {
  return crypto.createHash('sha256').update(schemaText).digest('hex').slice(0, 24)
}

/**
 * The index for `schemaText`, from `cacheDir` when present, else computed and stored there.
 * A cache that cannot be written (read-only folder) only costs time, never correctness.
 */
export function loadIndex(schemaText, cacheDir, log = () => {}) {
  const file = cacheDir ? path.join(cacheDir, `dmmf-index-v${INDEX_VERSION}-${schemaHash(schemaText)}.json`) : null
  if (file) {
    try {
      const idx = JSON.parse(fs.readFileSync(file, 'utf8'))
      if (idx.version === INDEX_VERSION) return idx
    } catch {
      // missing or unreadable: compute below
    }
  }
  const started = Date.now()
  const idx = buildIndex(computeDmmf(schemaText))
  log(`computed DMMF index in ${Date.now() - started} ms`)
  if (file) {
    try {
      fs.mkdirSync(cacheDir, { recursive: true })
      const tmp = `${file}.${process.pid}.tmp`
      fs.writeFileSync(tmp, JSON.stringify(idx))
      fs.renameSync(tmp, file) // atomic: parallel engines never read a half-written file
    } catch (e) {
      log(`could not cache the DMMF index in ${cacheDir}: ${e.message}`)
    }
  }
  return idx
}
