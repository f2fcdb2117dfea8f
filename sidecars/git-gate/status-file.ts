/**
 * `status.json` in the state folder: what the controller reads about the
 * gate. Per remote, the last refresh from upstream and the last push, each
 * with a time, a result word and one line of explanation (no secret: git's
 * messages pass through redaction first). Rewritten atomically (temporary
 * file, then rename) after every refresh, push and config load.
 */
import { rename } from 'node:fs/promises'
import { writeFileAtomic } from '../shared/atomic-write.js'

export interface RefreshStatus {
  at: string
  /** ok: the mirror matches upstream. failed: upstream unreachable, fetches refused. stale: unreachable, last mirror served (allowStale). */
  result: 'ok' | 'failed' | 'stale'
  message: string
  durationMs: number
}

export interface PushStatus {
  at: string
  result: 'forwarded' | 'refused' | 'upstream-rejected' | 'failed' | 'too-large'
  message: string
}

export interface RemoteStatus {
  upstream: string
  lastRefresh?: RefreshStatus
  /** The last refresh that succeeded, when the last one did not. */
  lastSuccessfulRefreshAt?: string
  lastPush?: PushStatus
}

export interface GitGateStatus {
  version: 1
  updatedAt: string
  /** `sha256:<hex>` of the config.json in force; null before the first good load. */
  configHash: string | null
  /** One line when the last config load failed (the previous config stays in force). */
  configError?: string
  remotes: Record<string, RemoteStatus>
}

export const STATUS_FILE = 'status.json'

/** Keeps the status in memory and writes it whole; writes never overlap, the last state always lands. */
export class StatusFile {
  private status: GitGateStatus
  private writing: Promise<void> | undefined
  private dirty = false

  constructor(
    private readonly path: string,
    private readonly now: () => Date = () => new Date(),
    private readonly onError: (error: Error) => void = () => {},
  ) {
    this.status = { version: 1, updatedAt: this.now().toISOString(), configHash: null, remotes: {} }
  }

  snapshot(): GitGateStatus {
    return structuredClone(this.status)
  }

  /** Keep entries for these remotes (upstream as configured); drop the rest. */
  setConfig(configHash: string | null, configError: string | undefined, remotes: ReadonlyMap<string, string>): Promise<void> {
    const next: Record<string, RemoteStatus> = {}
    for (const [name, upstream] of remotes) next[name] = { ...(this.status.remotes[name] ?? {}), upstream }
    this.status = { ...this.status, configHash, remotes: next }
    if (configError === undefined) delete this.status.configError
    else this.status.configError = configError
    return this.save()
  }

  recordRefresh(remote: string, refresh: RefreshStatus): Promise<void> {
    const entry = this.status.remotes[remote]
    if (!entry) return this.save()
    if (refresh.result !== 'ok' && entry.lastRefresh?.result === 'ok') entry.lastSuccessfulRefreshAt = entry.lastRefresh.at
    if (refresh.result === 'ok') delete entry.lastSuccessfulRefreshAt
    entry.lastRefresh = refresh
    return this.save()
  }

  recordPush(remote: string, push: PushStatus): Promise<void> {
    const entry = this.status.remotes[remote]
    if (entry) entry.lastPush = push
    return this.save()
  }

  /** Resolves once a write that includes every change so far has landed. */
  async save(): Promise<void> {
    this.dirty = true
    while (this.writing) await this.writing
    if (!this.dirty) return
    this.dirty = false
    this.status.updatedAt = this.now().toISOString()
    const content = `${JSON.stringify(this.status, null, 2)}\n`
    this.writing = writeFileAtomic(this.path, content, 0o644).catch((error: Error) => this.onError(error))
    try {
      await this.writing
    } finally {
      this.writing = undefined
    }
  }
}


