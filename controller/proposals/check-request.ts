/**
 * The controller's verdict on one request from an agent's supervise daemon:
 * file it as a Proposal, refuse it (the agent reads why through its
 * decisions file), or drop it because it was already handled. The request
 * is untrusted input, checked like a spec: strict shape, the proposal rules
 * (no `*`, bare TLDs, public-suffix wildcards, IP literals, malformed
 * paths, credentials), the routes the agent already has, proposals already
 * waiting, the rate limits, and finally the Proposal CRD itself, so the file
 * written is one the loader accepts.
 */
import { renderEgressConfig } from '../plan/render-egress-config.js'
import type { Proposal } from '../spec/generated/spec-types.js'
import type { ResolvedAgent } from '../spec/load-spec-tree.js'
import { canonicalProposalHost, coveringRoute, proposalProblems } from '../../sidecars/supervise/proposal-rules.js'
import { parseRouteRequest } from '../../sidecars/supervise/route-request.js'
import { proposalNumber } from '../../sidecars/supervise/supervise-config.js'
import { phaseOf, proposalObjectProblems, type ProposalFile } from './proposal-files.js'
import { rateLimitProblem, type ProposalLimits } from './rate-limits.js'

/** Why a request was refused, for the log (the agent gets the sentence). */
export type RefusalCode = 'malformed' | 'rule' | 'already-allowed' | 'already-proposed' | 'rate-limited' | 'id-in-use' | 'not-a-valid-proposal'

export type RequestVerdict =
  | { kind: 'file'; proposal: Proposal }
  | { kind: 'refuse'; code: RefusalCode; message: string; host: string; paths?: string[] }
  /** Filed or refused on an earlier pass (the request file outlived a crash): only remove it. */
  | { kind: 'handled' }

export interface RequestContext {
  agent: ResolvedAgent
  /** Every Proposal file, of every agent. */
  proposals: ReadonlyMap<string, ProposalFile>
  /** Ids this agent's decisions already record as refused. */
  refused: ReadonlySet<string>
  limits: ProposalLimits
  now: Date
}

export function checkRequest(id: string, text: string, ctx: RequestContext): RequestVerdict {
  const agent = ctx.agent.name
  const parsed = parseRouteRequest(text)
  if (!parsed.ok) return refuse('malformed', `the request is malformed: ${parsed.error}`, '')
  const request = parsed.value
  const { host, paths } = request.route
  const refuseThis = (code: RefusalCode, message: string) => refuse(code, message, host, paths)
  if (request.id !== id || request.agent !== agent || proposalNumber(id, agent) === undefined) {
    return refuseThis('malformed', `the request does not belong to agent ${agent} under the id ${id}`)
  }
  if (ctx.refused.has(id)) return { kind: 'handled' }
  const existing = ctx.proposals.get(id)
  if (existing) {
    const same = existing.proposal.spec.agent === agent && canonicalProposalHost(existing.proposal.spec.route.host) === canonicalProposalHost(host)
    return same ? { kind: 'handled' } : refuseThis('id-in-use', `${existing.path} already exists for another request; propose again`)
  }

  const problems = proposalProblems(request.route, request.reason)
  if (problems.length > 0) return refuseThis('rule', problems.join('; '))

  // What the agent reaches today: the Bottle's routes plus the provider host the controller adds.
  const covering = coveringRoute(host, renderEgressConfig(ctx.agent).config.routes ?? [])
  if (covering !== undefined) return refuseThis('already-allowed', `${host} is already allowed by the route ${covering} of Bottle ${ctx.agent.bottle.name}`)

  const bottle = ctx.agent.bottle.name
  for (const [name, { proposal }] of ctx.proposals) {
    if (proposal.spec.bottle === bottle && phaseOf(proposal) === 'Pending' && canonicalProposalHost(proposal.spec.route.host) === canonicalProposalHost(host)) {
      return refuseThis('already-proposed', `${host} is already proposed for Bottle ${bottle} as ${name}, waiting for a human`)
    }
  }

  const limited = rateLimitProblem(agent, [...ctx.proposals.values()].map((f) => f.proposal), ctx.limits, ctx.now)
  if (limited) return refuseThis('rate-limited', limited)

  const proposal: Proposal = {
    apiVersion: 'bottle.dev/v1alpha1',
    kind: 'Proposal',
    metadata: { name: id, creationTimestamp: ctx.now.toISOString() },
    spec: { agent, bottle, route: { host, ...(paths ? { paths } : {}) }, reason: request.reason },
    status: { phase: 'Pending' },
  }
  const invalid = proposalObjectProblems(proposal)
  if (invalid.length > 0) return refuseThis('not-a-valid-proposal', `the proposal would not be a valid spec: ${invalid[0]}`)
  return { kind: 'file', proposal }
}

function refuse(code: RefusalCode, message: string, host: string, paths?: string[]): RequestVerdict {
  return { kind: 'refuse', code, message, host, ...(paths ? { paths } : {}) }
}
