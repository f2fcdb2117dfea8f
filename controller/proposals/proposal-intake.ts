/**
 * The controller's side of proposals. `sync(agents)` makes one pass over
 * every Agent whose Bottle enables supervise:
 *
 *   1. takes each request its daemon left in `<state>/agents/<name>/sidecars-state/supervise/requests/`,
 *      decides it (check-request.ts), and writes `proposals/<id>.yaml`
 *      (status Pending) into the spec folder or records a refusal;
 *   2. rewrites `<state>/agents/<name>/sidecars/supervise/decisions.json`
 *      (the daemon's `/etc/bottle/supervise/decisions.json`) with the phase
 *      of each of the agent's proposals, its refusals, and the lowest
 *      proposal number not yet used;
 *   3. deletes the requests it took, only after 1 and 2 are on disk, so a
 *      crash at any point leaves a request that the next pass recognises.
 *
 * Passes never overlap. A bad request, an unreadable folder or one Agent's
 * failure never stops the others; each decision is one log line.
 */
import { readFile, rm, stat } from 'node:fs/promises'
import { join } from 'node:path'
import type { Logger } from 'pino'
import { agentLayout } from '../plan/agent-layout.js'
import { ensurePrivateDir, writeFileAtomic } from '../atomic-write.js'
import type { Proposal } from '../spec/generated/spec-types.js'
import type { ResolvedAgent } from '../spec/load-spec-tree.js'
import { listRequestIds, MAX_REQUEST_BYTES, readRequestText, REQUESTS_DIR, requestFileName } from '../../sidecars/supervise/route-request.js'
import {
  DECISIONS_FILE,
  DEFAULT_LIMITS,
  parseDecisions,
  proposalNumber,
  PROPOSAL_ID,
  type Decision,
  type Decisions,
} from '../../sidecars/supervise/supervise-config.js'
import { checkRequest } from './check-request.js'
import { phaseOf, readProposals, writeNewProposal, type ProposalFile } from './proposal-files.js'
import type { ProposalLimits } from './rate-limits.js'
import type { LogFields } from '../log-events.js'

export interface ProposalIntakeOptions {
  /** The watched spec folder; Proposal files go to its proposals/. */
  specRoot: string
  /** `<state>/<instance>`: holds agents/<name>/ (see plan/agent-layout.ts). */
  stateDir: string
  log: Logger
  /** The same limits renderSuperviseConfig was given. */
  limits?: ProposalLimits
  now?: () => Date
  /** Called once per Proposal filed, after its file is on disk (notifications). */
  onFiled?: (proposal: Proposal, file: string) => void
}

export interface IntakeReport {
  /** Proposal names written this pass. */
  filed: string[]
  /** Request ids refused this pass. */
  refused: string[]
}

/** Refusals kept per agent in decisions.json, newest first. */
const KEPT_REFUSALS = 50
const SUPERVISE = 'supervise'

export class ProposalIntake {
  #running: Promise<unknown> = Promise.resolve()

  constructor(private readonly options: ProposalIntakeOptions) {}

  /** One pass over `agents` (those without supervise are skipped). Resolves after any pass already running. */
  sync(agents: Iterable<ResolvedAgent>): Promise<IntakeReport> {
    const list = [...agents].filter((a) => a.bottle.spec.supervise?.enabled === true)
    const run = this.#running.then(() => this.#pass(list))
    this.#running = run.catch(() => undefined)
    return run
  }

