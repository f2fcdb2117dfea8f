import type { ObservedAgent, ObservedPart, PartState } from '../plan/agent-parts.js'
import type { ConditionReason } from './condition-reasons.js'
import { conditionOf, setCondition } from './conditions.js'
import type { EffectiveRoute, Condition, ObjectStatus, PartStatus, PartStatusState, Phase, StatusEvent, TaskStatus } from './status-types.js'

/** Everything known about one Agent after a reconcile; computeAgentStatus turns it into its status. */
export interface AgentFacts {
  now: string
  /** The driver that observed the Agent (`observed`); absent when none did. */
  driver?: string
  revision?: string
  previous?: ObjectStatus
  /** Errors of the spec, formatted `file:line:col: message`; empty when valid. */
  specErrors: string[]
  /** The spec hash this status answers for; absent when the spec is invalid. */
  specHash?: string
  suspended: boolean
  /** Desired part hashes, when the spec is valid. */
  desiredHashes?: { agent: string; sidecars: string }
  observed?: ObservedAgent
  /** The reconcile failed with this one-line error (it will be retried). */
  error?: string
  /** The Agent's runtime cannot run on this host: one line saying what is missing. Nothing was started. */
  runtimeUnavailable?: string
  /** Work under way that the user should see: "building image bottle-agent-claude:1a2b". */
  progress?: string
  routes?: { wanted: EffectiveRoute[]; applied: boolean; appliedAt?: string; error?: string }
  secretProblems: string[]
  endpoints?: Record<string, string>
  /** Set when the Agent runs a task (spec.task). */
  task?: { retries: number; timeout?: string }
  events: StatusEvent[]
}

/** coreutils' timeout exits with 124 when the time ran out. */
const TIMED_OUT_EXIT = 124

/** How a task part's run went, from what the engine reports; undefined before it exists or while outdated. */
export function taskStatusOf(part: ObservedPart | undefined, task: { retries: number }): TaskStatus | undefined {
  if (!part) return undefined
  const attempts = 1 + (part.restartCount ?? 0)
  const maxAttempts = 1 + task.retries
  let state: TaskStatus['state']
  if (part.state === 'running' || part.state === 'created') state = 'Running'
  else if (part.state === 'restarting') state = 'Retrying'
  else if (part.state === 'stopped' && part.exitCode === 0) state = 'Succeeded'
  else state = 'Failed'
  const out: TaskStatus = { state, attempts: Math.min(attempts, maxAttempts), maxAttempts }
  if (part.exitCode !== undefined && state !== 'Running') out.exitCode = part.exitCode
  if (part.startedAt) out.startedAt = part.startedAt
  if (part.finishedAt && state !== 'Running') {
    out.finishedAt = part.finishedAt
    if (part.startedAt) out.durationSeconds = Math.max(0, Math.round((Date.parse(part.finishedAt) - Date.parse(part.startedAt)) / 1000))
  }
  return out
}

function taskMessage(task: TaskStatus, timeout: string | undefined): string {
  const runs = `${task.attempts} attempt${task.attempts === 1 ? '' : 's'}`
  const took = task.durationSeconds !== undefined ? ` in ${task.durationSeconds}s` : ''
  switch (task.state) {
    case 'Running':
      return `the task is running (attempt ${task.attempts} of ${task.maxAttempts})`
    case 'Retrying':
      return `attempt ${task.attempts} of ${task.maxAttempts} failed${task.exitCode !== undefined ? ` with exit code ${task.exitCode}` : ''}; retrying after a backoff`
    case 'Succeeded':
      return `the task succeeded after ${runs}${took}`
    case 'Failed':
      return task.exitCode === TIMED_OUT_EXIT && timeout
        ? `the task timed out after ${timeout} (${runs})`
        : `the task failed with exit code ${task.exitCode ?? 'unknown'} after ${runs}${took}; see bottle logs`
  }
}

const MAX_EVENTS = 10

/** The status file's words for a part's state, whichever driver reported it. */
const STATE_WORDS: Record<PartState, PartStatusState> = {
  running: 'running',
  stopped: 'stopped',
  restarting: 'restarting',
  paused: 'paused',
  created: 'created',
  dead: 'dead',
}

