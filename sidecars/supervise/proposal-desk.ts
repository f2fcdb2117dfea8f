/**
 * The daemon's side of proposals, behind the three MCP tools: answers from
 * the files the controller writes (config.json, decisions.json) and egress's
 * report (applied.json), and hands new proposals to the controller as
 * request files. Everything is read on every call; nothing is cached, so a
 * rewrite by the controller is seen at once.
 *
 * Every refusal is a `ProposalRefusal` with a code for the log and one line
 * for the agent. The checks here are courtesy (the agent learns at once);
 * the controller's intake checks everything again and decides.
 */
import { readFile, mkdir } from 'node:fs/promises'
import { writeFileAtomic } from '../shared/atomic-write.js'
import { join } from 'node:path'
import type { RefusalCode } from './event-log.js'
import { readLiveRoutes, type LiveRoutes } from './live-routes.js'
import { canonicalProposalHost, coveringRoute, proposalProblems, type ProposedRoute } from './proposal-rules.js'
import { COUNTER_FILE, listRequestIds, parseRouteRequest, readRequestText, writeRouteRequest, type RouteRequest } from './route-request.js'
import {
  CONFIG_FILE,
  DECISIONS_FILE,
  EMPTY_DECISIONS,
  parseDecisions,
  parseSuperviseConfig,
  proposalNumber,
  type Decisions,
  type ProposalPhase,
  type SuperviseConfig,
} from './supervise-config.js'

export class ProposalRefusal extends Error {
  override readonly name = 'ProposalRefusal'
  constructor(
    readonly code: RefusalCode,
    message: string,
  ) {
    super(message)
  }
}

export interface ProposalDeskOptions {
  configDir: string
  stateDir: string
  appliedPath: string
  now?: () => Date
}

export interface SubmittedProposal {
  id: string
  phase: 'Pending'
  message: string
}

export interface ProposalState {
  id: string
  phase: ProposalPhase
  host: string
  paths?: string[]
  message: string
  decidedAt?: string
  /** For an approved proposal: whether egress enforces a route for the host now. */
  live?: boolean
}

export class ProposalDesk {
  /** Proposals are numbered one at a time, so two concurrent calls never share a number. */
  #queue: Promise<unknown> = Promise.resolve()

  constructor(private readonly options: ProposalDeskOptions) {}

  async config(): Promise<SuperviseConfig> {
    let text: string
    try {
      text = await readFile(join(this.options.configDir, CONFIG_FILE), 'utf8')
    } catch {
      throw new ProposalRefusal('not-configured', 'supervise has no configuration from the controller yet; try again in a few seconds')
    }
    const parsed = parseSuperviseConfig(text)
    if (!parsed.ok) throw new ProposalRefusal('not-configured', `supervise configuration is unusable (${parsed.error}); tell the operator`)
    return parsed.value
  }

  /** The controller's decisions; none yet is an empty record, an unreadable file a refusal. */
  async decisions(): Promise<Decisions> {
    let text: string
    try {
      text = await readFile(join(this.options.configDir, DECISIONS_FILE), 'utf8')
    } catch {
      return EMPTY_DECISIONS
    }
    const parsed = parseDecisions(text)
    if (!parsed.ok) throw new ProposalRefusal('not-configured', `the controller's decisions file is unusable (${parsed.error}); tell the operator`)
    return parsed.value
  }

  async liveRoutes(): Promise<LiveRoutes> {
    const live = await readLiveRoutes(this.options.appliedPath)
    if (!live) throw new ProposalRefusal('routes-unknown', 'the egress proxy has not reported its routes yet; try again in a few seconds')
    return live
  }

  propose(route: ProposedRoute, reason: string): Promise<SubmittedProposal> {
    const run = this.#queue.then(() => this.#propose(route, reason))
    this.#queue = run.catch(() => undefined)
    return run
  }

  async #propose(route: ProposedRoute, reason: string): Promise<SubmittedProposal> {
    const config = await this.config()
    const problems = proposalProblems(route, reason)
    if (problems.length > 0) throw new ProposalRefusal('invalid-proposal', problems.join('; '))

    const live = await readLiveRoutes(this.options.appliedPath)
    const covering = live ? coveringRoute(route.host, live.routes) : undefined
    if (covering !== undefined) {
      throw new ProposalRefusal('already-allowed', `${route.host} is already allowed by the route ${covering}; see list-egress-routes`)
    }

