import { mkdir, readdir } from 'node:fs/promises'
import { join, relative, sep } from 'node:path'
import { watch, type FSWatcher } from 'chokidar'
import type { Logger } from 'pino'
import { ProposalIntake } from '../proposals/proposal-intake.js'
import { notifyUrls, proposalNotice, ProposalNotifier } from '../proposals/proposal-notifier.js'
import type { RuntimeDriver } from '../runtime/driver.js'
import type { DriverRegistry } from '../runtime/driver-registry.js'
import type { ImageStore } from '../runtime/images.js'
import type { Proposal } from '../spec/generated/spec-types.js'
import { loadSpecTree, type SpecTree } from '../spec/load-spec-tree.js'
import type { SpecSource } from '../spec/sources/spec-source.js'
import { bottleStatus } from '../status/bottle-status.js'
import { StatusWriter } from '../status/status-writer.js'
import { AgentReconciler } from './agent-reconciler.js'
import { ControllerMetrics } from './controller-metrics.js'
import { bundleLogsOf } from './bundle-log-follower.js'
import { DenialDrafting } from './denial-drafting.js'
import type { ReconcileResult } from './reconcile-result.js'
import { SharedObservation } from './shared-observation.js'
import { SpecStore } from './spec-store.js'
import { StatusBook } from './status-book.js'
import { WorkQueue } from './work-queue.js'
import type { LogFields } from '../log-events.js'

export interface ControllerOptions {
  source: SpecSource
  /** The driver of each runtime; an Agent's `spec.runtime` picks one. */
  drivers: DriverRegistry
  images: ImageStore
  /** `<state>/<instance>`. */
  stateDir: string
  bundleUser: string
  env: NodeJS.ProcessEnv
  log: Logger
  /** Reconciles running at once, across Agents. */
  concurrency?: number
  /** Every Agent is reconciled at least this often, whatever happens. */
  resyncMs?: number
  baseBackoffMs?: number
  maxBackoffMs?: number
  /** Extra CA certificates (PEM) the bundles' egress trusts for origins. */
  upstreamCaCerts?: readonly string[]
  /** Webhooks every new proposal is posted to (`--notify`), besides its Bottle's `notify.url`. */
  notify?: readonly string[]
}

/** How often agents' proposal requests are taken and their decisions rewritten. */
const PROPOSAL_SYNC_MS = 1000

/**
 * The controller: keeps every Agent of the specs running as specified. Work
 * comes from four places: spec changes (coalesced by the source), part
 * events of every available driver (a part died or was removed), a periodic resync, and retries. All
 * of them only add an Agent's name to the queue; the reconciler reads the
 * world itself.
 */
export class Controller {
  readonly metrics = new ControllerMetrics()
  private specs: SpecStore | undefined
  private book: StatusBook | undefined
  private queue: WorkQueue | undefined
  private reconciler: AgentReconciler | undefined
  private readonly abort = new AbortController()
  private resyncTimer: NodeJS.Timeout | undefined
  private proposals: { intake: ProposalIntake; drafting: DenialDrafting; notifier: ProposalNotifier; timer: NodeJS.Timeout } | undefined
  private readonly secretValues = new Set<string>()
  private readonly observation: SharedObservation
  private loading: Promise<void> = Promise.resolve()
  /** Spec loads begun since start, and who waits for one that begins after a mark. */
  private loadsBegun = 0
  private loadWaiters: { after: number; resolve: () => void }[] = []
  private reportWatcher: FSWatcher | undefined
  private started = false

  constructor(private readonly options: ControllerOptions) {
    this.observation = new SharedObservation(options.drivers)
  }

  get tree(): SpecTree | undefined {
    return this.specs?.tree
  }

  get ready(): boolean {
    return this.started
  }

