/**
 * The interactive half of the driver contract: one command on a terminal
 * inside a part, the way `bottle attach` uses it. Engine-neutral: a Docker
 * exec with a TTY, a pty over a VM's agent socket and an in-memory echo all
 * fit it.
 *
 * The session knows nothing about the user's own terminal (raw mode, detach
 * keys, signals): that belongs to the client, which only moves bytes and
 * sizes through this interface.
 */
import type { Readable, Writable } from 'node:stream'

export interface SessionOptions {
  user?: string
  workdir?: string
  env?: Record<string, string>
  /** The terminal's size when the session starts. */
  columns: number
  rows: number
}

export interface InteractiveSession {
  /** Keystrokes for the command's terminal, as raw bytes. */
  readonly input: Writable
  /** What the terminal shows: stdout and stderr arrive merged, as on any terminal. */
  readonly output: Readable
  /** Sets the terminal's size; the command gets SIGWINCH. */
  resize(columns: number, rows: number): Promise<void>
  /**
   * The command's exit code once it has ended on its own. Rejects when the
   * connection is lost, or closed by `close()`, before the command ends.
   */
  wait(): Promise<number>
  /**
   * Disconnects this client. Whether the command survives is the engine's
   * business (Docker keeps an exec running); the client only stops listening.
   */
  close(): void
}
