/**
 * The terminal contract of a full-screen program: enter the alternate
 * screen with the cursor hidden, and whatever happens (a normal quit, a
 * signal, an exception anywhere, a rejected promise nobody awaited), leave
 * it with raw mode off and the cursor back, so the shell the user returns
 * to works as before. A crash also writes its stack to a log file and says
 * where, since the screen it happened on is gone.
 */
import { writeFileSync } from 'node:fs'

const ENTER = '\x1b[?1049h\x1b[?25l'
const LEAVE = '\x1b[?25h\x1b[?1049l'

export interface ScreenInput {
  readonly isTTY?: boolean
  setRawMode?(mode: boolean): unknown
  pause?(): unknown
}

export interface ScreenOutput {
  write(text: string): unknown
}

export interface CrashSource {
  on(event: 'uncaughtException' | 'unhandledRejection', listener: (error: unknown) => void): unknown
  off(event: 'uncaughtException' | 'unhandledRejection', listener: (error: unknown) => void): unknown
}

export interface FullScreenOptions {
  input: ScreenInput
  output: ScreenOutput
  /** Where a crash's details go. */
  crashLog: string
  process?: CrashSource
  /** Where the one line about a crash is printed, after the screen is restored. */
  err?: ScreenOutput
}

export class FullScreenCrash extends Error {
  override readonly name = 'FullScreenCrash'
  constructor(
    readonly crashLog: string,
    options: { cause: unknown },
  ) {
    super(`bottle dashboard crashed; the details are in ${crashLog}`, options)
  }
}

export interface FullScreen {
  /** Leaves the full screen for `run` (an attach), then comes back. */
  suspend<T>(run: () => Promise<T>): Promise<T>
}

/**
 * Runs `body` on the alternate screen. Resolves with its result after the
 * terminal is restored; a crash rejects with FullScreenCrash, also restored.
 */
export async function withFullScreen<T>(options: FullScreenOptions, body: (screen: FullScreen) => Promise<T>): Promise<T> {
  const { input, output } = options
  const source = options.process ?? process
  let crash!: (error: unknown) => void
  const crashed = new Promise<never>((_resolve, reject) => {
    crash = reject
  })
  const onCrash = (error: unknown) => crash(error)
  source.on('uncaughtException', onCrash)
  source.on('unhandledRejection', onCrash)
  // Leaving twice would restore the cursor saved on entry a second time, over what was printed since.
  let onScreen = false
  const enter = () => {
    output.write(ENTER)
    onScreen = true
  }
  const restore = () => {
    try {
      if (input.isTTY) input.setRawMode?.(false)
    } catch {
      // the terminal is gone: nothing to restore
    }
    if (onScreen) output.write(LEAVE)
    onScreen = false
  }
  const screen: FullScreen = {
    async suspend(run) {
      restore()
      try {
        return await run()
      } finally {
        enter()
      }
    },
  }
  enter()
  try {
    return await Promise.race([body(screen), crashed])
  } catch (error) {
    restore()
    writeCrashLog(options.crashLog, error)
    options.err?.write(`bottle dashboard crashed; the details are in ${options.crashLog}\n`)
    throw new FullScreenCrash(options.crashLog, { cause: error })
  } finally {
    source.off('uncaughtException', onCrash)
    source.off('unhandledRejection', onCrash)
    restore()
    input.pause?.()
  }
}

function writeCrashLog(path: string, error: unknown): void {
  const text = error instanceof Error ? `${error.stack ?? error.message}\n` : `${String(error)}\n`
  try {
    writeFileSync(path, `${new Date().toISOString()} bottle dashboard crashed\n${text}`, { mode: 0o600 })
  } catch {
    // nowhere to write: the one line on stderr still says it crashed
  }
}
