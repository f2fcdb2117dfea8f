import { PassThrough, Writable } from 'node:stream'
import { DriverError } from '../driver.js'
import type { InteractiveSession, SessionOptions } from '../interactive-session.js'

/**
 * An in-memory terminal session for unit tests. It echoes every byte typed,
 * as a terminal does, and ends by itself when a line (ended by CR or LF)
 * reads `exit N`. It records what the client asked for: the command, the
 * options and every size.
 */
export class FakeSession implements InteractiveSession {
  readonly input: Writable
  readonly output = new PassThrough()
  readonly sizes: { columns: number; rows: number }[]
  /** Everything typed, in order, as the command received it. */
  typed = ''
  closed = false
  readonly #ended: Promise<number>
  #settle!: { resolve(code: number): void; reject(error: Error): void }
  #line = ''

  constructor(
    readonly argv: string[],
    readonly options: SessionOptions,
  ) {
    this.sizes = [{ columns: options.columns, rows: options.rows }]
    this.#ended = new Promise<number>((resolve, reject) => (this.#settle = { resolve, reject }))
    // A client that detaches never asks for the exit code.
    this.#ended.catch(() => undefined)
    this.input = new Writable({
      write: (chunk: Buffer, _encoding, callback) => {
        this.#receive(chunk.toString('latin1'))
        callback()
      },
    })
  }

  async resize(columns: number, rows: number): Promise<void> {
    this.sizes.push({ columns, rows })
  }

  wait(): Promise<number> {
    return this.#ended
  }

  close(): void {
    this.closed = true
    this.#settle.reject(new DriverError('fake', 'session', this.argv.join(' '), 'closed by the client before the command ended'))
    this.output.end()
  }

  /** Ends the command with `code`, as if it exited on its own. */
  exit(code: number): void {
    this.#settle.resolve(code)
    this.output.end()
  }

  #receive(text: string): void {
    if (this.output.writableEnded) return
    this.typed += text
    this.output.write(Buffer.from(text, 'latin1'))
    for (const character of text) {
      if (character !== '\r' && character !== '\n') {
        this.#line += character
        continue
      }
      const exit = /^exit (\d+)$/.exec(this.#line.trim())
      this.#line = ''
      if (exit) return this.exit(Number(exit[1]))
    }
  }
}
