import type { ErrorObject } from 'ajv'
import { didYouMean } from './did-you-mean.js'
import type { SpecErrorCode } from './errors.js'
import type { FieldPath } from './parse-documents.js'

/** A schema violation, before it is given a file position. */
export interface SchemaProblem {
  code: SpecErrorCode
  path: FieldPath
  /** Point at the key rather than the value (unknown keys). */
  atKey: boolean
  message: string
  hint?: string
}

/** Human wording for the CRDs' patterns, so users read a rule instead of a regex. */
const PATTERN_MESSAGES: Record<string, string> = {
  '^[a-z][a-z0-9-]{0,52}$': 'must be lowercase letters, digits and dashes, start with a letter, and be at most 53 characters',
  '^[A-Za-z_][A-Za-z0-9_]*$': 'must be an environment variable name (letters, digits and _, not starting with a digit)',
  '^/': "must start with '/'",
  '^[A-Za-z0-9._-]{1,100}$': "may contain only letters, digits, '.', '_' and '-'",
  '^([0-9]+(ms|s|m|h))+$': 'must be a duration such as 90s, 30m or 1h30m',
  '^https?://[^/?#@\\s]+/?$': 'must be an origin such as https://gateway.example.com:8443 (no path, query or user)',
  '^[A-Za-z0-9][A-Za-z0-9._/:@-]*$': 'must be an image reference such as name:tag',
  '^[A-Za-z0-9][A-Za-z0-9._-]*$': "may contain only letters, digits, '.', '_' and '-'",
  '^[A-Za-z0-9][A-Za-z0-9._/-]*$': 'must be a branch, tag or commit name',
}

const HOST_MESSAGE = 'must be a host name or *.suffix (no scheme, port, path or bare *)'

function pathOf(instancePath: string): (string | number)[] {
  if (!instancePath) return []
  return instancePath
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s))
}

function describeType(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'a list'
  if (typeof value === 'object') return 'a mapping'
  if (typeof value === 'string') return 'a string'
  return `${typeof value} ${JSON.stringify(value)}`
}

const TYPE_WORDS: Record<string, string> = { object: 'a mapping', array: 'a list', string: 'a string', integer: 'an integer', number: 'a number', boolean: 'true or false' }

/**
 * Turns ajv's errors into one problem per real mistake. allErrors reports
 * every violation; the ones below already-reported parents are dropped.
 */
export function schemaProblems(errors: readonly ErrorObject[]): SchemaProblem[] {
  const out: SchemaProblem[] = []
  const seen = new Set<string>()
  for (const e of errors) {
    const path = pathOf(e.instancePath)
    const problem = toProblem(e, path)
    if (!problem) continue
    const key = `${problem.path.join('\u0000')}|${problem.message}`
    if (seen.has(key)) continue
    seen.add(key)
    out.push(problem)
  }
  return out
}

function toProblem(e: ErrorObject, path: (string | number)[]): SchemaProblem | undefined {
  const params = e.params as Record<string, unknown>
  const propertyName = (e as ErrorObject & { propertyName?: string }).propertyName
  if (propertyName !== undefined) {
    // A bad key under propertyNames (an env variable name): point at the key itself.
    const message = PATTERN_MESSAGES[String(params.pattern)] ?? 'is not an allowed key'
    return { code: 'bad-value', path: [...path, propertyName], atKey: true, message: `key ${JSON.stringify(propertyName)} ${message}` }
  }
  switch (e.keyword) {
    case 'additionalProperties': {
      const key = String(params.additionalProperty)
      const allowed = Object.keys(((e.parentSchema as { properties?: object } | undefined)?.properties) ?? {})
      const guess = didYouMean(key, allowed)
      return {
        code: 'unknown-key',
        path: [...path, key],
        atKey: true,
        message: `unknown key "${key}"`,
        hint: guess ? `did you mean "${guess}"?` : allowed.length ? `allowed: ${allowed.join(', ')}` : undefined,
      }
    }
    case 'required':
      return { code: 'missing-key', path, atKey: false, message: `missing required key "${String(params.missingProperty)}"` }
    case 'type':
      return { code: 'wrong-type', path, atKey: false, message: `must be ${TYPE_WORDS[String(params.type)] ?? String(params.type)}, not ${describeType(e.data)}` }
    case 'enum': {
      const allowed = (params.allowedValues as unknown[]).map(String)
      const guess = typeof e.data === 'string' ? didYouMean(e.data, allowed) : undefined
      return {
        code: 'bad-value',
        path,
        atKey: false,
        message: `must be one of ${allowed.join(', ')}, not ${JSON.stringify(e.data)}`,
        hint: guess ? `did you mean "${guess}"?` : undefined,
      }
    }
    case 'pattern': {
      const pattern = String(params.pattern)
      const message = PATTERN_MESSAGES[pattern] ?? (pattern.includes('(\\*\\.)?') ? HOST_MESSAGE : 'does not have the expected format')
      return { code: 'bad-value', path, atKey: false, message: `${message}, not ${JSON.stringify(e.data)}` }
    }
    case 'propertyNames':
      // ajv reports the bad name through a nested pattern error too; that one carries the name.
      return undefined
    case 'minProperties':
    case 'maxProperties': {
      const allowed = Object.keys(((e.parentSchema as { properties?: object } | undefined)?.properties) ?? {})
      return { code: 'bad-value', path, atKey: false, message: `must set exactly one of ${allowed.join(', ')}` }
    }
    case 'minLength':
      return { code: 'bad-value', path, atKey: false, message: 'must not be empty' }
    case 'maxLength':
      return { code: 'bad-value', path, atKey: false, message: `must be at most ${String(params.limit)} characters` }
    case 'minimum':
    case 'exclusiveMinimum':
    case 'maximum':
    case 'exclusiveMaximum':
      return { code: 'bad-value', path, atKey: false, message: `must be ${e.message ?? 'in range'}, not ${JSON.stringify(e.data)}` }
    case 'maxItems':
      return { code: 'bad-value', path, atKey: false, message: `must have at most ${String(params.limit)} items` }
    default:
      return { code: 'bad-value', path, atKey: false, message: e.message ?? 'is not valid' }
  }
}
