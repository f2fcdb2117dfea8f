import type { ConditionReason } from './condition-reasons.js'
import type { Condition, ConditionStatus, ConditionType } from './status-types.js'

/**
 * Sets a condition, keeping its lastTransitionTime when its status did not
 * change: a status file only changes when something true about the object
 * changed, which is what lets it be written only on change.
 */
export function setCondition(
  previous: readonly Condition[] | undefined,
  next: Condition[],
  type: ConditionType,
  status: ConditionStatus,
  reason: ConditionReason,
  message: string,
  now: string,
): void {
  const before = previous?.find((c) => c.type === type)
  next.push({ type, status, reason, message, lastTransitionTime: before && before.status === status ? before.lastTransitionTime : now })
}

export function conditionOf(conditions: readonly Condition[] | undefined, type: ConditionType): Condition | undefined {
  return conditions?.find((c) => c.type === type)
}
