import { Writable } from 'node:stream'
import pino, { type Logger } from 'pino'

/** A pino logger whose lines are kept in memory, so tests can assert on them (and on what they must never hold). */
export function captureLog(level: pino.Level = 'debug'): { log: Logger; lines: string[]; text: () => string } {
  const lines: string[] = []
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean))
      done()
    },
  })
  const log = pino({ level }, stream)
  return { log, lines, text: () => lines.join('\n') }
}