  async #pass(agents: ResolvedAgent[]): Promise<IntakeReport> {
    const report: IntakeReport = { filed: [], refused: [] }
    if (agents.length === 0) return report
    const proposals = await readProposals(this.options.specRoot)
    for (const agent of agents) {
      try {
        await this.#syncAgent(agent, proposals, report)
      } catch (error) {
        this.options.log.error({ event: 'proposals.intake-failed', agent: agent.name, err: oneLine(error) } satisfies LogFields, 'proposal intake failed for this agent')
      }
    }
    return report
  }

  async #syncAgent(agent: ResolvedAgent, proposals: Map<string, ProposalFile>, report: IntakeReport): Promise<void> {
    const { log } = this.options
    const layout = agentLayout(this.options.stateDir, agent.name)
    const stateDir = join(layout.sidecarsState, SUPERVISE)
    const decisionsPath = join(layout.sidecarsConfig, SUPERVISE, DECISIONS_FILE)
    const previous = await readDecisionsFile(decisionsPath)
    const refusals = new Map(Object.entries(previous.proposals).filter(([, d]) => d.refused === true))
    const taken: string[] = []

    const ids = (await listRequestIds(stateDir)).sort((a, b) => (proposalNumber(a, agent.name) ?? 0) - (proposalNumber(b, agent.name) ?? 0))
    for (const id of ids) {
      const file = join(stateDir, REQUESTS_DIR, requestFileName(id))
      if (!PROPOSAL_ID.test(id)) {
        // No id to answer under: the daemon never writes such a name.
        log.warn({ event: 'proposal.discarded', agent: agent.name, reason: 'file name is not a proposal id' } satisfies LogFields, 'request discarded')
        taken.push(file)
        continue
      }
      const size = (await stat(file).catch(() => undefined))?.size
      if (size === undefined) continue
      const text = size > MAX_REQUEST_BYTES ? '' : await readRequestText(stateDir, id).catch(() => '')
      const verdict = checkRequest(id, text, { agent, proposals, refused: new Set(refusals.keys()), limits: this.options.limits ?? DEFAULT_LIMITS, now: this.#now() })
      if (verdict.kind === 'file') {
        const path = await writeNewProposal(this.options.specRoot, verdict.proposal)
        proposals.set(id, { path, proposal: verdict.proposal })
        report.filed.push(id)
        log.info({ event: 'proposal.filed', agent: agent.name, proposal: id, host: verdict.proposal.spec.route.host, file: path } satisfies LogFields, 'proposal filed for a human decision')
        this.options.onFiled?.(verdict.proposal, path)
      } else if (verdict.kind === 'refuse') {
        refusals.set(id, { phase: 'Rejected', refused: true, host: verdict.host, ...(verdict.paths ? { paths: verdict.paths } : {}), message: `refused by the controller: ${verdict.message}`, decidedAt: this.#now().toISOString() })
        report.refused.push(id)
        // The code, not the message: the message may quote what the agent wrote.
        log.warn({ event: 'proposal.refused', agent: agent.name, proposal: id, code: verdict.code } satisfies LogFields, 'proposal refused')
      }
      taken.push(file)
    }

    const decisions = renderDecisions(agent.name, proposals, refusals)
    const text = JSON.stringify(decisions, null, 2) + '\n'
    if (text !== previous.text) {
      await ensurePrivateDir(join(layout.sidecarsConfig, SUPERVISE))
      await writeFileAtomic(decisionsPath, text, 0o600)
    }
    for (const file of taken) await rm(file, { force: true })
  }

  #now(): Date {
    return this.options.now?.() ?? new Date()
  }
}

/** The agent's view of its proposals: every Proposal file of the agent, plus the controller's refusals. */
export function renderDecisions(agent: string, proposals: ReadonlyMap<string, ProposalFile>, refusals: ReadonlyMap<string, Decision>): Decisions {
  const entries: [string, Decision][] = []
  let highest = 0
  for (const [name, { proposal }] of proposals) {
    const n = proposalNumber(name, agent)
    if (n === undefined || proposal.spec.agent !== agent) continue
    highest = Math.max(highest, n)
    const { route } = proposal.spec
    entries.push([
      name,
      {
        phase: phaseOf(proposal),
        host: route.host,
        ...(route.paths ? { paths: route.paths } : {}),
        ...(proposal.status?.message ? { message: proposal.status.message } : {}),
        ...(proposal.status?.decidedAt ? { decidedAt: proposal.status.decidedAt } : {}),
      },
    ])
  }
  const kept = [...refusals].filter(([id]) => !proposals.has(id)).sort((a, b) => (proposalNumber(b[0], agent) ?? 0) - (proposalNumber(a[0], agent) ?? 0))
  for (const [id] of kept) highest = Math.max(highest, proposalNumber(id, agent) ?? 0)
  entries.push(...kept.slice(0, KEPT_REFUSALS))
  entries.sort((a, b) => (proposalNumber(a[0], agent) ?? 0) - (proposalNumber(b[0], agent) ?? 0))
  return { version: 1, nextNumber: highest + 1, proposals: Object.fromEntries(entries) }
}

async function readDecisionsFile(path: string): Promise<Decisions & { text: string }> {
  const text = await readFile(path, 'utf8').catch(() => '')
  const parsed = text ? parseDecisions(text) : undefined
  return parsed?.ok ? { ...parsed.value, text } : { version: 1, nextNumber: 1, proposals: {}, text }
}

function oneLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).replace(/\s+/g, ' ').slice(0, 300)
}
