/**
 * Where specs come from. A local folder and a git remote both present the
 * same thing to the controller: a folder to load, optionally the commit it
 * holds, and a callback when it may have changed (coalesced: a burst of
 * edits is one callback).
 */
export interface SpecSnapshot {
  /** Absolute folder to load specs from. */
  root: string
  /** Commit of the watched repository, when the source is one. */
  revision?: string
}

export interface SpecSource {
  /** For logs and status: `folder /srv/specs`, `git https://...#main`. */
  readonly description: string
  /** Prepares the source (a clone), starts watching, and returns the first snapshot. */
  start(onChange: () => void): Promise<SpecSnapshot>
  current(): SpecSnapshot
  stop(): Promise<void>
}
