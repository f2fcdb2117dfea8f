/**
 * The proxy's log vocabulary: one JSON line per decision, with a constant
 * message, an `event` from a closed union and the variable parts in fields.
 * Fields carry hosts, paths, rule ids, slot names and byte counts; never a
 * header value, a body, a secret value or the text a DLP rule matched. Where a
 * DLP finding sits in the host or the path, that field is replaced by
 * `[redacted]` because it would carry the secret itself.
 */
import pino, { type DestinationStream, type Logger } from 'pino'
import { createDaemonLogger, eventLogger } from '../shared/daemon-logger.js'
import type { RedactionRule } from './answer-redactor.js'
import type { DenialRule } from './deny.js'

export interface RequestFields {
  /** `http` (absolute-URI), `https` (inside an intercepted tunnel), `ws` / `wss` for upgrades. */
  scheme: string
  method: string
  host: string
  port: number
  /** Path without the query string. */
  path: string
  /** The route's configured host, when one matched. */
  route?: string
}

export type EgressEvent =
  | ({ event: 'request.allowed'; status: number; bytesOut: number; bytesIn: number; durationMs: number; injected?: string } & RequestFields)
  | ({ event: 'request.denied'; rule: DenialRule; reason: string; dlpRule?: string; location?: string } & Partial<RequestFields>)
  | ({ event: 'request.failed'; error: string; bytesOut: number } & RequestFields)
  | ({ event: 'dlp.warned'; dlpRule: string; location: string } & Partial<RequestFields>)
  /** A secret value replaced in what the origin sent back; `where` is `header:<name>`, `location`, `body` or `websocket`. */
  | ({ event: 'answer.redacted'; rule: RedactionRule; where: string; count: number } & Partial<RequestFields>)
  | { event: 'tunnel.opened'; mode: 'intercept' | 'passthrough'; host: string; port: number; route: string }
  | { event: 'tunnel.denied'; rule: DenialRule; reason: string; host?: string; port?: number; dlpRule?: string; location?: string }
  | { event: 'tunnel.closed'; mode: 'passthrough' | 'websocket'; host: string; port: number; route: string; bytesOut: number; bytesIn: number; durationMs: number }
  | { event: 'client.error'; error: string }
  | { event: 'config.applied'; configHash: string; routes: number }
  | { event: 'config.rejected'; error: string; keptConfigHash: string | null }
  | { event: 'config.watch-failed'; error: string }
  | { event: 'state.write-failed'; error: string }
  | { event: 'proxy.listening'; address: string; port: number }
  | { event: 'proxy.stopping'; signal: string }

const MESSAGES: Record<EgressEvent['event'], string> = {
  'request.allowed': 'request forwarded',
  'request.denied': 'request denied',
  'request.failed': 'request failed upstream',
  'dlp.warned': 'dlp finding allowed by warn mode',
  'answer.redacted': 'secret value redacted from an answer',
  'tunnel.opened': 'tunnel opened',
  'tunnel.denied': 'tunnel denied',
  'tunnel.closed': 'tunnel closed',
  'client.error': 'client protocol error',
  'config.applied': 'config applied',
  'config.rejected': 'config rejected, previous config kept',
  'config.watch-failed': 'config folder watch failed',
  'state.write-failed': 'cannot write applied.json',
  'proxy.listening': 'proxy listening',
  'proxy.stopping': 'proxy stopping',
}

export const logEvent = eventLogger<EgressEvent>(MESSAGES, [
  'request.denied',
  'tunnel.denied',
  'dlp.warned',
  'answer.redacted',
  'config.rejected',
  'request.failed',
  'config.watch-failed',
  'state.write-failed',
])

/**
 * The proxy's root logger. `redact` is a backstop for mistakes, not the way
 * secrets are kept out: no code path logs headers.
 */
export function createEgressLogger(destination?: DestinationStream, level: string = 'info'): Logger {
  return createDaemonLogger({
    component: 'egress',
    level,
    // Exact paths only: a wildcard path makes pino walk every logged object.
    redact: ['authorization', 'cookie', 'secret', 'value', 'headers.authorization', 'headers["proxy-authorization"]', 'headers.cookie'],
    destination: destination ?? stdoutDestination(),
    // Epoch milliseconds: formatting ISO dates costs more than the rest of a line.
    time: 'epoch',
  })
}

const FLUSH_INTERVAL_MS = 200

/**
 * Stdout, buffered: one decision line per request written synchronously
 * costs about as much as forwarding the request. Lines are flushed when 15 KiB
 * accumulate (about 35 lines: one write syscall per 35 requests under load,
 * where 4 KiB cost one per 10; sonic-boom needs it below its 16 KiB maxWrite),
 * every 200 ms, and synchronously at exit, so a line is at most 200 ms late
 * and lost only on SIGKILL.
 */
function stdoutDestination(): DestinationStream {
  const stream = pino.destination({ dest: 1, sync: false, minLength: 15 * 1024 })
  setInterval(() => {
    try {
      stream.flush()
    } catch {
      // not ready yet, or already closed: the next tick or the exit flush writes it
    }
  }, FLUSH_INTERVAL_MS).unref()
  process.once('exit', () => {
    try {
      stream.flushSync()
    } catch {
      // stdout is gone
    }
  })
  return stream
}
