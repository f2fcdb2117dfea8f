/**
 * One change to an Agent's box at a time. A VM-backed driver has no engine
 * to serialize its calls, and a boot takes seconds: a start must not meet a
 * stop half-way, and nothing may adopt a VM while it boots (QEMU serves one
 * control connection at a time). Changes to different Agents run side by
 * side.
 */
import { DriverError } from './driver.js'

export class AgentChanges {
  readonly #driver: string
  readonly #busy = new Map<string, Promise<void>>()
  #count = 0

  /** `driver`: the driver's kind, which names it in the errors of its changes. */
  constructor(driver: string) {
    this.#driver = driver
  }

  /** Changes run so far, for the driver's mutation counter. */
  get count(): number {
    return this.#count
  }

  /** Whether a change to `agent` runs now. */
  busy(agent: string): boolean {
    return this.#busy.has(agent)
  }

  /** Resolves once no change to `agent` runs. */
  async settled(agent: string): Promise<void> {
    while (this.#busy.has(agent)) await this.#busy.get(agent)
  }

  /** Runs `call` as the one change to `agent`, after any other has ended; its failures carry `operation`. */
  async run<T>(operation: string, agent: string, call: () => Promise<T>): Promise<T> {
    await this.settled(agent)
    this.#count += 1
    let release!: () => void
    this.#busy.set(agent, new Promise<void>((resolve) => (release = resolve)))
    try {
      return await call()
    } catch (error) {
      if (error instanceof DriverError) throw error
      throw new DriverError(this.#driver, operation, agent, (error as Error).message, { cause: error })
    } finally {
      this.#busy.delete(agent)
      release()
    }
  }
}
