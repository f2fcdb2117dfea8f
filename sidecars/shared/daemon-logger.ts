import pino, { type DestinationStream, type Logger } from 'pino'

export interface DaemonLoggerOptions {
  /** `component` of every line: egress, git-gate, supervise, init. */
  component: string
  level?: string
  /** Exact paths (a wildcard makes pino walk every logged object). A backstop for mistakes: no code path logs a secret. */
  redact?: readonly string[]
  /** Default: stdout, written synchronously (a line is never lost in a crash). */
  destination?: DestinationStream
  /** ISO dates (default), or pino's epoch milliseconds where formatting a date costs more than the rest of a line. */
  time?: 'iso' | 'epoch'
}

/** The root logger of a bundle daemon: one JSON line per event on stdout, read by `bottle logs`. */
export function createDaemonLogger(options: DaemonLoggerOptions): Logger {
  return pino(
    {
      level: options.level ?? 'info',
      base: { component: options.component, pid: process.pid },
      ...(options.redact ? { redact: { paths: [...options.redact], censor: '[redacted]' } } : {}),
      ...(options.time === 'epoch' ? {} : { timestamp: pino.stdTimeFunctions.isoTime }),
    },
    options.destination ?? pino.destination({ dest: 1, sync: true }),
  )
}

/**
 * A daemon's `logEvent`: one line per event from its closed union, with a
 * constant message per event name; the events in `warnings` at warn level,
 * the rest at info.
 */
export function eventLogger<E extends { event: string }>(messages: Readonly<Record<E['event'], string>>, warnings: Iterable<E['event']>): (log: Logger, event: E) => void {
  const warn = new Set<string>(warnings)
  return (log, event) => {
    const message: string = messages[event.event as E['event']]
    const fields: object = event
    if (warn.has(event.event)) log.warn(fields, message)
    else log.info(fields, message)
  }
}
