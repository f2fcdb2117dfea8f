/**
 * The status file format: `X.status.yaml` beside `X.yaml` (or `X.md`), one
 * YAML document per object of the spec file, Kubernetes style. It says what
 * is true right now and never holds a secret value.
 */

import type { EffectiveRoute } from '../plan/effective-route.js'
import type { ConditionReason } from './condition-reasons.js'
import type { EventReason } from './event-reasons.js'

// Status files report the routes the plan rendered; the type is the plan's.
export type { EffectiveRoute }

export type Phase = 'Pending' | 'Provisioning' | 'Running' | 'Degraded' | 'Succeeded' | 'Failed' | 'Suspended' | 'Terminating'

export type ConditionType = 'Valid' | 'Ready' | 'SidecarsReady' | 'RoutesApplied' | 'ImageReady' | 'WorkspaceReady'

export type ConditionStatus = 'True' | 'False' | 'Unknown'

export interface Condition {
  type: ConditionType
  status: ConditionStatus
  /** A fact in CamelCase: SpecInvalid, Progressing (condition-reasons.ts has them all). */
  reason: ConditionReason
  /** One line for a human; never a secret value. */
  message: string
  /** Changes only when `status` changes. */
  lastTransitionTime: string
}

/** A part's state in driver-neutral words (a stopped box is `stopped`, whatever its engine calls it). */
export type PartStatusState = 'running' | 'stopped' | 'restarting' | 'paused' | 'created' | 'dead'

/** One part (the agent's box or the bundle) as its driver reports it. */
export interface PartStatus {
  /** The driver's name for the part's box. */
  name: string
  id?: string
  state: PartStatusState
  image?: string
  startedAt?: string
  /** Times the driver restarted the part under its restart policy; absent when none or not known. */
  restarts?: number
  /** What walls the part in, when its driver says (e.g. a micro-VM under KVM, or under TCG emulation and why). */
  isolation?: string
}

export interface StatusEvent {
  time: string
  type: 'Normal' | 'Warning'
  reason: EventReason
  message: string
}

export interface TaskStatus {
  state: 'Running' | 'Retrying' | 'Succeeded' | 'Failed'
  /** Runs so far, the current one included. */
  attempts: number
  /** 1 + spec.task.retries. */
  maxAttempts: number
  exitCode?: number
  startedAt?: string
  finishedAt?: string
  durationSeconds?: number
}

export interface ObjectStatus {
  phase?: Phase
  conditions: Condition[]
  /** The spec digest the status was computed from; absent until the first reconcile. */
  observedSpecHash?: string
  /** The watched repository's commit the status was computed from. */
  observedRevision?: string
  /** Where the Agent runs: its runtime's driver and what that driver reports. */
  runtime?: {
    driver: string
    agent?: PartStatus
    sidecars?: PartStatus
    workspace?: string
    /** Networks and volumes that belong to the Agent. */
    infrastructure?: string[]
  }
  routes?: { applied: EffectiveRoute[]; appliedAt?: string; error?: string }
  endpoints?: Record<string, string>
  lastError?: string
  /** Agents with spec.task: how the run went. */
  task?: TaskStatus
  events?: StatusEvent[]
  /** Bottles: the Agents that run in it. */
  agents?: string[]
}

export interface StatusDocument {
  apiVersion: 'bottle.dev/v1alpha1'
  kind: 'Bottle' | 'Agent'
  metadata: { name: string }
  status: ObjectStatus
}
