/**
 * How much an agent may ask for: at most `maxPending` proposals waiting for
 * a human at once, and at most `maxPerHour` proposals filed in any rolling
 * hour (whatever became of them). Refusals by the controller do not count:
 * they cost a human nothing.
 */
import type { Proposal } from '../spec/generated/spec-types.js'
import { phaseOf } from './proposal-files.js'

export interface ProposalLimits {
  maxPending: number
  maxPerHour: number
}

const HOUR_MS = 60 * 60 * 1000

/** One line saying which limit a new proposal of `agent` would exceed, or undefined. */
export function rateLimitProblem(agent: string, proposals: Iterable<Proposal>, limits: ProposalLimits, now: Date): string | undefined {
  let pending = 0
  let lastHour = 0
  for (const proposal of proposals) {
    if (proposal.spec.agent !== agent) continue
    if (phaseOf(proposal) === 'Pending') pending++
    const created = Date.parse(proposal.metadata.creationTimestamp ?? '')
    // A file without a readable time counts as recent: the limit errs on the side of asking less.
    if (!Number.isFinite(created) || now.getTime() - created < HOUR_MS) lastHour++
  }
  if (pending >= limits.maxPending) return `${pending} proposals are already waiting for a human (at most ${limits.maxPending}); wait for a decision before proposing more`
  if (lastHour >= limits.maxPerHour) return `${lastHour} proposals were filed in the last hour (at most ${limits.maxPerHour}); try again later`
  return undefined
}
