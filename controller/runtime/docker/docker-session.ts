/**
 * An interactive session on Docker: an exec with a TTY, its stream hijacked
 * so keystrokes go in and the terminal's bytes come out on one connection.
 * With a TTY the engine does not multiplex stdout and stderr: the stream is
 * the terminal, byte for byte.
 */
import type { Duplex } from 'node:stream'
import type Dockerode from 'dockerode'
import { DriverError } from '../driver.js'
import type { InteractiveSession, SessionOptions } from '../interactive-session.js'
import { engineError } from './engine-errors.js'
import { exitCodeOf } from './exec-exit-code.js'

/**
 * Engines before API 1.42 size an exec's terminal only when asked after it
 * started, so a command could start (and draw) on a 0x0 terminal. This waits,
 * at most a second, for the size to land before running the command.
 */
const WAIT_FOR_SIZE = 'n=0; while [ "$(stty size 2>/dev/null)" = "0 0" ] && [ "$n" -lt 100 ]; do sleep 0.01; n=$((n+1)); done; exec "$@"'

export function sessionExecOptions(argv: string[], options: SessionOptions): Dockerode.ExecCreateOptions {
  const create: Dockerode.ExecCreateOptions = {
    Cmd: ['sh', '-c', WAIT_FOR_SIZE, 'bottle-session', ...argv],
    AttachStdin: true,
    AttachStdout: true,
    AttachStderr: true,
    Tty: true,
    // Engines from API 1.42 size the terminal at creation; older ones ignore this and get the resize below.
    ConsoleSize: [options.rows, options.columns],
  }
  if (options.env !== undefined) create.Env = Object.entries(options.env).map(([key, value]) => `${key}=${value}`)
  if (options.user !== undefined) create.User = options.user
  if (options.workdir !== undefined) create.WorkingDir = options.workdir
  return create
}

/** Starts a created exec and wraps its hijacked stream as an InteractiveSession. */
export async function startDockerSession(instance: Dockerode.Exec, name: string, options: SessionOptions): Promise<InteractiveSession> {
  let stream: Duplex
  try {
    stream = await instance.start({ hijack: true, stdin: true, Tty: true })
  } catch (error) {
    throw engineError('open-session', name, error)
  }
  let closedByClient = false
  const ended = new Promise<number>((resolve, reject) => {
    let settled = false
    const finish = (): void => {
      if (settled) return
      settled = true
      if (closedByClient) return reject(new DriverError('docker', 'session', name, 'closed by the client before the command ended'))
      exitCodeOf(instance).then(resolve, (error: unknown) => reject(engineError('session', name, error)))
    }
    stream.once('end', finish)
    stream.once('close', finish)
    stream.once('error', (error: Error) => {
      if (settled) return
      settled = true
      reject(engineError('session', name, error))
    })
  })
  // A client that detaches never asks for the exit code; its rejection is expected then.
  ended.catch(() => undefined)

  const resize = async (columns: number, rows: number): Promise<void> => {
    try {
      await instance.resize({ w: columns, h: rows })
    } catch (error) {
      throw engineError('resize-session', name, error)
    }
  }
  try {
    await initialResize(resize, options.columns, options.rows)
  } catch (error) {
    closedByClient = true
    stream.destroy()
    throw error
  }

  return {
    input: stream,
    output: stream,
    resize,
    wait: () => ended,
    close: () => {
      closedByClient = true
      stream.destroy()
    },
  }
}

/**
 * The engine can refuse a resize in the instant between the hijack and the
 * process starting (as the docker CLI knows, which retries too). A command
 * that starts at the default size gets SIGWINCH once this lands.
 */
async function initialResize(resize: (columns: number, rows: number) => Promise<void>, columns: number, rows: number): Promise<void> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await resize(columns, rows)
    } catch (error) {
      if (attempt >= 10) throw error
      await new Promise((r) => setTimeout(r, 20 * attempt))
    }
  }
}
