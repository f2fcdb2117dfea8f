/**
 * Every `event` a controller log line can carry. Log lines are read by
 * machines (alerts, dashboards, tests) that match on `event`, so the set is
 * closed: a new event is added here, and a misspelt one fails typecheck.
 * Each layer logs through pino directly and checks its fields with
 * `satisfies LogFields`.
 */
export const LOG_EVENTS = [
  // controller lifecycle (reconcile/controller.ts, cli/commands/controller.ts)
  'controller.started',
  'controller.stopped',
  'controller.signal',
  'controller.listening',
  // specs and their source
  'specs.loaded',
  'specs.load-failed',
  'spec.invalid',
  'source.ready',
  'source.changed',
  'source.fetch-failed',
  // the drivers as the controller sees them
  'observe.failed',
  'part.event',
  'part.events-lost',
  'enqueue',
  // one Agent's reconcile
  'reconcile.skipped',
  'reconcile.refused',
  'reconcile.failed',
  'reconcile.retry',
  'action',
  'sessions-archived',
  'image.progress',
  'part.progress',
  'image.ready',
  // proposals
  'proposals.intake-failed',
  'proposal.discarded',
  'proposal.filed',
  'proposal.refused',
  // draft proposals from refusals (proposals/draft-intake.ts) and the bundle logs they are read from
  'proposal.drafted',
  'proposal.draft-updated',
  'proposal.draft-dropped',
  'proposal.draft-refused',
  'proposal.draft-expired',
  'bundle-log.lost',
  // notifications of new proposals (proposals/proposal-notifier.ts)
  'proposal.notified',
  'proposal.notify-retry',
  'proposal.notify-failed',
  // the docker driver's image store
  'image-build-started',
  'image-built',
  'image-build-failed',
  'cli-fetch-failed',
  // the docker driver's decisions (DriverDecision)
  'oci-runtime-selected',
  'network-created',
  'network-replaced',
  'volume-created',
  'part-created',
  'part-replaced',
  'part-started',
  'part-stopped',
  'part-removed',
  'part-signalled',
  'agent-removed',
  // the vm driver's own (VmDriverDecision; the part events above are shared)
  'vm-host-probed',
  'disk-created',
  'unfinished-box-killed',
  // the smolvm driver's own (SmolvmDriverDecision; the part events above are shared)
  'workspace-created',
  'smolvm-machine-created',
  'smolvm-machine-deleted',
  'smolvm-bundle-moved',
] as const

export type LogEvent = (typeof LOG_EVENTS)[number]

/** The fields object of a controller log line. */
export interface LogFields {
  event: LogEvent
  [field: string]: unknown
}