    const decisions = await this.decisions()
    const waiting = await this.#waitingRequests()
    const host = canonicalProposalHost(route.host)
    const pending = new Map<string, string>()
    for (const [id, decision] of Object.entries(decisions.proposals)) if (decision.phase === 'Pending') pending.set(id, canonicalProposalHost(decision.host))
    for (const request of waiting) pending.set(request.id, canonicalProposalHost(request.route.host))
    for (const [id, pendingHost] of pending) {
      if (pendingHost === host) throw new ProposalRefusal('already-proposed', `${route.host} is already proposed as ${id}, waiting for a human; check it with proposal-status`)
    }
    if (pending.size >= config.limits.maxPending) {
      throw new ProposalRefusal('rate-limited', `${pending.size} proposals are already waiting for a human (at most ${config.limits.maxPending}); wait for a decision before proposing more`)
    }

    const number = await this.#nextNumber(config.agent, decisions, waiting)
    const id = `${config.agent}-${number}`
    const request: RouteRequest = {
      version: 1,
      id,
      agent: config.agent,
      route: { host: route.host, ...(route.paths ? { paths: [...route.paths] } : {}) },
      reason,
      requestedAt: this.#now().toISOString(),
    }
    await this.#writeCounter(number + 1)
    await writeRouteRequest(this.options.stateDir, request)
    return {
      id,
      phase: 'Pending',
      message: `proposal ${id} is waiting for a human: \`bottle approve ${id}\` adds the route to Bottle ${config.bottle}, \`bottle reject ${id}\` refuses it; check with proposal-status`,
    }
  }

  async status(id: string): Promise<ProposalState> {
    const config = await this.config()
    const decisions = await this.decisions()
    const decision = proposalNumber(id, config.agent) === undefined ? undefined : decisions.proposals[id]
    if (decision) {
      const state: ProposalState = {
        id,
        phase: decision.phase,
        host: decision.host,
        ...(decision.paths ? { paths: decision.paths } : {}),
        message: decision.message ?? describePhase(decision.phase),
        ...(decision.decidedAt ? { decidedAt: decision.decidedAt } : {}),
      }
      if (decision.phase === 'Approved') {
        const live = await readLiveRoutes(this.options.appliedPath)
        state.live = live !== undefined && coveringRoute(decision.host, live.routes) !== undefined
      }
      return state
    }
    const waiting = (await this.#waitingRequests()).find((r) => r.id === id && r.agent === config.agent)
    if (waiting) {
      return {
        id,
        phase: 'Pending',
        host: waiting.route.host,
        ...(waiting.route.paths ? { paths: waiting.route.paths } : {}),
        message: 'submitted; the controller has not filed it yet',
      }
    }
    throw new ProposalRefusal('unknown-id', `there is no proposal ${id} for agent ${config.agent}`)
  }

  /** Requests written but not yet taken by the controller. Unreadable ones are skipped (the controller refuses them). */
  async #waitingRequests(): Promise<RouteRequest[]> {
    const out: RouteRequest[] = []
    for (const id of await listRequestIds(this.options.stateDir)) {
      const text = await readRequestText(this.options.stateDir, id).catch(() => undefined)
      const parsed = text === undefined ? undefined : parseRouteRequest(text)
      if (parsed?.ok) out.push(parsed.value)
    }
    return out
  }

  /** Above every number in use: the controller's floor, the daemon's counter, waiting requests and decisions. */
  async #nextNumber(agent: string, decisions: Decisions, waiting: RouteRequest[]): Promise<number> {
    let next = Math.max(1, decisions.nextNumber, await this.#readCounter())
    for (const id of [...Object.keys(decisions.proposals), ...waiting.map((r) => r.id)]) {
      const n = proposalNumber(id, agent)
      if (n !== undefined && n >= next) next = n + 1
    }
    return next
  }

  async #readCounter(): Promise<number> {
    const text = await readFile(join(this.options.stateDir, COUNTER_FILE), 'utf8').catch(() => '')
    const n = Number(text.trim())
    return Number.isInteger(n) && n >= 1 ? n : 1
  }

  async #writeCounter(next: number): Promise<void> {
    await mkdir(this.options.stateDir, { recursive: true, mode: 0o700 })
    await writeFileAtomic(join(this.options.stateDir, COUNTER_FILE), `${next}\n`, 0o600)
  }

  #now(): Date {
    return this.options.now?.() ?? new Date()
  }
}

function describePhase(phase: ProposalPhase): string {
  if (phase === 'Pending') return 'waiting for a human decision'
  if (phase === 'Approved') return 'approved; the route is added to the Bottle'
  return 'rejected'
}
