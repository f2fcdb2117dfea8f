/**
 * Every reason a status condition can give. Tools and people match on these
 * (`bottle get`, `--wait`, scripts reading status files), so the set is
 * closed: a new reason is added here, and a misspelt one fails typecheck.
 */
export const CONDITION_REASONS = [
  // Valid
  'SpecValid',
  'SpecInvalid',
  // SidecarsReady, and Ready when everything runs
  'Running',
  'Outdated',
  'NotRunning',
  'Absent',
  // RoutesApplied
  'Applied',
  'Pending',
  'SecretUnavailable',
  'ConfigRejected',
  // Ready
  'Progressing',
  'RoutesPending',
  'ReconcileFailed',
  'Suspended',
  'TaskSucceeded',
  'TaskFailed',
  'TaskTimedOut',
  'TaskRetrying',
  'PruneFailed',
  'RuntimeUnavailable',
] as const

export type ConditionReason = (typeof CONDITION_REASONS)[number]
