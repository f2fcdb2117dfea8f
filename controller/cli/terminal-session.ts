/**
 * Joins the user's terminal to an InteractiveSession: raw keys in (minus the
 * detach sequence), the session's screen out, every window-size change
 * forwarded. Whatever ends it (the command exiting, a detach, a signal to
 * this process, an error), the terminal is given back as it was found: raw
 * mode off, input paused, no listener left behind.
 */
import type { InteractiveSession } from '../runtime/interactive-session.js'
import { DetachKeyDetector } from './detach-keys.js'

/** Where keys come from: a TTY ReadStream (process.stdin), or a stand-in in tests. */
export interface TerminalInput {
  readonly isTTY?: boolean
  readonly isRaw?: boolean
  setRawMode(mode: boolean): unknown
  /** Bytes; a string when the stream was given an encoding (ink sets utf8 on stdin and leaves it set). */
  on(event: 'data', listener: (chunk: Buffer | string) => void): unknown
  on(event: 'end', listener: () => void): unknown
  off(event: 'data', listener: (chunk: Buffer | string) => void): unknown
  off(event: 'end', listener: () => void): unknown
  resume(): unknown
  pause(): unknown
}

/** Where the screen goes: a TTY WriteStream (process.stdout), which emits 'resize' on SIGWINCH. */
export interface TerminalOutput {
  readonly columns?: number
  readonly rows?: number
  write(chunk: Uint8Array): unknown
  on(event: 'resize', listener: () => void): unknown
  off(event: 'resize', listener: () => void): unknown
}

export interface SignalSource {
  on(signal: NodeJS.Signals, listener: () => void): unknown
  off(signal: NodeJS.Signals, listener: () => void): unknown
}

export interface Terminal {
  input: TerminalInput
  output: TerminalOutput
  signals: SignalSource
}

export function processTerminal(): Terminal {
  return { input: process.stdin, output: process.stdout, signals: process }
}

/** The size a terminal that does not report one is taken to have. */
export const DEFAULT_SIZE = { columns: 80, rows: 24 } as const

export function terminalSize(output: TerminalOutput): { columns: number; rows: number } {
  return { columns: output.columns || DEFAULT_SIZE.columns, rows: output.rows || DEFAULT_SIZE.rows }
}

/** Signals that end the client: it restores the terminal and disconnects first. */
export const ENDING_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP']

export type SessionEnd =
  | { reason: 'exited'; exitCode: number }
  | { reason: 'detached' }
  /** A signal to this process, or the terminal going away (taken as SIGHUP). */
  | { reason: 'signalled'; signal: NodeJS.Signals }

export async function runTerminalSession(session: InteractiveSession, terminal: Terminal, detector = new DetachKeyDetector()): Promise<SessionEnd> {
  const { input, output, signals } = terminal
  const wasRaw = input.isRaw === true
  let finish!: (end: SessionEnd | Error) => void
  const ended = new Promise<SessionEnd>((resolve, reject) => {
    finish = (end) => (end instanceof Error ? reject(end) : resolve(end))
  })

  const onKeys = (chunk: Buffer | string): void => {
    // Read as characters, a string would reach the session as NUL bytes and never match the detach keys.
    const { forward, detached } = detector.scan(typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk)
    if (forward.length > 0) session.input.write(forward)
    if (detached) finish({ reason: 'detached' })
  }
  const onScreen = (chunk: Buffer): void => {
    output.write(chunk)
  }
  const onResize = (): void => {
    const { columns, rows } = terminalSize(output)
    // A lost resize only leaves the screen at the old size until the next one.
    session.resize(columns, rows).catch(() => undefined)
  }
  const onHangup = (): void => finish({ reason: 'signalled', signal: 'SIGHUP' })
  const onSessionError = (error: Error): void => finish(error)
  // Keys typed while the session is going away may meet a closed connection; its end is reported by wait().
  const onInputError = (): void => undefined
  const onSignal = ENDING_SIGNALS.map((signal) => [signal, () => finish({ reason: 'signalled', signal })] as const)

  let end: SessionEnd | undefined
  try {
    input.setRawMode(true)
    session.output.on('data', onScreen)
    session.output.on('error', onSessionError)
    session.input.on('error', onInputError)
    input.on('data', onKeys)
    input.on('end', onHangup)
    output.on('resize', onResize)
    for (const [signal, listener] of onSignal) signals.on(signal, listener)
    session.wait().then(
      (exitCode) => finish({ reason: 'exited', exitCode }),
      (error: unknown) => finish(error instanceof Error ? error : new Error(String(error))),
    )
    input.resume()
    end = await ended
    return end
  } finally {
    input.off('data', onKeys)
    input.off('end', onHangup)
    output.off('resize', onResize)
    for (const [signal, listener] of onSignal) signals.off(signal, listener)
    session.output.off('data', onScreen)
    session.output.off('error', onSessionError)
    try {
      input.setRawMode(wasRaw)
    } catch {
      // The terminal is gone (a hangup): there is nothing left to restore.
    }
    input.pause()
    if (end?.reason !== 'exited') session.close()
  }
}
