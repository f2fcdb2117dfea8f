import type { ObservedAgent, RuntimeDriver } from '../runtime/driver.js'

/**
 * One engine observation shared by reconciles that start at nearly the same
 * time (a resync of many Agents), so a resync costs a handful of list calls
 * instead of a handful per Agent. It is never older than `maxAgeMs`, and any
 * mutation through the driver or any runtime event makes the next reader
 * observe afresh: reconciles still act on what is true, not on a belief.
 */
export class SharedObservation {
  private cached: { at: number; mutations: number; generation: number; value: Promise<ObservedAgent[]> } | undefined
  private generation = 0

  constructor(
    private readonly driver: RuntimeDriver,
    private readonly maxAgeMs = 250,
  ) {}

  invalidate(): void {
    this.generation++
  }

  async observe(): Promise<ObservedAgent[]> {
    const c = this.cached
    if (c && c.mutations === this.driver.mutations && c.generation === this.generation && Date.now() - c.at <= this.maxAgeMs) return c.value
    const value = this.driver.observe()
    this.cached = { at: Date.now(), mutations: this.driver.mutations, generation: this.generation, value }
    value.catch(() => {
      if (this.cached?.value === value) this.cached = undefined
    })
    return value
  }

  async observeAgent(agent: string): Promise<ObservedAgent | undefined> {
    return (await this.observe()).find((a) => a.agent === agent)
  }
}