function partStatus(p: ObservedPart | undefined): PartStatus | undefined {
  if (!p) return undefined
  return {
    name: p.name,
    id: p.id.slice(0, 12),
    state: STATE_WORDS[p.state],
    image: p.image,
    ...(p.startedAt ? { startedAt: p.startedAt } : {}),
    ...(p.restartCount ? { restarts: p.restartCount } : {}),
    ...(p.isolation ? { isolation: p.isolation } : {}),
  }
}

/**
 * The status of an Agent, as Flux would write it: a phase, conditions with
 * reasons, what was observed and which spec it answers for. Pure.
 */
export function computeAgentStatus(f: AgentFacts): ObjectStatus {
  const prev = f.previous?.conditions
  const conditions: Condition[] = []
  const agent = f.observed?.parts.agent
  const sidecars = f.observed?.parts.sidecars
  const agentCurrent = agent?.state === 'running' && (!f.desiredHashes || agent.hash === f.desiredHashes.agent)
  const task = f.task && (!f.desiredHashes || agent?.hash === f.desiredHashes.agent) ? taskStatusOf(agent, f.task) : undefined
  const sidecarsCurrent = sidecars?.state === 'running' && (!f.desiredHashes || sidecars.hash === f.desiredHashes.sidecars)
  const valid = f.specErrors.length === 0

  if (valid) setCondition(prev, conditions, 'Valid', 'True', 'SpecValid', 'the spec is valid', f.now)
  else {
    const kept = agent?.state === 'running' ? '; the last valid spec keeps running' : ''
    setCondition(prev, conditions, 'Valid', 'False', 'SpecInvalid', `${f.specErrors[0]}${f.specErrors.length > 1 ? ` (and ${f.specErrors.length - 1} more)` : ''}${kept}`, f.now)
  }

  if (sidecars?.state === 'running') setCondition(prev, conditions, 'SidecarsReady', sidecarsCurrent ? 'True' : 'False', sidecarsCurrent ? 'Running' : 'Outdated', sidecarsCurrent ? 'the sidecar bundle is running' : 'the sidecar bundle runs an older spec', f.now)
  else setCondition(prev, conditions, 'SidecarsReady', 'False', sidecars ? 'NotRunning' : 'Absent', sidecars ? `the sidecar bundle is ${sidecars.state}` : 'the sidecar bundle does not exist', f.now)

  if (f.routes) {
    if (f.secretProblems.length > 0) setCondition(prev, conditions, 'RoutesApplied', 'False', 'SecretUnavailable', f.secretProblems[0]!, f.now)
    else if (f.routes.error) setCondition(prev, conditions, 'RoutesApplied', 'False', 'ConfigRejected', `the egress proxy kept its previous routes: ${f.routes.error}`, f.now)
    else if (f.routes.applied) setCondition(prev, conditions, 'RoutesApplied', 'True', 'Applied', `${f.routes.wanted.length} route${f.routes.wanted.length === 1 ? '' : 's'} applied`, f.now)
    else setCondition(prev, conditions, 'RoutesApplied', 'Unknown', 'Pending', 'waiting for the egress proxy to load the routes', f.now)
  }

  let phase: Phase
  let ready: { status: 'True' | 'False' | 'Unknown'; reason: ConditionReason; message: string }
  const routesOk = !f.routes || (f.routes.applied && f.secretProblems.length === 0 && !f.routes.error)
  if (f.runtimeUnavailable && valid && !f.suspended) {
    // Waiting would not help: the spec or the host has to change.
    phase = 'Failed'
    ready = { status: 'False', reason: 'RuntimeUnavailable', message: f.runtimeUnavailable }
  } else if (f.suspended && valid) {
    phase = 'Suspended'
    ready = { status: 'False', reason: 'Suspended', message: agent?.state === 'running' ? 'stopping' : 'suspended: stopped, workspace kept' }
  } else if (task && task.state !== 'Running' && valid) {
    // A finished task is judged by its exit, not by whether its box still runs.
    const message = taskMessage(task, f.task?.timeout)
    if (task.state === 'Succeeded') {
      phase = 'Succeeded'
      ready = { status: 'True', reason: 'TaskSucceeded', message }
    } else if (task.state === 'Failed') {
      phase = 'Failed'
      ready = { status: 'False', reason: task.exitCode === TIMED_OUT_EXIT && f.task?.timeout ? 'TaskTimedOut' : 'TaskFailed', message }
    } else {
      phase = 'Running'
      ready = { status: 'False', reason: 'TaskRetrying', message }
    }
  } else if (agentCurrent && sidecarsCurrent && routesOk) {
    phase = 'Running'
    ready = { status: 'True', reason: 'Running', message: task ? taskMessage(task, f.task?.timeout) : valid ? 'the agent is running' : 'the agent is running its last valid spec' }
  } else if (f.error) {
    phase = agent?.state === 'running' ? 'Degraded' : 'Failed'
    ready = { status: 'False', reason: 'ReconcileFailed', message: f.error }
  } else if (agent?.state === 'running' && sidecars?.state === 'running' && !routesOk) {
    phase = 'Degraded'
    const routes = conditionOf(conditions, 'RoutesApplied')
    ready = { status: routes?.status === 'Unknown' ? 'Unknown' : 'False', reason: routes?.reason ?? 'RoutesPending', message: routes?.message ?? 'routes are not applied' }
    if (routes?.status === 'Unknown') phase = 'Provisioning'
  } else if (!valid) {
    phase = agent?.state === 'running' ? 'Running' : 'Failed'
    ready = { status: 'False', reason: 'SpecInvalid', message: 'fix the spec; nothing was changed' }
  } else {
    phase = f.observed ? 'Provisioning' : 'Pending'
    ready = { status: 'False', reason: 'Progressing', message: f.progress ?? 'creating the agent and its sidecar bundle' }
  }
  setCondition(prev, conditions, 'Ready', ready.status, ready.reason, ready.message, f.now)

  const events = [...(f.previous?.events ?? []), ...f.events].slice(-MAX_EVENTS)
  const status: ObjectStatus = {
    phase,
    conditions,
    ...(f.specHash ? { observedSpecHash: f.specHash } : f.previous?.observedSpecHash ? { observedSpecHash: f.previous.observedSpecHash } : {}),
    ...(f.revision ? { observedRevision: f.revision } : {}),
  }
  if (f.observed) {
    const agentPart = partStatus(agent)
    const sidecarsPart = partStatus(sidecars)
    status.runtime = {
      driver: f.driver ?? 'unknown',
      ...(agentPart ? { agent: agentPart } : {}),
      ...(sidecarsPart ? { sidecars: sidecarsPart } : {}),
      ...(f.observed.workspace ? { workspace: f.observed.workspace } : {}),
      ...(f.observed.infrastructure.length ? { infrastructure: f.observed.infrastructure } : {}),
    }
  }
  if (f.routes) status.routes = { applied: f.routes.wanted, ...(f.routes.appliedAt ? { appliedAt: f.routes.appliedAt } : {}), ...(f.routes.error ? { error: f.routes.error } : {}) }
  if (f.endpoints) status.endpoints = f.endpoints
  if (task) status.task = task
  const lastError = f.error ?? (valid ? f.runtimeUnavailable : f.specErrors[0])
  if (lastError) status.lastError = lastError
  if (events.length) status.events = events
  return status
}

/**
 * The status of an Agent whose spec is gone but whose prune failed: it is
 * Terminating, not Ready, and says why; the next reconcile tries again and
 * removes the status once the prune succeeds.
 */
export function pruneFailedStatus(previous: ObjectStatus | undefined, error: string, now: string): ObjectStatus {
  const conditions = (previous?.conditions ?? []).filter((c) => c.type !== 'Ready')
  setCondition(previous?.conditions, conditions, 'Ready', 'False', 'PruneFailed', `the spec is gone but removing the agent failed: ${error}`, now)
  return { ...previous, phase: 'Terminating', conditions, lastError: error }
}
