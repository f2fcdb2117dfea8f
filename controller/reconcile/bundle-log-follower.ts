/**
 * Follows the decision log of every bundle it is told to, through the
 * runtime driver's log stream (the bundle's daemons log to their standard
 * output; no file of theirs is visible to the controller), and hands each
 * line on. A stream that ends (the bundle was recreated, the engine
 * restarted) is opened again after a pause; only lines written after the
 * stream opens are read (unless `initialTail` asks for history on the
 * first), so a reconnect never counts a line twice.
 */
import type { Logger } from 'pino'
import type { LogFields } from '../log-events.js'
import type { DriverRegistry } from '../runtime/driver-registry.js'
import type { LogOptions } from '../runtime/driver.js'

/** The lines of one Agent's bundle, as its driver streams them (`driver.logs(agent, 'sidecars', options)`). */
export type BundleLogs = (agent: string, options: LogOptions) => AsyncIterable<string>

/** The bundle logs of whichever driver runs each Agent when its stream is opened. */
export function bundleLogsOf(drivers: Pick<DriverRegistry, 'driverOf'>): BundleLogs {
  return async function* (agent, options) {
    const driver = await drivers.driverOf(agent)
    yield* driver.logs(agent, 'sidecars', options)
  }
}

export interface BundleLogFollowerOptions {
  logs: BundleLogs
  log: Logger
  onLine: (agent: string, line: string) => void
  /** Pause before a stream is opened again. */
  retryMs?: number
  /** Lines already written that the first stream of an agent starts with (a screen wants some history; counting must not). */
  initialTail?: number
}

export class BundleLogFollower {
  readonly #streams = new Map<string, AbortController>()

  constructor(private readonly options: BundleLogFollowerOptions) {}

  /** Follows exactly `agents`: opens streams for new names, closes those of names gone. */
  follow(agents: Iterable<string>): void {
    const wanted = new Set(agents)
    for (const [agent, abort] of this.#streams) {
      if (wanted.has(agent)) continue
      abort.abort()
      this.#streams.delete(agent)
    }
    for (const agent of wanted) {
      if (this.#streams.has(agent)) continue
      const abort = new AbortController()
      this.#streams.set(agent, abort)
      void this.#run(agent, abort.signal)
    }
  }

  stop(): void {
    this.follow([])
  }

  async #run(agent: string, signal: AbortSignal): Promise<void> {
    const { logs, log, onLine } = this.options
    let tail = this.options.initialTail ?? 0
    while (!signal.aborted) {
      try {
        for await (const line of logs(agent, { follow: true, tail, signal })) {
          tail = 0
          onLine(agent, line)
        }
      } catch (error) {
        // Usually the bundle does not exist yet; the reconciler reports real trouble.
        if (!signal.aborted) log.debug({ event: 'bundle-log.lost', agent, err: error instanceof Error ? error.message : String(error) } satisfies LogFields, 'bundle log stream ended; reopening')
      }
      await pause(this.options.retryMs ?? 2000, signal)
    }
  }
}

function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve()
    const timer = setTimeout(resolve, ms)
    timer.unref()
    signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true })
  })
}
