/**
 * What the dashboard shows, kept current without polling: the spec folder
 * and its status files (chokidar: the controller rewrites a status file
 * only when something changed, and files a proposal as a file), and each
 * agent's bundle decisions (the driver's log stream, as `bottle logs
 * --sidecar` reads it). Every change calls `onChange`, at most once per
 * `coalesceMs`.
 */
import { resolve } from 'node:path'
import { watch, type FSWatcher } from 'chokidar'
import type { Logger } from 'pino'
import { approveProposal, ProposalDecisionError } from '../../proposals/decide-proposal.js'
import { phaseOf } from '../../proposals/proposal-files.js'
import { BundleLogFollower, type BundleLogs } from '../../reconcile/bundle-log-follower.js'
import type { Proposal } from '../../spec/generated/spec-types.js'
import { loadSpecTree, type SpecTree } from '../../spec/load-spec-tree.js'
import { listObjects, type ListedObject } from '../commands/get.js'
import { formatAge } from '../output.js'
import type { AgentRow, PendingProposal } from './dashboard-model.js'
import { parseDecision, type FeedLine } from './decision-feed.js'

export interface DashboardDataOptions {
  dir: string
  bundleLogs: BundleLogs
  log: Logger
  onChange: () => void
  /** Decisions kept per agent. */
  feedLimit?: number
  coalesceMs?: number
}

export class DashboardData {
  agents: AgentRow[] = []
  proposals: PendingProposal[] = []
  readonly feeds = new Map<string, FeedLine[]>()
  /** Set when the folder cannot be loaded; the last good rows stay. */
  error: string | undefined
  readonly #root: string
  #watcher: FSWatcher | undefined
  readonly #follower: BundleLogFollower
  #reloading: Promise<void> = Promise.resolve()
  #reloadTimer: NodeJS.Timeout | undefined
  #changeTimer: NodeJS.Timeout | undefined
  #stopped = false

  constructor(private readonly options: DashboardDataOptions) {
    this.#root = resolve(options.dir)
    this.#follower = new BundleLogFollower({
      logs: options.bundleLogs,
      log: options.log,
      initialTail: 50,
      onLine: (agent, line) => this.#onLogLine(agent, line),
    })
  }

  async start(): Promise<void> {
    await this.reload()
    const root = this.#root
    this.#watcher = watch(root, { ignoreInitial: true, ignored: (p: string) => /(^|\/)(\.|node_modules)/.test(p.slice(root.length)) })
    this.#watcher.on('all', () => this.#scheduleReload())
    await new Promise<void>((r) => this.#watcher!.once('ready', () => r()))
  }

  stop(): void {
    this.#stopped = true
    this.#follower.stop()
    void this.#watcher?.close()
    if (this.#reloadTimer) clearTimeout(this.#reloadTimer)
    if (this.#changeTimer) clearTimeout(this.#changeTimer)
  }

  /** Reads the folder again now (after an approve, a reject). */
  reload(): Promise<void> {
    this.#reloading = this.#reloading.then(() => this.#load()).catch((error: unknown) => {
      this.error = error instanceof Error ? error.message : String(error)
    })
    return this.#reloading
  }

  async #load(): Promise<void> {
    const tree = await loadSpecTree(this.#root)
    const objects = await listObjects(tree)
    this.agents = agentRows(objects, tree)
    this.proposals = await pendingProposals(tree, this.#root)
    this.error = undefined
    if (!this.#stopped) this.#follower.follow(this.agents.map((a) => a.name))
    this.#changed()
  }

  #scheduleReload(): void {
    if (this.#reloadTimer) clearTimeout(this.#reloadTimer)
    this.#reloadTimer = setTimeout(() => void this.reload(), 50)
  }

  #onLogLine(agent: string, line: string): void {
    const decision = parseDecision(line, Date.now())
    if (!decision) return
    let feed = this.feeds.get(agent)
    if (!feed) this.feeds.set(agent, (feed = []))
    feed.push(decision)
    const limit = this.options.feedLimit ?? 200
    if (feed.length > limit) feed.splice(0, feed.length - limit)
    this.#changed()
  }

  #changed(): void {
    if (this.#changeTimer || this.#stopped) return
    this.#changeTimer = setTimeout(() => {
      this.#changeTimer = undefined
      this.options.onChange()
    }, this.options.coalesceMs ?? 30)
  }
}

/** The table's rows, as `bottle get agents` computes its columns, plus the runtime. */
export function agentRows(objects: readonly ListedObject[], tree: SpecTree): AgentRow[] {
  return objects
    .filter((o) => o.kind === 'Agent')
    .map((o) => {
      const ready = o.status?.conditions?.find((c) => c.type === 'Ready')
      const resolved = tree.agents.get(o.name)
      return {
        name: o.name,
        bottle: String(o.spec.bottle ?? '-'),
        runtime: o.status?.runtime?.driver ?? resolved?.bottle.spec.runtime ?? 'docker',
        phase: o.status?.phase ?? (o.valid ? 'Pending' : 'Invalid'),
        ready: ready?.status ?? '-',
        age: formatAge(ready?.lastTransitionTime),
      }
    })
}

/** Pending proposals, oldest first, each with the diff approving it would make (nothing is written). */
async function pendingProposals(tree: SpecTree, dir: string): Promise<PendingProposal[]> {
  const pending = [...tree.proposals.values()].map((p) => p.value).filter((p) => phaseOf(p) === 'Pending')
  pending.sort((a, b) => (a.metadata.creationTimestamp ?? '').localeCompare(b.metadata.creationTimestamp ?? '') || a.metadata.name.localeCompare(b.metadata.name))
  const out: PendingProposal[] = []
  for (const proposal of pending) {
    let preview: PendingProposal['preview']
    try {
      preview = { diff: (await approveProposal({ dir, id: proposal.metadata.name, dryRun: true })).diff }
    } catch (error) {
      preview = { error: error instanceof ProposalDecisionError ? error.message : `cannot preview: ${error instanceof Error ? error.message : String(error)}` }
    }
    out.push({ name: proposal.metadata.name, agent: proposal.spec.agent, host: proposal.spec.route.host, source: proposal.spec.source ?? 'agent', summary: summary(proposal), preview })
  }
  return out
}

function summary(proposal: Proposal): string {
  const d = proposal.spec.denials
  if (proposal.spec.source === 'denial' && d) return `refused ${d.count}x, last ${d.lastSeen.slice(11, 19)}${d.samplePaths?.length ? ` e.g. ${d.samplePaths[0]}` : ''}`
  const paths = proposal.spec.route.paths?.length ? ` ${proposal.spec.route.paths.join(',')}` : ''
  return `${paths ? `${paths.trim()}: ` : ''}${proposal.spec.reason.replace(/\s+/g, ' ')}`
}
