/**
 * The gate's log vocabulary: one JSON line per decision, with a constant
 * message, an `event` from a closed union and the variable parts in fields.
 * Fields carry remote names, rule ids, locations, counts and one-line
 * reasons; never a token, a key, a matched value, or request text the agent
 * chose (a refused request logs its code, not its path).
 */
import type { DestinationStream, Logger } from 'pino'
import { createDaemonLogger, eventLogger } from '../shared/daemon-logger.js'
import type { RejectionCode } from './gate-rejection.js'
import type { GitService } from './route-request.js'

interface FindingField {
  rule: string
  location: string
  commit?: string
}

export type GateEvent =
  | { event: 'gate.listening'; address: string; port: number }
  | { event: 'gate.stopping'; signal: string }
  | { event: 'config.applied'; reason: string; configHash: string; remotes: string[] }
  | { event: 'config.rejected'; reason: string; error: string; keptConfigHash: string | null }
  | { event: 'config.watch-failed'; error: string }
  | { event: 'state.write-failed'; error: string }
  | { event: 'request.refused'; code: RejectionCode; status: number; reason: string; remote?: string; service?: GitService }
  | { event: 'refresh.succeeded'; remote: string; durationMs: number }
  | { event: 'refresh.failed'; remote: string; reason: string; durationMs: number; servedStale: boolean }
  | { event: 'request.served'; remote: string; service: GitService; phase: 'advertise' | 'rpc'; bytesIn: number; bytesOut: number; durationMs: number; encoding?: 'gzip' | 'identity' }
  | { event: 'rpc.failed'; remote: string; service: GitService; reason: string }
  | { event: 'push.forwarded'; remote: string; refs: string[]; commits: number; files: number; scannedBytes: number; durationMs: number; unscanned: FindingField[] }
  | { event: 'push.refused'; remote: string; refs: string[]; commits: number; findings: FindingField[]; durationMs: number }
  | { event: 'push.upstream-rejected'; remote: string; refs: string[]; reason: string; durationMs: number }
  | { event: 'push.failed'; remote: string; refs: string[]; reason: string }
  | { event: 'push.too-large'; remote: string; refs: string[]; limitBytes: number }
  | { event: 'client.error'; error: string }

const MESSAGES: Record<GateEvent['event'], string> = {
  'gate.listening': 'git gate listening',
  'gate.stopping': 'git gate stopping',
  'config.applied': 'config applied',
  'config.rejected': 'config rejected, previous config kept',
  'config.watch-failed': 'config folder watch failed',
  'state.write-failed': 'cannot write status.json',
  'request.refused': 'request refused',
  'refresh.succeeded': 'mirror refreshed from upstream',
  'refresh.failed': 'mirror refresh from upstream failed',
  'request.served': 'served from mirror',
  'rpc.failed': 'git service failed',
  'push.forwarded': 'push scanned and forwarded upstream',
  'push.refused': 'push refused by the secret scan',
  'push.upstream-rejected': 'push refused by upstream',
  'push.failed': 'push failed',
  'push.too-large': 'push refused: over the size limit',
  'client.error': 'client error',
}

export const logEvent = eventLogger<GateEvent>(MESSAGES, [
  'config.rejected',
  'config.watch-failed',
  'state.write-failed',
  'request.refused',
  'refresh.failed',
  'rpc.failed',
  'push.refused',
  'push.upstream-rejected',
  'push.failed',
  'push.too-large',
])

/** The gate's root logger. `redact` is a backstop for mistakes; no code path logs a secret. */
export function createGateLogger(destination?: DestinationStream, level = 'info'): Logger {
  return createDaemonLogger({
    component: 'git-gate',
    level,
    redact: ['authorization', 'password', 'token', 'secret', '*.authorization', '*.password', '*.token'],
    ...(destination ? { destination } : {}),
  })
}