  async start(): Promise<void> {
    const { log, source } = this.options
    const snapshot = await source.start(() => this.onSpecChange())
    const tree = await loadSpecTree(snapshot.root, snapshot.revision ? { revision: snapshot.revision } : {})
    this.logTree(tree)
    this.specs = new SpecStore(tree)
    this.book = new StatusBook(new StatusWriter(snapshot.root, () => this.secretValues), tree)
    await this.book.load()
    this.reconciler = new AgentReconciler({
      specs: this.specs,
      drivers: this.options.drivers,
      observation: this.observation,
      images: this.options.images,
      stateDir: this.options.stateDir,
      bundleUser: this.options.bundleUser,
      env: this.options.env,
      statuses: this.book,
      log,
      ...(this.options.upstreamCaCerts ? { upstreamCaCerts: this.options.upstreamCaCerts } : {}),
      onSecrets: (values) => {
        for (const v of values) this.secretValues.add(v)
      },
    })
    this.queue = new WorkQueue({
      concurrency: this.options.concurrency ?? 4,
      baseBackoffMs: this.options.baseBackoffMs ?? 1000,
      maxBackoffMs: this.options.maxBackoffMs ?? 60_000,
      handler: (agent) => this.reconcileOne(agent),
      log,
      onResult: (_agent, result, ms) => this.metrics.recordReconcile(result.outcome, ms),
    })
    await this.writeBottleStatuses()
    // A driver that becomes available later is caught by the resync, which reconciles every Agent anyway.
    for (const { driver } of await this.options.drivers.available()) void this.followEvents(driver)
    await this.watchBundleReports()
    const resync = this.options.resyncMs ?? 30_000
    this.resyncTimer = setInterval(() => void this.enqueueAll('resync'), resync)
    this.resyncTimer.unref()
    // Agents' route proposals: filed into proposals/ and answered, once a second.
    // New proposals, the agents' own and drafts from refusals, are posted to the webhooks.
    const notifier = new ProposalNotifier({ log })
    const onFiled = (proposal: Proposal, file: string) => notifier.notify(proposalNotice(proposal, file, snapshot.root), notifyUrls(proposal, this.specs!.tree, this.options.notify ?? []))
    const intake = new ProposalIntake({ specRoot: snapshot.root, stateDir: this.options.stateDir, log, onFiled })
    const drafting = new DenialDrafting({ bundleLogs: bundleLogsOf(this.options.drivers), specRoot: snapshot.root, log, knownSecrets: () => [...this.secretValues], onFiled })
    this.proposals = { intake, drafting, notifier, timer: setInterval(() => void this.syncProposals(), PROPOSAL_SYNC_MS) }
    this.proposals.timer.unref()
    await this.enqueueAll('start')
    this.started = true
    const drivers = (await this.options.drivers.available()).map((d) => `${d.runtime}=${d.driver.kind}`)
    log.info({ event: 'controller.started', source: source.description, drivers, agents: tree.agents.size, resyncMs: resync } satisfies LogFields, 'controller started')
  }

  async stop(): Promise<void> {
    this.abort.abort()
    await this.reportWatcher?.close()
    if (this.resyncTimer) clearInterval(this.resyncTimer)
    if (this.proposals) {
      clearInterval(this.proposals.timer)
      this.proposals.drafting.stop()
      this.proposals.notifier.stop()
    }
    await this.options.source.stop()
    await this.loading
    await this.queue?.stop()
    this.options.log.info({ event: 'controller.stopped' } satisfies LogFields, 'controller stopped')
  }

  /** Resolves when no reconcile is queued or running (pending retries may remain). Tests and `--once` use it. */
  async idle(): Promise<void> {
    await this.loading
    await this.queue?.idle()
  }

  /**
   * Resolves once a spec load that begins after this call has finished and
   * queued its reconciles: a change made to the source before the call is
   * then in the specs. Tests wait on it instead of on the watcher's debounce.
   */
  nextSpecLoad(): Promise<void> {
    const after = this.loadsBegun
    return new Promise((resolve) => this.loadWaiters.push({ after, resolve }))
  }

  private loadFinished(seq: number): void {
    const waiting = this.loadWaiters
    this.loadWaiters = waiting.filter((w) => w.after >= seq)
    for (const w of waiting) if (w.after < seq) w.resolve()
  }

  /** Reloads specs from the source now, as a change would. */
  async reload(): Promise<void> {
    this.onSpecChange()
    await this.loading
  }

  private async syncProposals(): Promise<void> {
    try {
      await this.proposals?.intake.sync(this.specs!.tree.agents.values())
      await this.proposals?.drafting.sync(this.specs!.tree.agents)
    } catch (err) {
      this.options.log.error({ event: 'proposals.intake-failed', err: (err as Error).message } satisfies LogFields, 'proposal intake failed')
    }
  }

  enqueue(agent: string): void {
    this.queue?.add(agent)
  }

  private onSpecChange(): void {
    this.loading = this.loading.then(async () => {
      const seq = ++this.loadsBegun
      const snapshot = this.options.source.current()
      try {
        const tree = await loadSpecTree(snapshot.root, snapshot.revision ? { revision: snapshot.revision } : {})
        this.logTree(tree)
        this.specs!.update(tree)
        this.book!.updateTree(tree)
        await this.writeBottleStatuses()
        await this.book!.sweep()
        await this.enqueueAll('spec-change')
      } catch (err) {
        // The folder vanished or cannot be listed: keep the last tree, tear nothing down.
        this.options.log.error({ event: 'specs.load-failed', err: (err as Error).message } satisfies LogFields, 'cannot load specs; keeping the last good ones')
      } finally {
        this.loadFinished(seq)
      }
    })
  }

