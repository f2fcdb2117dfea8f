/**
 * One bare mirror per remote in the state folder (`<name>.git`), refreshed
 * from upstream before each fetch or push is served:
 *
 *   git fetch --prune <upstream> +refs/heads/*:refs/heads/* +refs/tags/*:refs/tags/*
 *
 * so the mirror's branches and tags are upstream's (a branch deleted upstream
 * goes away here too). HEAD follows upstream's default branch: it is asked
 * for (`ls-remote --symref`) when the mirror's HEAD names no branch it has,
 * which is the case on the first refresh.
 *
 * Work on one remote is serialized (`exclusive`): a refresh never races a
 * push's ref update. Concurrent refresh requests share the one in flight.
 */
import { mkdir, stat } from 'node:fs/promises'
import { oneLine, redactSecrets } from './gate-rejection.js'
import { mirrorPath, upstreamEnvironment, type GatePaths } from './git-environment.js'
import type { GateRemote } from './load-config.js'
import { firstErrorLine, gitRunner, runGitOk, type GitRunner } from './run-git.js'

export type RefreshOutcome =
  | { ok: true; durationMs: number }
  | { ok: false; durationMs: number; reason: string; timedOut: boolean }

export interface MirrorStoreOptions {
  paths: GatePaths
  /** The gate's git environment (git-environment.ts). */
  baseEnv: Readonly<Record<string, string>>
  now?: () => number
}

const FETCH_REFSPECS = ['+refs/heads/*:refs/heads/*', '+refs/tags/*:refs/tags/*']

export class MirrorStore {
  private readonly locks = new Map<string, Promise<unknown>>()
  private readonly refreshing = new Map<string, Promise<RefreshOutcome>>()
  private readonly now: () => number

  constructor(private readonly options: MirrorStoreOptions) {
    this.now = options.now ?? Date.now
  }

  path(remote: string): string {
    return mirrorPath(this.options.paths, remote)
  }

  /** A runner in the mirror with the gate's base environment (serving the agent). */
  local(remote: string, timeoutMs?: number): GitRunner {
    return gitRunner(this.path(remote), this.options.baseEnv, timeoutMs)
  }

  /** A runner in the mirror that can reach the remote's upstream (ssh command or credential helper). */
  upstream(remote: GateRemote, timeoutMs: number): GitRunner {
    return gitRunner(this.path(remote.name), upstreamEnvironment(this.options.baseEnv, remote), timeoutMs)
  }

  /** Run `task` with no other exclusive task on this remote running. */
  exclusive<T>(remote: string, task: () => Promise<T>): Promise<T> {
    const previous = this.locks.get(remote) ?? Promise.resolve()
    const run = previous.then(task, task)
    const settled = run.catch(() => undefined)
    this.locks.set(remote, settled)
    void settled.then(() => {
      if (this.locks.get(remote) === settled) this.locks.delete(remote)
    })
    return run
  }

  /** Create the bare mirror when missing. */
  async ensure(remote: string): Promise<void> {
    const dir = this.path(remote)
    if (await isDirectory(dir)) return
    await mkdir(this.options.paths.stateDir, { recursive: true })
    await runGitOk(gitRunner(this.options.paths.stateDir, this.options.baseEnv), ['init', '--quiet', '--bare', dir])
  }

  exists(remote: string): Promise<boolean> {
    return isDirectory(this.path(remote))
  }

  /** Whether the mirror has at least one branch or tag to serve. */
  async hasRefs(remote: string): Promise<boolean> {
    if (!(await isDirectory(this.path(remote)))) return false
    const result = await this.local(remote).run(['for-each-ref', '--count=1', '--format=%(refname)', 'refs/heads', 'refs/tags'])
    return result.code === 0 && result.stdout.length > 0
  }

  /** Refresh from upstream, sharing a refresh already in flight for this remote. */
  refresh(remote: GateRemote, timeoutMs: number, secrets: Iterable<string> = []): Promise<RefreshOutcome> {
    const running = this.refreshing.get(remote.name)
    if (running) return running
    const started = this.now()
    const promise = this.exclusive(remote.name, () => this.fetch(remote, timeoutMs))
      .catch((error: Error) => ({ ok: false as const, reason: error.message, timedOut: false }))
      .then((outcome): RefreshOutcome => {
        const durationMs = this.now() - started
        if (outcome.ok) return { ok: true, durationMs }
        return { ok: false, durationMs, timedOut: outcome.timedOut, reason: oneLine(redactSecrets(outcome.reason, secrets)) }
      })
      .finally(() => this.refreshing.delete(remote.name))
    this.refreshing.set(remote.name, promise)
    return promise
  }

  private async fetch(remote: GateRemote, timeoutMs: number): Promise<{ ok: true } | { ok: false; reason: string; timedOut: boolean }> {
    await this.ensure(remote.name)
    const deadline = this.now() + timeoutMs
    const git = this.upstream(remote, timeoutMs)
    const fetched = await git.run(['fetch', '--quiet', '--prune', '--no-tags', '--no-write-fetch-head', '--no-recurse-submodules', remote.upstream.url, ...FETCH_REFSPECS], {
      timeoutMs,
    })
    if (fetched.code !== 0 || fetched.timedOut) {
      return {
        ok: false,
        timedOut: fetched.timedOut,
        reason: fetched.timedOut ? `upstream did not answer within ${Math.round(timeoutMs / 1000)} s` : firstErrorLine(fetched.stderr) || `git fetch exited ${fetched.code}`,
      }
    }
    const head = await git.run(['symbolic-ref', '--quiet', 'HEAD'])
    const headRef = head.stdout.toString('utf8').trim()
    const resolves = headRef !== '' && (await git.run(['rev-parse', '--quiet', '--verify', `${headRef}^{commit}`])).code === 0
    if (!resolves) {
      const remaining = Math.max(1000, deadline - this.now())
      const listed = await git.run(['ls-remote', '--symref', remote.upstream.url, 'HEAD'], { timeoutMs: remaining })
      const target = /^ref: (refs\/heads\/\S+)\tHEAD$/m.exec(listed.stdout.toString('utf8'))?.[1]
      if (listed.code === 0 && target !== undefined && (await git.run(['check-ref-format', target])).code === 0) {
        await runGitOk(git, ['symbolic-ref', 'HEAD', target])
      }
    }
    return { ok: true }
  }
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory()
  } catch {
    return false
  }
}
