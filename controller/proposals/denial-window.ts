/**
 * Remembers, per Agent and host, the no-route refusals not yet written into
 * a draft Proposal, and says when a host has been refused often enough
 * (`refusals` times within `within`, per Bottle) to be worth a human's look.
 *
 * Memory is bounded whatever the agent does: at most `hostsPerAgent` hosts
 * per agent (the least recently refused is forgotten first), at most
 * `refusals` timestamps and `samplePaths` paths per host, and a host that
 * has not reached its threshold is forgotten once its last refusal falls out
 * of the window.
 */
import type { BottleSpec } from '../spec/generated/spec-types.js'
import { parseDuration } from '../spec/duration.js'
import type { NoRouteDenial } from './denial-line.js'

export interface DenialSettings {
  /** `egress.proposeOnDenial`, true unless the Bottle says false. */
  enabled: boolean
  refusals: number
  withinMs: number
}

export const DEFAULT_DENIAL_SETTINGS: DenialSettings = { enabled: true, refusals: 3, withinMs: 10 * 60_000 }

/** The effective settings of a Bottle (its resolved spec, after extends). */
export function denialSettings(spec: Pick<BottleSpec, 'egress'>): DenialSettings {
  const egress = spec.egress
  const window = egress?.denialWindow
  return {
    enabled: egress?.proposeOnDenial !== false,
    refusals: window?.refusals ?? DEFAULT_DENIAL_SETTINGS.refusals,
    // The CRD's pattern guarantees a duration; a failure here would be a loader bug, so the default stands in.
    withinMs: window?.within ? safeDuration(window.within) : DEFAULT_DENIAL_SETTINGS.withinMs,
  }
}

/** The refusals of one host gathered since the last draft was written for it. */
export interface HostDenials {
  host: string
  count: number
  firstSeen: number
  lastSeen: number
  samplePaths: string[]
}

export interface DenialWindowLimits {
  hostsPerAgent: number
  samplePaths: number
}

interface Entry extends HostDenials {
  /** The most recent refusal times, oldest first, at most `refusals` of them. */
  recent: number[]
}

export class DenialWindow {
  readonly #agents = new Map<string, Map<string, Entry>>()
  readonly #limits: DenialWindowLimits

  constructor(
    private readonly settingsOf: (agent: string) => DenialSettings | undefined,
    limits: Partial<DenialWindowLimits> = {},
  ) {
    this.#limits = { hostsPerAgent: 64, samplePaths: 3, ...limits }
  }

  /** Counts one refusal. Agents unknown to `settingsOf`, or with drafts off, are not tracked at all. */
  record(agent: string, denial: NoRouteDenial): void {
    const settings = this.settingsOf(agent)
    if (!settings?.enabled) return
    let hosts = this.#agents.get(agent)
    if (!hosts) this.#agents.set(agent, (hosts = new Map()))
    let entry = hosts.get(denial.host)
    if (entry) {
      hosts.delete(denial.host) // re-inserted below: the Map's order is least recently refused first
    } else {
      entry = { host: denial.host, count: 0, firstSeen: denial.at, lastSeen: denial.at, samplePaths: [], recent: [] }
      if (hosts.size >= this.#limits.hostsPerAgent) hosts.delete(hosts.keys().next().value!)
    }
    entry.count++
    entry.firstSeen = Math.min(entry.firstSeen, denial.at)
    entry.lastSeen = Math.max(entry.lastSeen, denial.at)
    entry.recent.push(denial.at)
    if (entry.recent.length > settings.refusals) entry.recent.splice(0, entry.recent.length - settings.refusals)
    if (denial.path !== undefined && entry.samplePaths.length < this.#limits.samplePaths && !entry.samplePaths.includes(denial.path)) entry.samplePaths.push(denial.path)
    hosts.set(denial.host, entry)
  }

  /** Agents with refusals waiting. */
  agents(): string[] {
    return [...this.#agents.keys()]
  }

  /** Every host of `agent` with refusals not yet written, whether or not it is due. */
  pending(agent: string): HostDenials[] {
    return [...(this.#agents.get(agent)?.values() ?? [])].map(({ recent: _recent, ...rest }) => ({ ...rest, samplePaths: [...rest.samplePaths] }))
  }

  /** Whether `host` reached its threshold: `refusals` refusals within `withinMs`, the last of them no older than `withinMs` at `now`. */
  isDue(agent: string, host: string, now: number): boolean {
    const settings = this.settingsOf(agent)
    const entry = this.#agents.get(agent)?.get(host)
    if (!settings?.enabled || !entry || entry.recent.length < settings.refusals) return false
    const first = entry.recent[entry.recent.length - settings.refusals]!
    return entry.lastSeen - first <= settings.withinMs && now - entry.lastSeen <= settings.withinMs
  }

  /** Forgets the refusals of `host` (written into a draft, or not to be drafted). */
  take(agent: string, host: string): void {
    const hosts = this.#agents.get(agent)
    hosts?.delete(host)
    if (hosts?.size === 0) this.#agents.delete(agent)
  }

  /** Forgets hosts whose last refusal left the window without reaching the threshold, and agents no longer tracked. */
  prune(now: number): void {
    for (const [agent, hosts] of this.#agents) {
      const settings = this.settingsOf(agent)
      for (const [host, entry] of hosts) {
        if (!settings?.enabled || now - entry.lastSeen > settings.withinMs) hosts.delete(host)
      }
      if (hosts.size === 0) this.#agents.delete(agent)
    }
  }
}

function safeDuration(text: string): number {
  try {
    return parseDuration(text)
  } catch {
    return DEFAULT_DENIAL_SETTINGS.withinMs
  }
}
