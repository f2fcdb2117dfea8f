import { formatSpecError, type SpecError } from '../spec/errors.js'
import type { SpecTree } from '../spec/load-spec-tree.js'
import { setCondition } from './conditions.js'
import type { Condition, ObjectStatus } from './status-types.js'

/** A Bottle's status: whether it is valid, its effective routes, and the Agents in it. Pure. */
export function bottleStatus(input: { tree: SpecTree; name: string; errors: readonly SpecError[]; now: string; previous?: ObjectStatus }): ObjectStatus {
  const { tree, name, errors, now, previous } = input
  const conditions: Condition[] = []
  if (errors.length === 0) setCondition(previous?.conditions, conditions, 'Valid', 'True', 'SpecValid', 'the spec is valid', now)
  else setCondition(previous?.conditions, conditions, 'Valid', 'False', 'SpecInvalid', `${formatSpecError(errors[0]!)}${errors.length > 1 ? ` (and ${errors.length - 1} more)` : ''}`, now)
  const resolved = tree.bottles.get(name)
  const agents = [...tree.agents.values()].filter((a) => a.bottle.name === name).map((a) => a.name).sort()
  const status: ObjectStatus = {
    conditions,
    ...(resolved ? { observedSpecHash: resolved.hash } : {}),
    ...(tree.revision ? { observedRevision: tree.revision } : {}),
    ...(agents.length ? { agents } : {}),
  }
  if (errors.length) status.lastError = formatSpecError(errors[0]!)
  return status
}
