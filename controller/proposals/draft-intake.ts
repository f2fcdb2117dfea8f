/**
 * The controller's side of draft proposals. The bundle's refusals reach a
 * `DenialWindow` (the controller follows each bundle's decision log);
 * `sync(agents)` then makes one pass:
 *
 *   1. removes Pending drafts whose last refusal is a day old (draft-proposals.ts);
 *   2. for every host with refusals waiting, decides (decideDraft) and writes
 *      a new `proposals/<agent>-denied-<n>.yaml`, or adds the refusals to the
 *      draft already waiting, keeping whatever else a human wrote in it;
 *   3. forgets what it wrote, and hosts that will never be drafted.
 *
 * Passes never overlap. Each decision is one log line naming the agent, the
 * host only when it passed the rules, and a code; never a path.
 */
import { readFile, rm, stat } from 'node:fs/promises'
import { join } from 'node:path'
import type { Logger } from 'pino'
import { parseDocument } from 'yaml'
import { writeFileAtomic } from '../atomic-write.js'
import type { LogFields } from '../log-events.js'
import type { Proposal } from '../spec/generated/spec-types.js'
import type { ResolvedAgent } from '../spec/load-spec-tree.js'
import { createScanner } from '../../sidecars/dlp/index.js'
import type { DlpScanner } from '../../sidecars/dlp/index.js'
import { DEFAULT_LIMITS } from '../../sidecars/supervise/supervise-config.js'
import type { DenialWindow } from './denial-window.js'
import { decideDraft, expiredDrafts } from './draft-proposals.js'
import { readProposals, writeNewProposal } from './proposal-files.js'
import type { ProposalLimits } from './rate-limits.js'

export interface DraftIntakeOptions {
  specRoot: string
  window: DenialWindow
  log: Logger
  limits?: ProposalLimits
  now?: () => Date
  /** The Bottles' secret values the controller holds: a host or path carrying one never goes into a file. */
  knownSecrets?: () => readonly string[]
  /** Called once per new draft, after its file is on disk (notifications). */
  onFiled?: (proposal: Proposal, file: string) => void
}

export interface DraftReport {
  filed: string[]
  updated: string[]
  expired: string[]
}

/** Refusal log lines remembered, so a host refused on every pass is logged once. */
const MAX_LOGGED = 512
const EXPIRY_CHECK_MS = 60_000

export class DraftIntake {
  #running: Promise<unknown> = Promise.resolve()
  #scanner: { secrets: number; scanner: DlpScanner } | undefined
  readonly #logged = new Set<string>()
  #expiryCheckedAt = -Infinity

  constructor(private readonly options: DraftIntakeOptions) {}

  /** One pass; `agents` are the Agents of the current specs, by name. */
  sync(agents: ReadonlyMap<string, ResolvedAgent>): Promise<DraftReport> {
    const run = this.#running.then(() => this.#pass(agents))
    this.#running = run.catch(() => undefined)
    return run
  }

