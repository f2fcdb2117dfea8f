/**
 * Refusals become draft proposals: the controller's wiring of the pieces.
 * The bundle's log lines (BundleLogFollower) are read as no-route refusals
 * (denial-line.ts), counted per Agent and host in a bounded window
 * (denial-window.ts), and turned into draft Proposal files by the draft
 * intake, on the same once-a-second cadence as the agents' own proposals.
 * Only Agents whose Bottle keeps `egress.proposeOnDenial` on are followed.
 */
import type { Logger } from 'pino'
import { parseNoRouteDenial } from '../proposals/denial-line.js'
import { denialSettings, DenialWindow } from '../proposals/denial-window.js'
import { DraftIntake, type DraftReport } from '../proposals/draft-intake.js'
import type { Proposal } from '../spec/generated/spec-types.js'
import type { ResolvedAgent } from '../spec/load-spec-tree.js'
import { BundleLogFollower, type BundleLogs } from './bundle-log-follower.js'

export interface DenialDraftingOptions {
  bundleLogs: BundleLogs
  specRoot: string
  log: Logger
  knownSecrets: () => readonly string[]
  onFiled: (proposal: Proposal, file: string) => void
  now?: () => Date
}

export class DenialDrafting {
  #agents: ReadonlyMap<string, ResolvedAgent> = new Map()
  readonly #window: DenialWindow
  readonly #follower: BundleLogFollower
  readonly #intake: DraftIntake

  constructor(options: DenialDraftingOptions) {
    const now = options.now ?? (() => new Date())
    this.#window = new DenialWindow((agent) => {
      const resolved = this.#agents.get(agent)
      return resolved ? denialSettings(resolved.bottle.spec) : undefined
    })
    this.#follower = new BundleLogFollower({
      logs: options.bundleLogs,
      log: options.log,
      onLine: (agent, line) => {
        const denial = parseNoRouteDenial(line, now().getTime())
        if (denial) this.#window.record(agent, denial)
      },
    })
    this.#intake = new DraftIntake({ specRoot: options.specRoot, window: this.#window, log: options.log, knownSecrets: options.knownSecrets, onFiled: options.onFiled, now })
  }

  /** Follows the bundles of `agents` that draft, then writes what their refusals call for. */
  sync(agents: ReadonlyMap<string, ResolvedAgent>): Promise<DraftReport> {
    this.#agents = agents
    this.#follower.follow([...agents.values()].filter((a) => denialSettings(a.bottle.spec).enabled).map((a) => a.name))
    return this.#intake.sync(agents)
  }

  stop(): void {
    this.#follower.stop()
  }
}
