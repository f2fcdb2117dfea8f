/**
 * What a VM-backed driver reports of one Agent: its bundle as the bundle's
 * engine sees it, its box from the driver's own record, and its workspace
 * (which only the box's driver keeps). An Agent with none of them is not
 * reported.
 */
import type { ObservedAgent, ObservedPart } from './driver.js'

/** `workspace`: the workspace's path when it exists. */
export function observedBoxAgent(agent: string, bundle: ObservedAgent | undefined, box: ObservedPart | undefined, workspace: string | undefined): ObservedAgent | undefined {
  const parts: ObservedAgent['parts'] = {}
  if (bundle?.parts.sidecars) parts.sidecars = bundle.parts.sidecars
  if (box) parts.agent = box
  const infrastructure = [...(bundle?.infrastructure ?? []), ...(workspace === undefined ? [] : [workspace])].sort()
  if (Object.keys(parts).length === 0 && infrastructure.length === 0) return undefined
  return {
    agent,
    parts,
    infrastructureReady: (bundle?.infrastructureReady ?? false) && workspace !== undefined,
    infrastructure,
    ...(workspace === undefined ? {} : { workspace }),
  }
}
