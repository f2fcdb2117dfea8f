/**
 * Reads one line of a sidecar bundle's log as a no-route refusal, the fact
 * draft proposals are made of. The bundle's egress proxy writes one pino
 * JSON line per decision (sidecars/egress/event-log.ts): a refused plain
 * request is `request.denied` with `host` and `path` (never the query), a
 * refused CONNECT is `tunnel.denied` with `host` only. Every other line, and
 * anything that does not parse, is not a refusal.
 *
 * The line is untrusted in its details (the agent chose the host and the
 * path), so only those two fields are kept, bounded in length; whether they
 * may go into a committed file is decided later (draft-proposals.ts).
 */
import { parseBundleLogLine } from '../bundle-log-line.js'

export interface NoRouteDenial {
  host: string
  /** The refused path without query string or fragment; absent for a refused CONNECT. */
  path?: string
  /** Epoch milliseconds, from the line's `time` (pino's default), else when it was read. */
  at: number
}

const MAX_HOST = 253
const MAX_PATH = 256

export function parseNoRouteDenial(line: string, readAt: number): NoRouteDenial | undefined {
  if (!line.includes('no-route')) return undefined
  const fields = parseBundleLogLine(line)
  if (!fields) return undefined
  if (fields.component !== 'egress' || fields.rule !== 'no-route') return undefined
  if (fields.event !== 'request.denied' && fields.event !== 'tunnel.denied') return undefined
  const host = typeof fields.host === 'string' ? fields.host.toLowerCase().replace(/\.$/, '') : ''
  if (host === '' || host.length > MAX_HOST) return undefined
  const at = typeof fields.time === 'number' && Number.isFinite(fields.time) ? fields.time : readAt
  const path = typeof fields.path === 'string' ? fields.path.split(/[?#]/, 1)[0]! : undefined
  return { host, at, ...(path && path.startsWith('/') && path.length <= MAX_PATH ? { path } : {}) }
}
