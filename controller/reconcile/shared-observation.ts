import type { DriverRegistry, PlacedAgent } from '../runtime/driver-registry.js'

/**
 * One observation of every available driver, shared by reconciles that start
 * at nearly the same time (a resync of many Agents), so a resync costs a
 * handful of list calls instead of a handful per Agent. It is never older
 * than `maxAgeMs`, and any mutation through a driver or any part event makes
 * the next reader observe afresh: reconciles still act on what is true, not
 * on a belief.
 */
export class SharedObservation {
  private cached: { at: number; mutations: number; generation: number; value: Promise<PlacedAgent[]> } | undefined
  private generation = 0

  constructor(
    private readonly drivers: DriverRegistry,
    private readonly maxAgeMs = 250,
  ) {}

  invalidate(): void {
    this.generation++
  }

  async observe(): Promise<PlacedAgent[]> {
    const c = this.cached
    if (c && c.mutations === this.drivers.mutations && c.generation === this.generation && Date.now() - c.at <= this.maxAgeMs) return c.value
    const value = this.drivers.observe()
    this.cached = { at: Date.now(), mutations: this.drivers.mutations, generation: this.generation, value }
    value.catch(() => {
      if (this.cached?.value === value) this.cached = undefined
    })
    return value
  }

  /** What every available driver has of `agent`: usually one placement, none before it is created. */
  async observeAgent(agent: string): Promise<PlacedAgent[]> {
    return (await this.observe()).filter((p) => p.observed.agent === agent)
  }
}
