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

import type { ObservedAgent, PartName, PartSpec } from '../plan/agent-parts.js'
import type { InteractiveSession, SessionOptions } from './interactive-session.js'

// The model lives with the plan; drivers and their callers keep importing it from the contract.
export type { PartName, BindMount, WorkspaceMount, Mount, Resources, PartSpec, PartState, ObservedPart, ObservedAgent } from '../plan/agent-parts.js'
export { PART_NAMES } from '../plan/agent-parts.js'

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

export type PartEventKind = 'start' | 'die' | 'stop' | 'destroy' | 'oom' | 'kill'

export interface PartEvent {
  agent: string
  part?: PartName
  kind: PartEventKind
  time: string
}

export interface PartChangeOptions {
  /**
   * Told what a long step is doing, a line at a time, for the Agent's
   * status (a VM's root filesystem and boot snapshot take a while the
   * first time). Drivers whose steps are quick need not call it.
   */
  onProgress?: (line: string) => void
}

export interface RemoveOptions {
  /** Also delete the workspace volume. Without it, a workspace outlives every prune. */
  purgeWorkspace: boolean
}

/** Counts of calls that changed something, so benchmarks can prove a no-op resync changes nothing. */
export interface MutationCounter {
  readonly mutations: number
}

/** Whether this host can run a driver's boxes; `reason` says what is missing, in one line. */
export type Availability = { ok: true } | { ok: false; reason: string }

export interface RuntimeDriver extends MutationCounter {
  /** The driver's name, as status files report it. */
  readonly kind: string

  /**
   * Whether this host can run the driver's boxes. A driver that must probe
   * (a VM boot, an engine's features) does it once and remembers the answer,
   * so asking on every reconcile is cheap.
   */
  available(): Promise<Availability>

  /** Every managed Agent of this controller instance, as the engine reports it now. */
  observe(): Promise<ObservedAgent[]>

  /** Networks and the workspace volume for one Agent. Creates only what is missing. */
  ensureInfrastructure(agent: string): Promise<void>

  /**
   * Creates and starts `part` from `spec`. An existing part of the same name is
   * removed first (a recreate); the workspace volume is never touched.
   */
  createPart(agent: string, part: PartName, spec: PartSpec, options?: PartChangeOptions): Promise<void>
  startPart(agent: string, part: PartName, options?: PartChangeOptions): Promise<void>
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
  events(signal: AbortSignal): AsyncIterable<PartEvent>
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
