/**
 * Egress's report of what it enforces now (APPLIED_STATE_FILE in its state
 * folder; the format is bundle-contract.ts's), for the controller's
 * RoutesApplied condition and supervise's list of live routes. Written
 * after every load attempt. It names routes, slots and digests, never a
 * secret value.
 */
import { join } from 'node:path'
import { APPLIED_STATE_FILE, formatAppliedState, type EgressAppliedState, type EnforcedRoute } from '../shared/bundle-contract.js'
import { writeFileAtomic } from '../shared/atomic-write.js'
import type { EgressConfig } from './config.js'

export function enforcedRoutes(config: EgressConfig): EnforcedRoute[] {
  return config.routes.map((route) => {
    const enforced: EnforcedRoute = { host: route.host, tls: route.tls }
    if (route.paths) enforced.paths = [...route.paths]
    if (route.auth) enforced.auth = { scheme: route.auth.scheme, slot: route.auth.slot }
    if (route.upstream) enforced.upstream = route.upstream
    return enforced
  })
}

export async function writeAppliedState(stateDir: string, state: EgressAppliedState): Promise<void> {
  await writeFileAtomic(join(stateDir, APPLIED_STATE_FILE), formatAppliedState(state), 0o644)
}
