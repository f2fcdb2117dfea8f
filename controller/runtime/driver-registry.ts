/**
 * Which driver runs an Agent: `spec.runtime` (default `docker`) names it, and
 * the registry holds one driver per runtime this controller was built with.
 *
 * A runtime without a registered driver, or whose driver says the host cannot
 * run it, is refused with a reason. Nothing is ever run in its place: a weaker
 * box than the one asked for is a security failure, not a fallback.
 *
 * Only the composition root (cli/) names concrete drivers; everything else
 * asks the registry.
 */
import { DriverError, type Availability, type ObservedAgent, type RuntimeDriver } from './driver.js'

/** The runtime an Agent gets when its spec names none. */
export const DEFAULT_RUNTIME = 'docker'

export type DriverChoice = { ok: true; runtime: string; driver: RuntimeDriver } | { ok: false; runtime: string; reason: string }

/** One driver's view of one Agent. */
export interface PlacedAgent {
  runtime: string
  driver: RuntimeDriver
  observed: ObservedAgent
}

export class DriverRegistry {
  readonly #drivers: ReadonlyMap<string, RuntimeDriver>

  constructor(drivers: Readonly<Record<string, RuntimeDriver>>) {
    this.#drivers = new Map(Object.entries(drivers))
  }

  /** The runtimes that have a driver, whether or not this host can run them. */
  get runtimes(): string[] {
    return [...this.#drivers.keys()]
  }

  /** Changes made through every registered driver, for the no-op resync check and metrics. */
  get mutations(): number {
    let total = 0
    for (const driver of this.#drivers.values()) total += driver.mutations
    return total
  }

  /** The driver for `runtime` (absent: the default), or why this host cannot run it. */
  async choose(runtime: string | undefined): Promise<DriverChoice> {
    const name = runtime ?? DEFAULT_RUNTIME
    const driver = this.#drivers.get(name)
    const availability: Availability = driver ? await driver.available() : { ok: false, reason: `no ${name} driver is installed in this controller version` }
    if (!availability.ok) return { ok: false, runtime: name, reason: `runtime "${name}" is not available on this host: ${availability.reason}` }
    return { ok: true, runtime: name, driver: driver! }
  }

  /** Every driver this host can run now, with its runtime. */
  async available(): Promise<Array<{ runtime: string; driver: RuntimeDriver }>> {
    const entries = [...this.#drivers.entries()]
    const answers = await Promise.all(entries.map(async ([, driver]) => (await driver.available()).ok))
    return entries.filter((_, i) => answers[i]).map(([runtime, driver]) => ({ runtime, driver }))
  }

  /** Every managed Agent on every available driver; an Agent may show on more than one (a runtime change half done). */
  async observe(): Promise<PlacedAgent[]> {
    const drivers = await this.available()
    const views = await Promise.all(drivers.map(async ({ runtime, driver }) => (await driver.observe()).map((observed) => ({ runtime, driver, observed }))))
    return views.flat()
  }

  /**
   * The driver that runs `agent` now, for commands that reach its box
   * (exec, logs, attach). An Agent no driver knows gets the default
   * runtime's driver, whose own error then says the part does not exist.
   */
  async driverOf(agent: string): Promise<RuntimeDriver> {
    const placed = (await this.observe()).find((p) => p.observed.agent === agent && Object.keys(p.observed.parts).length > 0)
    if (placed) return placed.driver
    const fallback = await this.choose(DEFAULT_RUNTIME)
    if (!fallback.ok) throw new DriverError(DEFAULT_RUNTIME, 'choose-driver', agent, fallback.reason)
    return fallback.driver
  }
}
