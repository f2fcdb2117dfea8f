import { crdSchema, SPEC_KINDS, type JsonSchema, type SpecKind } from '../../spec/schemas.js'
import { didYouMean } from '../../spec/did-you-mean.js'
import { UsageError } from '../cli-error.js'

const EDITOR_KINDS: SpecKind[] = ['Bottle', 'Agent']

/**
 * JSON Schema (draft-07) for editors, e.g. yaml-language-server:
 *   # yaml-language-server: $schema=./bottle.schema.json
 * Without a kind, one schema accepts any Bottle or Agent document, chosen by `kind`.
 */
export function editorSchema(kind?: string): JsonSchema {
  if (kind !== undefined) {
    const match = SPEC_KINDS.find((k) => k.toLowerCase() === kind.toLowerCase() || `${k.toLowerCase()}s` === kind.toLowerCase())
    if (!match) {
      const guess = didYouMean(kind, SPEC_KINDS)
      throw new UsageError(`unknown kind "${kind}"; use ${SPEC_KINDS.join(', ')}${guess ? ` (did you mean "${guess}"?)` : ''}`)
    }
    return { $schema: 'http://json-schema.org/draft-07/schema#', $id: `https://bottle.dev/schemas/v1alpha1/${match.toLowerCase()}.json`, ...toDraft7(crdSchema(match), '') }
  }
  const definitions: Record<string, unknown> = {}
  const branches = EDITOR_KINDS.map((k) => {
    const converted = toDraft7(crdSchema(k), k)
    const { definitions: defs, ...schema } = converted as { definitions?: Record<string, unknown> }
    Object.assign(definitions, defs)
    definitions[k] = schema
    return { if: { properties: { kind: { const: k } }, required: ['kind'] }, then: { $ref: `#/definitions/${k}` } }
  })
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    $id: 'https://bottle.dev/schemas/v1alpha1/bottle-specs.json',
    title: 'bottle specs',
    type: 'object',
    required: ['kind'],
    properties: { kind: { enum: EDITOR_KINDS } },
    allOf: branches,
    definitions,
  }
}

/** Draft-07 tools read `definitions`, not `$defs`; prefix names so kinds can share one file. */
function toDraft7(schema: JsonSchema, prefix: string): JsonSchema {
  const rename = (name: string) => `${prefix}${name}`
  const walk = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(walk)
    if (node === null || typeof node !== 'object') return node
    const out: Record<string, unknown> = {}
    for (const [key, value] of Object.entries(node)) {
      if (key === '$defs') {
        out.definitions = Object.fromEntries(Object.entries(value as object).map(([n, d]) => [rename(n), walk(d)]))
      } else if (key === '$ref' && typeof value === 'string' && value.startsWith('#/$defs/')) {
        out.$ref = `#/definitions/${rename(value.slice('#/$defs/'.length))}`
      } else {
        out[key] = walk(value)
      }
    }
    return out
  }
  return walk(schema) as JsonSchema
}
