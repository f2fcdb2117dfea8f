import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv'
import { parse } from 'yaml'
import { packageRoot } from '../package-root.js'

export const API_VERSION = 'bottle.dev/v1alpha1'
export const SPEC_KINDS = ['Bottle', 'Agent', 'Proposal'] as const
export type SpecKind = (typeof SPEC_KINDS)[number]

export type JsonSchema = Record<string, unknown>

interface CustomResourceDefinition {
  spec: {
    names: { kind: string }
    versions: { name: string; storage?: boolean; schema: { openAPIV3Schema: JsonSchema } }[]
  }
}

const CRD_FILES: Record<SpecKind, string> = { Bottle: 'bottle.yaml', Agent: 'agent.yaml', Proposal: 'proposal.yaml' }

let compiled: Map<SpecKind, { schema: JsonSchema; validate: ValidateFunction }> | undefined

function load(): Map<SpecKind, { schema: JsonSchema; validate: ValidateFunction }> {
  if (compiled) return compiled
  // verbose: errors carry parentSchema, which lists the allowed keys for "did you mean".
  const ajv = new Ajv({ allErrors: true, strict: true, verbose: true })
  compiled = new Map()
  for (const kind of SPEC_KINDS) {
    const crd = parse(readFileSync(join(packageRoot(), 'crds', CRD_FILES[kind]), 'utf8')) as CustomResourceDefinition
    const version = crd.spec.versions.find((v) => v.storage) ?? crd.spec.versions[0]
    if (!version || crd.spec.names.kind !== kind) throw new Error(`crds/${CRD_FILES[kind]} does not define kind ${kind}`)
    const schema = version.schema.openAPIV3Schema
    compiled.set(kind, { schema, validate: ajv.compile(schema) })
  }
  return compiled
}

export function isSpecKind(value: unknown): value is SpecKind {
  return typeof value === 'string' && (SPEC_KINDS as readonly string[]).includes(value)
}

/** The openAPIV3Schema of a kind, exactly as the CRD declares it. */
export function crdSchema(kind: SpecKind): JsonSchema {
  return load().get(kind)!.schema
}

export function validateAgainstCrd(kind: SpecKind, value: unknown): ErrorObject[] {
  const { validate } = load().get(kind)!
  return validate(value) ? [] : [...(validate.errors ?? [])]
}
