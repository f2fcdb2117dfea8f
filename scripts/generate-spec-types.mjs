#!/usr/bin/env node
// Renders controller/spec/generated/spec-types.ts from the CRDs in crds/, so
// the TypeScript types can never drift from the schemas the loader enforces.
// A unit test re-renders and compares; run `npm run generate:types` after
// editing a CRD.
import { readFileSync, writeFileSync, readdirSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parse } from 'yaml'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
export const OUTPUT = join(root, 'controller/spec/generated/spec-types.ts')

export function readCrds(dir = join(root, 'crds')) {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .map((f) => parse(readFileSync(join(dir, f), 'utf8')))
}

const pascal = (s) => s.replace(/(^|[-_.])([a-z0-9])/gi, (_, __, c) => c.toUpperCase())

function doc(description, indent) {
  if (!description) return ''
  const text = String(description).replace(/\*\//g, '*\\/')
  return `${indent}/** ${text} */\n`
}

/** Emits named interfaces for every object schema, depth first, in a stable order. */
class Emitter {
  constructor() {
    this.blocks = new Map()
  }

  typeOf(schema, nameHint, defs) {
    if (schema.$ref) {
      const name = schema.$ref.replace('#/$defs/', '')
      this.named(name, defs[name], defs)
      return name
    }
    if (schema.enum) return schema.enum.map((v) => JSON.stringify(v)).join(' | ')
    switch (schema.type) {
      case 'string':
        return 'string'
      case 'number':
      case 'integer':
        return 'number'
      case 'boolean':
        return 'boolean'
      case 'array':
        return `${this.wrap(this.typeOf(schema.items ?? {}, `${nameHint}Item`, defs))}[]`
      case 'object':
        if (!schema.properties && schema.additionalProperties && typeof schema.additionalProperties === 'object') {
          return `Record<string, ${this.typeOf(schema.additionalProperties, `${nameHint}Value`, defs)}>`
        }
        this.named(nameHint, schema, defs)
        return nameHint
      default:
        return 'unknown'
    }
  }

  wrap(t) {
    return t.includes('|') ? `(${t})` : t
  }

  named(name, schema, defs) {
    if (this.blocks.has(name)) return
    this.blocks.set(name, '') // reserve: recursion and first-wins for shared $defs
    if (schema.type !== 'object' || !schema.properties) {
      this.blocks.set(name, `${doc(schema.description, '')}export type ${name} = ${this.typeOf({ ...schema, $ref: undefined }, `${name}Value`, defs)}\n`)
      return
    }
    const required = new Set(schema.required ?? [])
    const lines = []
    for (const [key, prop] of Object.entries(schema.properties)) {
      const t = this.typeOf(prop, `${name}${pascal(key)}`, defs)
      lines.push(`${doc(prop.description, '  ')}  ${key}${required.has(key) ? '' : '?'}: ${t}`)
    }
    this.blocks.set(name, `${doc(schema.description, '')}export interface ${name} {\n${lines.join('\n')}\n}\n`)
  }
}

export function renderSpecTypes(crds) {
  const emitter = new Emitter()
  for (const crd of crds) {
    const kind = crd.spec.names.kind
    const version = crd.spec.versions.find((v) => v.storage) ?? crd.spec.versions[0]
    const schema = version.schema.openAPIV3Schema
    emitter.named(kind, schema, schema.$defs ?? {})
  }
  const header =
    '// Generated from crds/*.yaml by scripts/generate-spec-types.mjs. Do not edit by hand:\n' +
    '// edit the CRD and run `npm run generate:types`.\n\n'
  return header + [...emitter.blocks.values()].join('\n')
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeFileSync(OUTPUT, renderSpecTypes(readCrds()))
  console.log(`wrote ${OUTPUT}`)
}
