/**
 * The dashboard's feed: one short line per decision of an agent's bundle,
 * read from the JSON lines its egress proxy and git gate log
 * (sidecars/egress/event-log.ts, sidecars/git-gate/event-log.ts). Only
 * decisions are kept (allowed, refused with its rule, redacted, failed,
 * pushed); lifecycle lines are not.
 *
 * The daemons never log a secret value, but a refused path is logged as
 * the agent sent it; a host or path shaped like a credential is shown as
 * `[redacted]`, so the screen holds no more than the rules allow.
 */
import { findCredentials } from '../../../sidecars/dlp/credential-patterns.js'
import { parseBundleLogLine } from '../../bundle-log-line.js'

export type FeedOutcome = 'allowed' | 'refused' | 'redacted' | 'failed' | 'warned' | 'pushed'

export interface FeedLine {
  /** Epoch milliseconds. */
  at: number
  daemon: 'egress' | 'git-gate'
  outcome: FeedOutcome
  /** The rule that refused, redacted or warned. */
  rule?: string
  /** What it was about: `GET host/path`, `CONNECT host`, `push origin main`. */
  subject: string
  /** The destination alone, for the agents table. */
  host?: string
}

const MAX_SUBJECT = 200

export function parseDecision(line: string, readAt: number): FeedLine | undefined {
  const f = parseBundleLogLine(line)
  if (!f) return undefined
  const at = typeof f.time === 'number' ? f.time : typeof f.time === 'string' && Number.isFinite(Date.parse(f.time)) ? Date.parse(f.time) : readAt
  if (f.component === 'egress') return egressDecision(f, at)
  if (f.component === 'git-gate') return gateDecision(f, at)
  return undefined
}

function egressDecision(f: Record<string, unknown>, at: number): FeedLine | undefined {
  const host = shown(text(f.host))
  const request = `${text(f.method) || 'GET'} ${host}${shown(text(f.path))}`
  const line = (outcome: FeedOutcome, subject: string, rule?: string): FeedLine => ({ at, daemon: 'egress', outcome, subject: subject.slice(0, MAX_SUBJECT), ...(rule ? { rule } : {}), ...(host ? { host: host.slice(0, MAX_SUBJECT) } : {}) })
  switch (f.event) {
    case 'request.allowed':
      return line('allowed', `${request} ${typeof f.status === 'number' ? f.status : ''}`.trimEnd())
    case 'request.denied':
      return line('refused', f.host === undefined ? 'request' : request, text(f.rule))
    case 'tunnel.denied':
      return line('refused', `CONNECT ${shown(text(f.host)) || '?'}`, text(f.rule))
    case 'tunnel.opened':
      // An intercepted tunnel's requests have lines of their own; a passthrough tunnel is the only trace.
      return f.mode === 'passthrough' ? line('allowed', `CONNECT ${shown(text(f.host))} (passthrough)`) : undefined
    case 'answer.redacted':
      return line('redacted', `${shown(text(f.host))} ${text(f.where)}`.trim(), text(f.rule))
    case 'dlp.warned':
      return line('warned', request, text(f.dlpRule))
    case 'request.failed':
      return line('failed', request, 'upstream')
    default:
      return undefined
  }
}

function gateDecision(f: Record<string, unknown>, at: number): FeedLine | undefined {
  const refs = Array.isArray(f.refs) ? f.refs.filter((r): r is string => typeof r === 'string').join(',') : ''
  const push = `push ${text(f.remote)} ${refs}`.trimEnd()
  const line = (outcome: FeedOutcome, subject: string, rule?: string): FeedLine => ({ at, daemon: 'git-gate', outcome, subject: subject.slice(0, MAX_SUBJECT), ...(rule ? { rule } : {}) })
  switch (f.event) {
    case 'push.forwarded':
      return line('pushed', push)
    case 'push.refused': {
      const finding = Array.isArray(f.findings) ? (f.findings[0] as { rule?: unknown; location?: unknown } | undefined) : undefined
      return line('refused', `${push}${finding?.location ? ` at ${shown(text(finding.location))}` : ''}`, text(finding?.rule) || 'secret')
    }
    case 'push.too-large':
      return line('refused', push, 'too-large')
    case 'push.upstream-rejected':
      return line('refused', push, 'upstream')
    case 'request.refused':
      return line('refused', `${text(f.service) || 'request'} ${text(f.remote)}`.trimEnd(), text(f.code))
    default:
      return undefined
  }
}

function text(value: unknown): string {
  return typeof value === 'string' ? value.replace(/[\u0000-\u001f\u007f]/g, '?') : ''
}

function shown(value: string): string {
  return value !== '' && findCredentials(value).length > 0 ? '[redacted]' : value
}

/** `12:00:01 egress   refused  no-route    GET docs.example.com/x`, cut to `width`. */
export function formatFeedLine(line: FeedLine, width: number): string {
  const time = new Date(line.at).toTimeString().slice(0, 8)
  const out = `${time} ${line.daemon.padEnd(8)} ${line.outcome.padEnd(8)} ${(line.rule ?? '').padEnd(14)} ${line.subject}`
  return out.length > width ? out.slice(0, width) : out
}

/** `refused no-route docs.example.com`, for the agents table. */
export function summarizeDecision(line: FeedLine | undefined): string {
  if (!line) return '-'
  return `${line.outcome}${line.rule ? ` ${line.rule}` : ''} ${line.host ?? line.subject}`
}
