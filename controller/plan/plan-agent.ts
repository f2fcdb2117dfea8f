import type { ObservedAgent, PartName, PartSpec } from './agent-parts.js'
import { digest } from '../spec/spec-hash.js'
import type { DesiredAgent } from './desired-agent.js'
import type { RenderedFile } from './rendered-file.js'

/**
 * How disruptive an action is (DESIGN 3): `hot` rewrites config and signals a
 * reload with no restart; `sidecars` restarts the bundle only; `recreate`
 * replaces the agent's box (its workspace volume stays); `create`, `lifecycle`
 * (start, stop) and `prune` are what they say.
 */
export type ActionClass = 'create' | 'hot' | 'sidecars' | 'recreate' | 'lifecycle' | 'prune'

export type PlanAction =
  | { kind: 'ensure-infrastructure'; class: 'create' }
  | { kind: 'write-files'; class: 'hot'; files: RenderedFile[] }
  | { kind: 'reload-sidecars'; class: 'hot' }
  | { kind: 'create-part'; class: 'create' | 'sidecars' | 'recreate'; part: PartName; spec: PartSpec; reason: string }
  | { kind: 'start-part'; class: 'lifecycle'; part: PartName }
  | { kind: 'stop-part'; class: 'lifecycle'; part: PartName }
  | { kind: 'remove-agent'; class: 'prune' }

/** Digest of each generated file as it is on disk now; absent means the file does not exist. */
export type ObservedFiles = ReadonlyMap<string, string>

export function fileDigest(content: string): string {
  return digest(content)
}

/**
 * The actions that take one Agent from what is observed to what is desired.
 * Pure and idempotent: planning against the result of applying a plan gives
 * no actions. `desired` undefined means the spec is gone: prune.
 */
export function planAgent(desired: DesiredAgent | undefined, observed: ObservedAgent | undefined, files: ObservedFiles): PlanAction[] {
  if (!desired) return observed ? [{ kind: 'remove-agent', class: 'prune' }] : []

  const actions: PlanAction[] = []
  const parts = observed?.parts ?? {}
  const nothingYet = !observed || Object.keys(parts).length === 0

  // A suspended agent that never ran stays absent; resuming creates it.
  if (desired.suspended && nothingYet) return []

  if (!observed?.infrastructureReady) actions.push({ kind: 'ensure-infrastructure', class: 'create' })

  const changed = desired.files.filter((f) => files.get(f.path) !== fileDigest(f.content))
  if (changed.length > 0) actions.push({ kind: 'write-files', class: 'hot', files: changed })

  const recreated = new Set<PartName>()
  const partActions = (part: PartName, changeClass: 'sidecars' | 'recreate'): PlanAction[] => {
    const want = desired.parts[part]
    const have = parts[part]
    if (!have) {
      if (desired.suspended) return []
      recreated.add(part)
      return [{ kind: 'create-part', class: nothingYet ? 'create' : changeClass, part, spec: want, reason: 'missing' }]
    }
    if (desired.suspended) return have.state === 'running' || have.state === 'restarting' ? [{ kind: 'stop-part', class: 'lifecycle', part }] : []
    if (have.hash !== want.hash) {
      recreated.add(part)
      return [{ kind: 'create-part', class: changeClass, part, spec: want, reason: have.hash === undefined ? 'not created by this controller version' : 'spec changed' }]
    }
    if (have.state === 'dead') {
      recreated.add(part)
      return [{ kind: 'create-part', class: changeClass, part, spec: want, reason: 'dead' }]
    }
    // A task that ran is done (or the engine is between its retries): it is not started again.
    if (want.restart && (have.state === 'stopped' || have.state === 'restarting')) return []
    if (have.state !== 'running') return [{ kind: 'start-part', class: 'lifecycle', part }]
    return []
  }

  // The bundle first: the agent's proxy and gate must be there when it starts.
  // When suspending, the agent stops first.
  const sidecars = partActions('sidecars', 'sidecars')
  const agent = partActions('agent', 'recreate')
  if (desired.suspended) actions.push(...agent, ...sidecars)
  else actions.push(...sidecars)

  const reloadNeeded = changed.some((f) => f.onChange === 'reload-sidecars')
  if (reloadNeeded && !desired.suspended && parts.sidecars?.state === 'running' && !recreated.has('sidecars') && !sidecars.length) {
    actions.push({ kind: 'reload-sidecars', class: 'hot' })
  }
  if (!desired.suspended) actions.push(...agent)
  return actions
}

/** The most disruptive class in a plan, for one-word summaries. */
export function planImpact(actions: readonly PlanAction[]): ActionClass | 'none' {
  const order: ActionClass[] = ['prune', 'recreate', 'create', 'sidecars', 'lifecycle', 'hot']
  for (const c of order) if (actions.some((a) => a.class === c)) return c
  return 'none'
}