  async #pass(agents: ReadonlyMap<string, ResolvedAgent>): Promise<DraftReport> {
    const { window, log, specRoot } = this.options
    const now = this.options.now?.() ?? new Date()
    const report: DraftReport = { filed: [], updated: [], expired: [] }
    window.prune(now.getTime())
    const waiting = window.agents()
    // Most passes have no refusal waiting: then the folder is read only once a minute, for expiry.
    if (waiting.length === 0 && now.getTime() - this.#expiryCheckedAt < EXPIRY_CHECK_MS) return report
    this.#expiryCheckedAt = now.getTime()
    const proposals = await readProposals(specRoot)
    for (const file of expiredDrafts(proposals, now)) {
      await rm(join(specRoot, file.path), { force: true })
      proposals.delete(file.proposal.metadata.name)
      report.expired.push(file.proposal.metadata.name)
      log.info({ event: 'proposal.draft-expired', agent: file.proposal.spec.agent, proposal: file.proposal.metadata.name } satisfies LogFields, 'draft proposal expired: no refusal for a day')
    }
    for (const name of waiting) {
      const agent = agents.get(name)
      if (!agent) continue
      for (const denials of window.pending(name)) {
        const decision = decideDraft(denials, {
          agent,
          proposals,
          limits: this.options.limits ?? DEFAULT_LIMITS,
          now,
          looksSecret: (text, where) => this.#looksSecret(text, where),
          due: window.isDue(name, denials.host, now.getTime()),
        })
        try {
          switch (decision.kind) {
            case 'wait':
              break
            case 'create': {
              const path = await writeNewProposal(specRoot, decision.proposal)
              proposals.set(decision.proposal.metadata.name, { path, proposal: decision.proposal })
              window.take(name, denials.host)
              report.filed.push(decision.proposal.metadata.name)
              log.info({ event: 'proposal.drafted', agent: name, proposal: decision.proposal.metadata.name, host: decision.proposal.spec.route.host, refusals: denials.count, file: path } satisfies LogFields, 'draft proposal filed from refusals')
              this.options.onFiled?.(decision.proposal, path)
              break
            }
            case 'update': {
              await updateDraftFile(join(specRoot, decision.file), decision.proposal)
              proposals.set(decision.proposal.metadata.name, { path: decision.file, proposal: decision.proposal })
              window.take(name, denials.host)
              report.updated.push(decision.proposal.metadata.name)
              log.debug({ event: 'proposal.draft-updated', agent: name, proposal: decision.proposal.metadata.name, refusals: decision.proposal.spec.denials?.count } satisfies LogFields, 'draft proposal counts updated')
              break
            }
            case 'drop':
              window.take(name, denials.host)
              log.debug({ event: 'proposal.draft-dropped', agent: name, why: decision.why } satisfies LogFields, 'refusals not drafted')
              break
            case 'refuse':
              // A rate limit passes: keep the refusals for a later pass. Anything else never will.
              if (decision.code !== 'rate-limited') window.take(name, denials.host)
              this.#logOnce(`${name}\u0000${denials.host}\u0000${decision.code}`, () =>
                log.warn({ event: 'proposal.draft-refused', agent: name, code: decision.code } satisfies LogFields, 'refusals not drafted'),
              )
              break
          }
        } catch (error) {
          log.error({ event: 'proposals.intake-failed', agent: name, err: oneLine(error) } satisfies LogFields, 'draft proposal could not be written')
        }
      }
    }
    return report
  }

  #looksSecret(text: string, where: 'host' | 'path'): boolean {
    const secrets = this.options.knownSecrets?.() ?? []
    if (!this.#scanner || this.#scanner.secrets !== secrets.length) this.#scanner = { secrets: secrets.length, scanner: createScanner({ knownSecrets: secrets }) }
    const { scanner } = this.#scanner
    if (where === 'host') return scanner.scanHost(text).length > 0
    try {
      return scanner.scanUrl(new URL(text, 'http://draft.invalid')).length > 0
    } catch {
      return true
    }
  }

  #logOnce(key: string, write: () => void): void {
    if (this.#logged.has(key)) return
    if (this.#logged.size >= MAX_LOGGED) this.#logged.clear()
    this.#logged.add(key)
    write()
  }
}

/** Rewrites the draft's `spec.denials` and `spec.reason` in place; comments and anything a human added stay. */
async function updateDraftFile(path: string, proposal: Proposal): Promise<void> {
  const doc = parseDocument(await readFile(path, 'utf8'), { uniqueKeys: true, strict: true })
  if (doc.errors.length > 0) throw new Error(`${path} is not valid YAML`)
  doc.setIn(['spec', 'denials'], doc.createNode(proposal.spec.denials))
  doc.setIn(['spec', 'reason'], proposal.spec.reason)
  await writeFileAtomic(path, doc.toString({ lineWidth: 0 }), (await stat(path)).mode & 0o777)
}

function oneLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).replace(/\s+/g, ' ').slice(0, 300)
}
