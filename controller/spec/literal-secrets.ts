import { CREDENTIAL_PATTERNS, findCredentials } from '../../sidecars/dlp/credential-patterns.js'
import type { FieldPath } from './parse-documents.js'

export interface LiteralSecret {
  path: FieldPath
  /** The value is a mapping key rather than a value. */
  atKey: boolean
  rule: string
  description: string
}

const DESCRIPTIONS = new Map(CREDENTIAL_PATTERNS.map((p) => [p.id, p.description]))

/**
 * Finds literal credentials anywhere in a parsed document: every string
 * value and every key, at any depth. Specs are reviewed and committed, so a
 * credential in one is already a leak; the only accepted form is a reference.
 */
export function findLiteralSecrets(value: unknown, path: FieldPath = []): LiteralSecret[] {
  const out: LiteralSecret[] = []
  walk(value, [...path], out)
  return out
}

function check(text: string, path: (string | number)[], atKey: boolean, out: LiteralSecret[]): void {
  const match = findCredentials(text)[0]
  if (match) out.push({ path: [...path], atKey, rule: match.rule, description: DESCRIPTIONS.get(match.rule) ?? match.rule })
}

function walk(value: unknown, path: (string | number)[], out: LiteralSecret[]): void {
  if (typeof value === 'string') {
    check(value, path, false, out)
  } else if (Array.isArray(value)) {
    value.forEach((item, i) => walk(item, [...path, i], out))
  } else if (value !== null && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) {
      check(key, [...path, key], true, out)
      walk(item, [...path, key], out)
    }
  }
}