  private async reconcileOne(agent: string): Promise<ReconcileResult> {
    const result = await this.reconciler!.reconcile(agent)
    this.metrics.setMutations(this.options.drivers.mutations)
    return result
  }

  /** Every Agent the specs name, the engine runs, or the state folder remembers: all get a reconcile. */
  private async enqueueAll(reason: string): Promise<void> {
    const names = this.specs!.agentNames()
    try {
      for (const placed of await this.observation.observe()) names.add(placed.observed.agent)
    } catch (err) {
      this.options.log.warn({ event: 'observe.failed', err: (err as Error).message } satisfies LogFields, 'cannot observe the drivers; reconciling known agents only')
    }
    for (const name of await readdir(join(this.options.stateDir, 'agents')).catch(() => [] as string[])) names.add(name)
    this.options.log.debug({ event: 'enqueue', reason, agents: names.size } satisfies LogFields, 'queueing agents')
    for (const name of names) this.queue!.add(name)
    this.metrics.setQueueDepth(this.queue!.length)
  }

  private async followEvents(driver: RuntimeDriver): Promise<void> {
    const log = this.options.log.child({ driver: driver.kind })
    while (!this.abort.signal.aborted) {
      try {
        for await (const event of driver.events(this.abort.signal)) {
          this.observation.invalidate()
          log.debug({ event: 'part.event', agent: event.agent, part: event.part, kind: event.kind } satisfies LogFields, 'part event')
          if (event.kind === 'die' || event.kind === 'destroy' || event.kind === 'oom' || event.kind === 'stop' || event.kind === 'kill') this.queue?.add(event.agent)
        }
      } catch (err) {
        if (this.abort.signal.aborted) return
        log.warn({ event: 'part.events-lost', err: (err as Error).message } satisfies LogFields, 'part event stream ended; reconnecting')
        await new Promise((r) => setTimeout(r, 2000).unref())
        // Whatever happened while the stream was down is caught by reconciling everything.
        await this.enqueueAll('events-reconnect').catch(() => undefined)
      }
    }
  }

  /**
   * The bundle's daemons report what they run (egress: the routes it
   * enforces) into the Agent's state folder. A report is a reason to look at
   * the Agent again at once, so status follows the bundle without polling.
   */
  private async watchBundleReports(): Promise<void> {
    const agents = join(this.options.stateDir, 'agents')
    await mkdir(agents, { recursive: true, mode: 0o700 })
    const watcher = watch(agents, { ignoreInitial: true, depth: 4, ignored: (path: string) => /\.tmp$|\/\.[^/]*$/.test(path) })
    watcher.on('all', (_event: string, path: string) => {
      const rel = relative(agents, path).split(sep)
      if (rel.length >= 3 && rel[1] === 'sidecars-state') {
        this.observation.invalidate()
        this.queue?.add(rel[0]!)
      }
    })
    await new Promise<void>((resolve) => watcher.once('ready', () => resolve()))
    this.reportWatcher = watcher
  }

  private async writeBottleStatuses(): Promise<void> {
    const tree = this.specs!.tree
    const now = new Date().toISOString()
    for (const file of tree.files) {
      for (const ref of file.objects) {
        if (ref.kind !== 'Bottle') continue
        const invalid = tree.invalid.get(`Bottle/${ref.name}`)
        if (!invalid && tree.bottles.get(ref.name)?.file !== file.path) continue
        const status = bottleStatus({ tree, name: ref.name, errors: invalid?.errors ?? [], now, previous: this.book!.previousOf('Bottle', ref.name) })
        await this.book!.setBottle(ref.name, file.path, status)
      }
    }
  }

  private logTree(tree: SpecTree): void {
    this.options.log.info(
      { event: 'specs.loaded', files: tree.files.length, bottles: tree.bottles.size, agents: tree.agents.size, errors: tree.errors.length, ...(tree.revision ? { revision: tree.revision } : {}) } satisfies LogFields,
      'specs loaded',
    )
    for (const error of tree.errors.slice(0, 20)) {
      this.options.log.warn({ event: 'spec.invalid', file: error.file, line: error.line, column: error.column, code: error.code, object: error.object, message: error.message } satisfies LogFields, 'invalid spec')
    }
  }
}
