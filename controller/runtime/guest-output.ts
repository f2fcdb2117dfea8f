/**
 * `logs` of a part whose output lives in a file of its guest while it runs
 * and is kept on the host when a boot ends: the earlier boots' output, then
 * the running boot's, then (following) what the running boot adds. A new
 * boot starts a new guest file, which shows as the file getting shorter.
 */
import type { LogOptions } from './driver.js'

export interface PartOutput {
  /** What boots before the running one printed (kept on the host). */
  earlier: string
  /** What the running boot has printed so far; empty while none runs. */
  current(): Promise<string>
}

/** How often a follow looks for more output. */
const FOLLOW_POLL_MS = 250

export async function* partOutputLines(output: PartOutput, options: LogOptions = {}): AsyncIterable<string> {
  let current = await output.current()
  const whole = output.earlier + current
  const lines = completeLines(whole)
  yield* options.tail === undefined ? lines : lines.slice(Math.max(0, lines.length - options.tail))
  if (!options.follow) return
  let seen = current.length
  let partial = whole.slice(whole.lastIndexOf('\n') + 1)
  while (!options.signal?.aborted) {
    await sleepUnless(FOLLOW_POLL_MS, options.signal)
    if (options.signal?.aborted) return
    current = await output.current()
    // A new boot starts a new output file; what the old one said is in `earlier` already.
    if (current.length < seen) seen = 0
    const fresh = partial + current.slice(seen)
    seen = current.length
    const cut = fresh.lastIndexOf('\n')
    partial = fresh.slice(cut + 1)
    if (cut >= 0) yield* fresh.slice(0, cut).split('\n')
  }
}

/** Lines that ended; a last line still being written waits for its newline. */
function completeLines(text: string): string[] {
  const cut = text.lastIndexOf('\n')
  return cut < 0 ? [] : text.slice(0, cut).split('\n')
}

/** Waits `ms`, or less when `signal` aborts first. */
export function sleepUnless(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve()
    const timer = setTimeout(done, ms)
    function done(): void {
      clearTimeout(timer)
      signal?.removeEventListener('abort', done)
      resolve()
    }
    signal?.addEventListener('abort', done, { once: true })
  })
}
