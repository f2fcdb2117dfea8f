/**
 * What to do with the refusals gathered for one host of one Agent: write a
 * new draft Proposal (`spec.source: denial`), add them to the draft already
 * waiting, or leave them. Pure: the caller reads the proposals folder and
 * writes what is decided here (draft-intake.ts).
 *
 * A draft is held to everything an agent's own proposal is (check-request.ts):
 * the proposal rules (no `*`, IP literals, private names, public-suffix
 * wildcards, nothing shaped like a credential), the routes the Bottle has,
 * proposals already waiting, the agent's rate limits, and the CRD. It asks
 * for the host only; the refused paths are samples for the human, kept only
 * when they are canonical and carry nothing a secret scan objects to.
 *
 * Drafts are named `<agent>-denied-<n>`, apart from the agent's own
 * `<agent>-<n>` numbering, so the two never race for a number.
 */
import type { Proposal } from '../spec/generated/spec-types.js'
import type { ResolvedAgent } from '../spec/load-spec-tree.js'
import { renderEgressConfig } from '../plan/render-egress-config.js'
import { canonicalProposalHost, coveringRoute, pathProblem, proposalProblems } from '../../sidecars/supervise/proposal-rules.js'
import type { HostDenials } from './denial-window.js'
import { phaseOf, proposalObjectProblems, type ProposalFile } from './proposal-files.js'
import { rateLimitProblem, type ProposalLimits } from './rate-limits.js'

/** A Pending draft with no refusal for this long is removed: nobody needed it for a day. */
export const DRAFT_TTL_MS = 24 * 60 * 60 * 1000
/** Sample paths a draft keeps (the CRD allows five). */
export const MAX_SAMPLE_PATHS = 3

export type DraftRefusal = 'rule' | 'secret-shaped' | 'rate-limited' | 'not-a-valid-proposal'

export type DraftDecision =
  | { kind: 'create'; proposal: Proposal }
  | { kind: 'update'; file: string; proposal: Proposal }
  /** Nothing to draft: the Bottle allows the host by now, or the agent itself asked for it. */
  | { kind: 'drop'; why: 'already-allowed' | 'already-proposed' }
  | { kind: 'refuse'; code: DraftRefusal; message: string }
  /** Below the Bottle's threshold: keep gathering. */
  | { kind: 'wait' }

export interface DraftContext {
  agent: ResolvedAgent
  /** Every Proposal file, of every agent. */
  proposals: ReadonlyMap<string, ProposalFile>
  limits: ProposalLimits
  now: Date
  /** Whether the text (a host, a path) holds something a secret scan reports: those never go into a committed file. */
  looksSecret: (text: string, where: 'host' | 'path') => boolean
  /** Whether the refusals reached the Bottle's threshold: only then is a new draft written. */
  due: boolean
}

export function decideDraft(denials: HostDenials, ctx: DraftContext): DraftDecision {
  const { agent } = ctx
  const bottle = agent.bottle.name
  const host = canonicalProposalHost(denials.host)
  if (coveringRoute(host, renderEgressConfig(agent).config.routes ?? []) !== undefined) return { kind: 'drop', why: 'already-allowed' }

  const samples = denials.samplePaths.filter((p) => pathProblem(p) === undefined && !ctx.looksSecret(p, 'path'))
  for (const file of ctx.proposals.values()) {
    const { spec } = file.proposal
    if (spec.bottle !== bottle || phaseOf(file.proposal) !== 'Pending' || canonicalProposalHost(spec.route.host) !== host) continue
    if (spec.source !== 'denial' || !spec.denials) return { kind: 'drop', why: 'already-proposed' }
    return { kind: 'update', file: file.path, proposal: withDenials(file.proposal, merge(spec.denials, denials, samples)) }
  }
  if (!ctx.due) return { kind: 'wait' }

  if (ctx.looksSecret(host, 'host')) return { kind: 'refuse', code: 'secret-shaped', message: 'the host carries something a secret scan reports' }
  const aggregated = merge(undefined, denials, samples)
  const reason = draftReason(agent.name, host, aggregated)
  const problems = proposalProblems({ host }, reason)
  if (problems.length > 0) return { kind: 'refuse', code: 'rule', message: problems[0]! }
  const limited = rateLimitProblem(agent.name, [...ctx.proposals.values()].map((f) => f.proposal), ctx.limits, ctx.now)
  if (limited) return { kind: 'refuse', code: 'rate-limited', message: limited }

  const proposal: Proposal = {
    apiVersion: 'bottle.dev/v1alpha1',
    kind: 'Proposal',
    metadata: { name: nextDraftName(agent.name, ctx.proposals.keys()), creationTimestamp: ctx.now.toISOString() },
    spec: { agent: agent.name, bottle, route: { host }, reason, source: 'denial', denials: aggregated },
    status: { phase: 'Pending' },
  }
  const invalid = proposalObjectProblems(proposal)
  if (invalid.length > 0) return { kind: 'refuse', code: 'not-a-valid-proposal', message: invalid[0]! }
  return { kind: 'create', proposal }
}

