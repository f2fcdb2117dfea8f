/**
 * The supervise daemon's log vocabulary: one JSON line per decision, a
 * constant message, an `event` from a closed union and the variable parts
 * in fields. A refused call logs its code, never the text the agent sent
 * (it may be anything); an accepted proposal logs its id and host, which
 * passed the rules (no credential shapes) before they are logged.
 */
import type { DestinationStream, Logger } from 'pino'
import { createDaemonLogger, eventLogger } from '../shared/daemon-logger.js'

export type RefusalCode =
  | 'not-configured'
  | 'invalid-proposal'
  | 'already-allowed'
  | 'already-proposed'
  | 'rate-limited'
  | 'unknown-id'
  | 'routes-unknown'

export type SuperviseTool = 'list-egress-routes' | 'propose-egress-route' | 'proposal-status'

export type SuperviseEvent =
  | { event: 'supervise.listening'; address: string; port: number }
  | { event: 'supervise.stopping'; signal: string }
  | { event: 'supervise.reload'; signal: string }
  | { event: 'tool.answered'; tool: SuperviseTool; id?: string; phase?: string; routes?: number }
  | { event: 'tool.refused'; tool: SuperviseTool; code: RefusalCode }
  | { event: 'tool.failed'; tool: SuperviseTool; error: string }
  | { event: 'proposal.submitted'; id: string; host: string; paths: number }
  | { event: 'http.refused'; status: number; reason: string }
  | { event: 'client.error'; error: string }

const MESSAGES: Record<SuperviseEvent['event'], string> = {
  'supervise.listening': 'supervise MCP server listening',
  'supervise.stopping': 'supervise MCP server stopping',
  'supervise.reload': 'config is read on every call; nothing to reload',
  'tool.answered': 'tool call answered',
  'tool.refused': 'tool call refused',
  'tool.failed': 'tool call failed',
  'proposal.submitted': 'proposal handed to the controller',
  'http.refused': 'HTTP request refused',
  'client.error': 'client error',
}

export const logEvent = eventLogger<SuperviseEvent>(MESSAGES, ['tool.refused', 'tool.failed', 'http.refused', 'client.error'])

/** The daemon's root logger. `redact` is a backstop; no code path logs a secret. */
export function createSuperviseLogger(destination?: DestinationStream, level = 'info'): Logger {
  return createDaemonLogger({
    component: 'supervise',
    level,
    redact: ['authorization', 'token', 'secret', 'reason', '*.authorization', '*.token', '*.reason'],
    ...(destination ? { destination } : {}),
  })
}
