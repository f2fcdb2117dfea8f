/**
 * The driver-neutral model of an Agent's boxes: the parts the plan asks for
 * and what a driver reports it found. The plan owns it (it diffs desired
 * parts against observed ones, and status reports them) so that neither has
 * to depend on the drivers; drivers implement the contract in driver.ts in
 * these terms.
 */

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
  /** Names the part answers to on the agent's internal network (the bundle's service names); the plan decides them. */
  aliases?: string[]
  /**
   * Runs a minimal init as the box's PID 1 that reaps orphaned processes and
   * passes signals on to the part's command.
   */
  init: boolean
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
  /** What walls the part in, in a few words, when the driver has more to say than its name (a VM's accelerator). */
  isolation?: string
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
