/**
 * Spec errors: a closed set of codes, each with a source position. Only the
 * CLI and the status writer turn them into prose (see format-spec-error.ts).
 */

export type SpecErrorCode =
  | 'unreadable' // the file could not be read at all
  | 'too-large'
  | 'not-text' // binary junk, invalid UTF-8
  | 'outside-root' // a symlink leaving the spec folder
  | 'yaml-syntax'
  | 'yaml-resource-limit' // alias bombs, deep nesting
  | 'not-an-object'
  | 'unknown-kind'
  | 'unknown-key'
  | 'missing-key'
  | 'wrong-type'
  | 'bad-value'
  | 'duplicate-name'
  | 'duplicate-host'
  | 'duplicate-remote'
  | 'literal-secret'
  | 'missing-reference' // an Agent naming a Bottle that does not exist, a workspace remote that is not declared
  | 'extends-cycle'
  | 'extends-missing'
  | 'extends-self'

export interface SourcePosition {
  /** Path relative to the spec root, with forward slashes. */
  file: string
  /** 1-based. */
  line: number
  /** 1-based. */
  column: number
}

export interface SpecError extends SourcePosition {
  code: SpecErrorCode
  message: string
  /** The object the error belongs to, when known: `Bottle/dev`, `Agent/implementer`, or `document 2`. */
  object?: string
  /** Dotted field path inside the object: `spec.egress.routes[1].host`. */
  field?: string
  /** A suggestion: "did you mean 'routes'?". */
  hint?: string
}

export function formatSpecError(e: SpecError): string {
  const where = `${e.file}:${e.line}:${e.column}`
  const what = [e.object, e.field].filter(Boolean).join(' ')
  const hint = e.hint ? ` (${e.hint})` : ''
  return `${where}: ${what ? `${what}: ` : ''}${e.message}${hint}`
}

/** Formats a field path the way users write it: spec.egress.routes[1].host */
export function formatFieldPath(path: readonly (string | number)[]): string {
  let out = ''
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`
    else if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(seg)) out += out ? `.${seg}` : seg
    else out += `[${JSON.stringify(seg)}]`
  }
  return out
}
