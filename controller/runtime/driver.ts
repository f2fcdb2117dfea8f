/**
 * The runtime driver contract: how the controller observes and changes the
 * boxes agents run in, without knowing whether they are Docker containers,
 * micro-VMs or an in-memory fake.
 *
 * One Agent owns two parts:
 *   - `agent`: the box the coding agent runs in. It sits on the agent's
 *     internal network only and can reach nothing but its own bundle.
 *   - `sidecars`: the bundle (egress proxy, git gate, supervise). It sits on
 *     the internal network and on an egress network.
 * plus per-Agent infrastructure (networks, a workspace volume) that a driver
 * may or may not need.
 *
 * Every mutating method is idempotent and safe to call again after a crash
 * half-way through it. Nothing here caches beliefs about reality: `observe()`
 * asks the engine every time, which is what makes the reconciler
 * level-triggered. Only objects carrying the driver's ownership labels for
 * this controller instance are ever reported or touched.
 */

import type { InteractiveSession, SessionOptions } from './interactive-session.js'

export type PartName = 'agent' | 'sidecars'

export const PART_NAMES: readonly PartName[] = ['agent', 'sidecars']

export interface BindMount {
  kind: 'bind'
  /** Absolute host path of a folder (never a single file: atomic renames break those). */
  source: string
  target: string
  readOnly: boolean
}

export interface WorkspaceMount {
  kind: 'workspace'
  /** Where the Agent's workspace volume is mounted in the box. */
  target: string
}

export type Mount = BindMount | WorkspaceMount

export interface Resources {
  cpus?: number
  memoryMiB?: number
}

/** Everything needed to create one part. Two specs with the same `hash` are the same box. */
export interface PartSpec {
  image: string
  env: Record<string, string>
  /** Overrides the image's command; absent means the image default. */
  command?: string[]
  /** Runs the box as this user ("uid:gid" or a name); absent means the image default. */
  user?: string
  workdir?: string
  mounts: Mount[]
  resources?: Resources
  /** Extra names the part answers to on the agent's internal network (sidecars only). */
  aliases?: string[]
  /**
   * Set for a part that runs to completion (an Agent's task): the engine
   * restarts it after a non-zero exit, with backoff, at most `onFailure`
   * times, and never after it succeeds. Absent: the controller keeps the
   * part running.
   */
  restart?: { onFailure: number }
  /** Digest of every field above, computed by the plan. A mismatch with the observed part means recreate. */
  hash: string
}

export type PartState = 'running' | 'stopped' | 'restarting' | 'paused' | 'created' | 'dead'

export interface ObservedPart {
  id: string
  name: string
  state: PartState
  /** The `hash` label the part was created with; undefined when the label is missing. */
  hash: string | undefined
  image: string
  startedAt?: string
  /** When it last stopped, for a part that is not running. */
  finishedAt?: string
  exitCode?: number
  /** Restarts the engine made under the part's restart policy. */
  restartCount?: number
  /** Created with a `restart` policy: it runs to completion and is not kept running. */
  runsToCompletion?: boolean
  /** The part's address on the agent's internal network, when it has one. */
  internalAddress?: string
}

export interface ObservedAgent {
  agent: string
  parts: Partial<Record<PartName, ObservedPart>>
  /** True when every network and volume `ensureInfrastructure` creates is present. */
  infrastructureReady: boolean
  /** Infrastructure objects present, by driver-specific name (for status and pruning). */
  infrastructure: string[]
  workspace?: string
}

export interface ExecOptions {
  /** Bytes written to the command's stdin, which is then closed. */
  stdin?: string | Buffer
  env?: Record<string, string>
  user?: string
  workdir?: string
  signal?: AbortSignal
}

export interface ExecResult {
  exitCode: number
  stdout: string
  stderr: string
}

export interface LogOptions {
  follow?: boolean
  tail?: number
  signal?: AbortSignal
}

export type RuntimeEventKind = 'start' | 'die' | 'stop' | 'destroy' | 'oom' | 'kill'

export interface RuntimeEvent {
  agent: string
  part?: PartName
  kind: RuntimeEventKind
  time: string
}

export interface RemoveOptions {
  /** Also delete the workspace volume. Without it, a workspace outlives every prune. */
  purgeWorkspace: boolean
}

/** Counts of calls that changed something, so benchmarks can prove a no-op resync changes nothing. */
export interface MutationCounter {
  readonly mutations: number
}

export interface RuntimeDriver extends MutationCounter {
  readonly kind: string

  /** Every managed Agent of this controller instance, as the engine reports it now. */
  observe(): Promise<ObservedAgent[]>

  /** Networks and the workspace volume for one Agent. Creates only what is missing. */
  ensureInfrastructure(agent: string): Promise<void>

  /**
   * Creates and starts `part` from `spec`. An existing part of the same name is
   * removed first (a recreate); the workspace volume is never touched.
   */
  createPart(agent: string, part: PartName, spec: PartSpec): Promise<void>
  startPart(agent: string, part: PartName): Promise<void>
  stopPart(agent: string, part: PartName): Promise<void>
  removePart(agent: string, part: PartName): Promise<void>

  /** Delivers a signal to the part's PID 1 (SIGHUP reloads the bundle's config). */
  signalPart(agent: string, part: PartName, signal: NodeJS.Signals): Promise<void>

  /** Removes both parts and the infrastructure; the workspace survives unless purged. */
  removeAgent(agent: string, options: RemoveOptions): Promise<void>

  exec(agent: string, part: PartName, argv: string[], options?: ExecOptions): Promise<ExecResult>

  /** Runs `argv` on a terminal in the part, for a person at a keyboard (`bottle attach`). */
  openSession(agent: string, part: PartName, argv: string[], options: SessionOptions): Promise<InteractiveSession>

  logs(agent: string, part: PartName, options?: LogOptions): AsyncIterable<string>

  /** Lifecycle events of managed parts until `signal` aborts. */
  events(signal: AbortSignal): AsyncIterable<RuntimeEvent>
}

/** A driver failure, carrying what was attempted and the engine's own error as `cause`. */
export class DriverError extends Error {
  override readonly name = 'DriverError'
  constructor(
    readonly driver: string,
    readonly operation: string,
    readonly object: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${driver}: ${operation} ${object}: ${message}`, options)
  }
}
