import { existsSync } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { execa } from 'execa'
import type { Logger } from 'pino'
import { digest } from '../spec-hash.js'
import type { SpecSnapshot, SpecSource } from './spec-source.js'
import type { LogFields } from '../../log-events.js'

export interface GitSourceLocation {
  /** What git clones: an ssh or https URL, or a local repository path. */
  url: string
  branch: string
  /** Folder inside the repository holding the specs ('' for the top). */
  subdir: string
}

/**
 * Parses `git+ssh://git@host/specs.git#main`, `https://host/specs.git#main:clusters/dev`
 * or `/srv/specs.git#main`. The branch defaults to main.
 */
export function parseGitSource(text: string): GitSourceLocation {
  const hash = text.indexOf('#')
  const base = hash < 0 ? text : text.slice(0, hash)
  const fragment = hash < 0 ? '' : text.slice(hash + 1)
  const [branch, ...rest] = fragment.split(':')
  const subdir = rest.join(':').replace(/^\/+|\/+$/g, '')
  let url = base.startsWith('git+') ? base.slice('git+'.length) : base
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) url = resolve(url)
  if (!url) throw new Error(`${text}: no repository URL`)
  if (subdir.split('/').includes('..')) throw new Error(`${text}: the folder inside the repository must not contain ".."`)
  const ref = branch || 'main'
  if (!/^[A-Za-z0-9._/-]+$/.test(ref) || ref.startsWith('-')) throw new Error(`${text}: "${ref}" is not a branch name`)
  return { url, branch: ref, subdir }
}

/**
 * A git repository the controller clones and polls, so committing specs is
 * enough to change what runs. Status files are written into the checkout
 * (untracked, never pushed). A failed fetch keeps the last good checkout:
 * an unreachable remote never tears anything down.
 */
export class GitRemoteSource implements SpecSource {
  private snapshot: SpecSnapshot | undefined
  private timer: NodeJS.Timeout | undefined
  private polling = false
  readonly checkout: string

  constructor(
    private readonly location: GitSourceLocation,
    cacheDir: string,
    private readonly intervalMs: number,
    private readonly log: Logger,
  ) {
    this.checkout = join(cacheDir, digest(`${location.url}#${location.branch}`, 16))
  }

  get description(): string {
    return `git ${this.location.url}#${this.location.branch}${this.location.subdir ? `:${this.location.subdir}` : ''}`
  }

  async start(onChange: () => void): Promise<SpecSnapshot> {
    const { url, branch } = this.location
    if (!existsSync(join(this.checkout, '.git'))) {
      await mkdir(this.checkout, { recursive: true, mode: 0o700 })
      await this.git(['clone', '--quiet', '--branch', branch, '--single-branch', '--', url, this.checkout], process.cwd())
    } else {
      await this.fetchAndCheckout()
    }
    this.snapshot = { root: join(this.checkout, this.location.subdir), revision: await this.head() }
    this.log.info({ event: 'source.ready', source: this.description, revision: this.snapshot.revision } satisfies LogFields, 'spec source ready')
    this.timer = setInterval(() => void this.poll(onChange), this.intervalMs)
    this.timer.unref()
    return this.snapshot
  }

  current(): SpecSnapshot {
    if (!this.snapshot) throw new Error('source not started')
    return this.snapshot
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer)
    this.timer = undefined
  }

  /** Fetches now; calls onChange when the branch moved. Exposed for tests and `bottle controller --once`. */
  async poll(onChange: () => void): Promise<void> {
    if (this.polling) return
    this.polling = true
    try {
      await this.fetchAndCheckout()
      const revision = await this.head()
      if (revision !== this.snapshot?.revision) {
        this.log.info({ event: 'source.changed', source: this.description, from: this.snapshot?.revision, to: revision } satisfies LogFields, 'spec repository moved')
        this.snapshot = { root: join(this.checkout, this.location.subdir), revision }
        onChange()
      }
    } catch (err) {
      this.log.warn({ event: 'source.fetch-failed', source: this.description, err: (err as Error).message.split('\n')[0] } satisfies LogFields, 'fetch failed; keeping the last checkout')
    } finally {
      this.polling = false
    }
  }

  private async fetchAndCheckout(): Promise<void> {
    await this.git(['fetch', '--quiet', '--prune', 'origin', `+refs/heads/${this.location.branch}:refs/remotes/origin/${this.location.branch}`])
    // reset --hard leaves untracked files alone: the status files the controller wrote survive.
    await this.git(['reset', '--quiet', '--hard', `refs/remotes/origin/${this.location.branch}`])
  }

  private async head(): Promise<string> {
    return (await this.git(['rev-parse', 'HEAD'])).trim()
  }

  private async git(args: string[], cwd = this.checkout): Promise<string> {
    const result = await execa('git', args, { cwd, env: { GIT_TERMINAL_PROMPT: '0' }, timeout: 120_000 })
    return result.stdout
  }
}
