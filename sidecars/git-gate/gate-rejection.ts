/**
 * Every refusal of the gate, in one vocabulary. A refusal is one line that
 * starts `bottle-git-gate:` (so an agent can tell the gate's decision from a
 * network failure) and names what was refused and why: a rule id and a
 * location, never a secret value or the text a rule matched.
 *
 * Requests are refused over HTTP (see protocol-responses.ts for how each
 * shape reaches the git client); pushes are refused by the pre-receive hook,
 * whose lines git prints as `remote: bottle-git-gate: refused push: ...`.
 */
import type { PushFinding } from './scan-push.js'

export const MARKER = 'bottle-git-gate:'

/** Why a request was refused. Closed: tests and logs rely on these names. */
export type RejectionCode =
  | 'bad-path'
  | 'not-found'
  | 'method-not-allowed'
  | 'dumb-http'
  | 'bad-request'
  | 'unsupported-media-type'
  | 'too-large'
  | 'no-config'
  | 'upstream-unreachable'
  | 'no-mirror'
  | 'internal'

const STATUS: Record<RejectionCode, number> = {
  'bad-path': 400,
  'not-found': 404,
  'method-not-allowed': 405,
  'dumb-http': 403,
  'bad-request': 400,
  'unsupported-media-type': 415,
  'too-large': 413,
  'no-config': 503,
  'upstream-unreachable': 502,
  'no-mirror': 409,
  internal: 500,
}

export class GateRejection extends Error {
  override readonly name = 'GateRejection'
  readonly status: number
  constructor(
    readonly code: RejectionCode,
    /** One line, no secret: what git prints after `remote: bottle-git-gate: `. */
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(reason, options)
    this.status = STATUS[code]
  }
}

/** `src/config.ts:12: aws-access-key-id`, with how it was hidden and which commit when known. */
export function describePushFinding(finding: PushFinding): string {
  let text = `${finding.location}: ${finding.rule}`
  if (finding.encoding !== undefined) text += ` (hidden as ${finding.encoding})`
  if (finding.commit !== undefined) text += ` in commit ${finding.commit}`
  if (finding.detail !== undefined) text += ` (${finding.detail})`
  return text
}

const MAX_LISTED = 20

/** The lines the hook prints when the scan refuses a push. */
export function pushRefusalLines(findings: readonly PushFinding[]): string[] {
  const lines = findings.slice(0, MAX_LISTED).map((finding) => `${MARKER} refused push: ${describePushFinding(finding)}`)
  if (findings.length > MAX_LISTED) lines.push(`${MARKER} refused push: ... and ${findings.length - MAX_LISTED} more`)
  lines.push(`${MARKER} nothing was sent upstream. Remove the secret from every commit that adds it (git commit --amend, git rebase -i) and push again.`)
  return lines
}

/** One line for logs, status and messages: no line breaks, no control characters, bounded. */
export function oneLine(text: string, max = 300): string {
  const flat = text.replace(/[\u0000-\u001f\u007f]+/g, ' ').replace(/\s+/g, ' ').trim()
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat
}

/** Replace every known secret value in `text` (a backstop: messages from git and upstream are not ours). */
export function redactSecrets(text: string, secrets: Iterable<string>): string {
  let out = text
  for (const secret of secrets) if (secret.length >= 4) out = out.split(secret).join('[redacted]')
  return out
}