/** Pending drafts whose last refusal is older than `ttlMs`. Human decisions and agents' own proposals never expire. */
export function expiredDrafts(proposals: ReadonlyMap<string, ProposalFile>, now: Date, ttlMs = DRAFT_TTL_MS): ProposalFile[] {
  return [...proposals.values()].filter(({ proposal }) => {
    if (proposal.spec.source !== 'denial' || phaseOf(proposal) !== 'Pending') return false
    const last = Date.parse(proposal.spec.denials?.lastSeen ?? proposal.metadata.creationTimestamp ?? '')
    // A draft without a readable time has no age to judge; it stays until a human decides.
    return Number.isFinite(last) && now.getTime() - last > ttlMs
  })
}

/** `<agent>-denied-<n>`, the lowest n above every draft of the agent. Long agent names are cut to fit the CRD's 53 characters. */
export function nextDraftName(agent: string, names: Iterable<string>): string {
  const prefix = `${agent.slice(0, 46)}-denied`
  let highest = 0
  for (const name of names) {
    if (!name.startsWith(`${prefix}-`)) continue
    const rest = name.slice(prefix.length + 1)
    if (/^[0-9]{1,9}$/.test(rest)) highest = Math.max(highest, Number(rest))
  }
  return `${prefix}-${highest + 1}`
}

/** The sentence a human reads; every variable part is a number, a time, or a host that passed the rules. */
export function draftReason(agent: string, host: string, denials: NonNullable<Proposal['spec']['denials']>): string {
  const times = denials.count === 1 ? 'once' : `${denials.count} times`
  return `Draft from refusals: agent ${agent} was refused ${host} (no route) ${times} between ${denials.firstSeen} and ${denials.lastSeen}. The agent did not ask; approve only if it needs this host.`
}

function merge(existing: NonNullable<Proposal['spec']['denials']> | undefined, denials: HostDenials, samples: readonly string[]): NonNullable<Proposal['spec']['denials']> {
  const first = new Date(denials.firstSeen).toISOString()
  const last = new Date(denials.lastSeen).toISOString()
  const paths = [...(existing?.samplePaths ?? [])]
  for (const p of samples) if (paths.length < MAX_SAMPLE_PATHS && !paths.includes(p)) paths.push(p)
  return {
    count: (existing?.count ?? 0) + denials.count,
    firstSeen: existing && existing.firstSeen < first ? existing.firstSeen : first,
    lastSeen: existing && existing.lastSeen > last ? existing.lastSeen : last,
    ...(paths.length > 0 ? { samplePaths: paths } : {}),
  }
}

function withDenials(proposal: Proposal, denials: NonNullable<Proposal['spec']['denials']>): Proposal {
  return { ...proposal, spec: { ...proposal.spec, denials, reason: draftReason(proposal.spec.agent, proposal.spec.route.host, denials) } }
}
