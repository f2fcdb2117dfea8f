import { EventEmitter } from 'node:events'
import type { SignalSource, Terminal, TerminalInput, TerminalOutput } from '../../controller/cli/terminal-session.js'

/**
 * A stand-in for the user's TTY: keys are typed with `type()`, the screen is
 * collected in `screen`, the window is resized with `resize()` and signals
 * are sent with `signal()`. Records every raw-mode change and whether input
 * is flowing, so tests can check the terminal is given back as found.
 */
export class FakeTerminal implements Terminal {
  readonly rawModes: boolean[] = []
  raw = false
  flowing = false
  screen = ''
  columns: number
  rows: number
  readonly input: TerminalInput
  readonly output: TerminalOutput
  readonly signals: SignalSource
  readonly #keys = new EventEmitter()
  readonly #window = new EventEmitter()
  readonly #process = new EventEmitter()

  constructor(options: { isTTY?: boolean; columns?: number; rows?: number } = {}) {
    this.columns = options.columns ?? 100
    this.rows = options.rows ?? 30
    const terminal = this
    const keys = this.#keys
    const window = this.#window
    const process = this.#process
    this.input = {
      isTTY: options.isTTY ?? true,
      get isRaw() {
        return terminal.raw
      },
      setRawMode(mode: boolean) {
        terminal.raw = mode
        terminal.rawModes.push(mode)
      },
      on: (event: 'data' | 'end', listener: (chunk: Buffer | string) => void) => keys.on(event, listener),
      off: (event: 'data' | 'end', listener: (chunk: Buffer | string) => void) => keys.off(event, listener),
      resume() {
        terminal.flowing = true
      },
      pause() {
        terminal.flowing = false
      },
    }
    this.output = {
      get columns() {
        return terminal.columns
      },
      get rows() {
        return terminal.rows
      },
      write(chunk: Uint8Array) {
        terminal.screen += Buffer.from(chunk).toString('latin1')
      },
      on: (event: 'resize', listener: () => void) => window.on(event, listener),
      off: (event: 'resize', listener: () => void) => window.off(event, listener),
    }
    this.signals = {
      on: (signal: NodeJS.Signals, listener: () => void) => process.on(signal, listener),
      off: (signal: NodeJS.Signals, listener: () => void) => process.off(signal, listener),
    }
  }

  type(text: string): void {
    this.#keys.emit('data', Buffer.from(text, 'latin1'))
  }

  /** Keys as a stream given an encoding delivers them: a string (ink leaves utf8 set on stdin). */
  typeDecoded(text: string): void {
    this.#keys.emit('data', text)
  }

  hangUp(): void {
    this.#keys.emit('end')
  }

  resize(columns: number, rows: number): void {
    this.columns = columns
    this.rows = rows
    this.#window.emit('resize')
  }

  signal(signal: NodeJS.Signals): void {
    this.#process.emit(signal)
  }

  /** Listeners still attached to the terminal; zero once a session has let go of it. */
  listenerCount(): number {
    return this.#keys.eventNames().reduce((n, e) => n + this.#keys.listenerCount(e), 0) +
      this.#window.listenerCount('resize') +
      this.#process.eventNames().reduce((n, e) => n + this.#process.listenerCount(e), 0)
  }
}
