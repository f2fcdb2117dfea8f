/**
 * The Agent reconciler: desired state (specs, secrets, images) against what
 * the Agent's driver observes, planned by a pure function and applied one
 * idempotent action at a time; status is written on every exit.
 *
 * A route edit, end to end: the Bottle file changes; the controller reloads
 * the spec tree and queues every Agent of that Bottle; here the gathered
 * desired state renders a new egress config, the plan sees only that file
 * differ (class `hot`), writes it atomically into the Agent's config folder
 * and signals the bundle (SIGHUP, no restart); egress reloads and reports
 * the digest of the config it enforces; the next reconcile compares that
 * digest with what it wrote and sets RoutesApplied. The file side of that
 * exchange is sidecars/shared/bundle-contract.ts.
 */
import { randomBytes } from 'node:crypto'
import { homedir } from 'node:os'
import { join } from 'node:path'
import type { Logger } from 'pino'
import { configDigest, EGRESS_CONFIG_PATH } from '../../sidecars/shared/bundle-contract.js'
import { agentLayout, type AgentLayout } from '../plan/agent-layout.js'
import { bundleUrl } from '../plan/bundle-services.js'
import type { DesiredAgent } from '../plan/desired-agent.js'
import { planAgent, type PlanAction } from '../plan/plan-agent.js'
import type { ObservedAgent, RuntimeDriver } from '../runtime/driver.js'
import type { DriverRegistry, PlacedAgent } from '../runtime/driver-registry.js'
import type { ImageRequest, ImageStore } from '../runtime/images.js'
import type { ResolvedAgent } from '../spec/load-spec-tree.js'
import { computeAgentStatus, pruneFailedStatus, type AgentFacts } from '../status/agent-status.js'
import type { EventReason } from '../status/event-reasons.js'
import type { ObjectStatus, StatusEvent } from '../status/status-types.js'
import { AgentState } from './agent-state.js'
import type { ReconcileResult } from './reconcile-result.js'
import { gatherDesired } from './gather-desired.js'
import type { SharedObservation } from './shared-observation.js'
import { formatErrors, type AgentSpecState, type SpecStore } from './spec-store.js'
import type { LogFields } from '../log-events.js'

/** Where reconciles report an Agent's status; the controller groups them per spec file. */
export interface AgentStatusSink {
  previous(agent: string): ObjectStatus | undefined
  set(agent: string, file: string, status: ObjectStatus): Promise<void>
  /** The Agent is gone from the specs and pruned. */
  forget(agent: string): Promise<void>
}

export interface AgentReconcilerDeps {
  specs: SpecStore
  /** The driver of each runtime; an Agent's `spec.runtime` picks one. */
  drivers: DriverRegistry
  observation: SharedObservation
  images: ImageStore
  /** `<state>/<instance>`: holds agents/<name>/ for every Agent. */
  stateDir: string
  /** uid:gid the bundle runs as (the controller's own). */
  bundleUser: string
  /** Where secret references of kind env are read. */
  env: NodeJS.ProcessEnv
  statuses: AgentStatusSink
  log: Logger
  /** Extra CA certificates (PEM) every bundle's egress trusts for origins (corporate TLS inspection, private CAs). */
  upstreamCaCerts?: readonly string[]
  /** Known secret values, for redaction backstops elsewhere. */
  onSecrets?: (values: Iterable<string>) => void
  now?: () => Date
}

/** How often to look again while the bundle has not loaded a config yet (its report also wakes the controller at once). */
const ROUTES_POLL_MS = 2000
/** How often to look again for a secret that is not there (a file may appear). */
const SECRET_POLL_MS = 30_000

/**
 * Reconciles one Agent: reads the specs and the engine, plans, acts, and
 * reports. Level-triggered: it is given a name, never an event, and it is
 * safe to run at any time, any number of times.
 */
export class AgentReconciler {
  constructor(private readonly deps: AgentReconcilerDeps) {}

  async reconcile(name: string): Promise<ReconcileResult> {
    const log = this.deps.log.child({ agent: name, reconcileId: randomBytes(4).toString('hex') })
    const layout = agentLayout(this.deps.stateDir, name)
    const state = new AgentState(layout)
    let spec: AgentSpecState | undefined
    let lastFile: string | undefined
    try {
      const applied = await state.readApplied()
      lastFile = applied?.specFile
      spec = this.deps.specs.agentState(name, lastFile)
      const placements = await this.deps.observation.observeAgent(name)

      switch (spec.kind) {
        case 'absent':
          return await this.prune(name, placements, state, log)
        case 'invalid':
        case 'unreadable': {
          const errors = formatErrors(spec.errors)
          log.info({ event: 'reconcile.skipped', reason: spec.kind === 'invalid' ? 'SpecInvalid' : 'SpecUnreadable', file: spec.file, errors: errors.length } satisfies LogFields, 'spec not usable; leaving the agent as it is')
          await this.report(name, spec.file, { specErrors: errors.length ? errors : [`${spec.file}: cannot be read`], suspended: false, ...placedFacts(placements[0]), secretProblems: [], events: [] })
          return { outcome: 'terminal', reason: 'spec is not valid' }
        }
        case 'valid': {
          const choice = await this.deps.drivers.choose(spec.agent.bottle.spec.runtime)
          // A runtime change recreates the Agent on the new runtime; what ran elsewhere goes first (its workspace stays there).
          const events = await this.removeElsewhere(name, placements, choice.runtime, log)
          if (!choice.ok) {
            log.warn({ event: 'reconcile.refused', reason: 'RuntimeUnavailable', runtime: choice.runtime, message: choice.reason } satisfies LogFields, 'runtime not available; nothing started in its place')
            await this.report(name, spec.agent.file, { specErrors: [], specHash: spec.agent.hash, suspended: spec.agent.spec.suspend === true, runtimeUnavailable: choice.reason, secretProblems: [], events })
            // Terminal: nothing to retry until the spec or the host changes; every resync asks the registry again.
            return { outcome: 'terminal', reason: choice.reason }
          }
          const observed = placements.find((p) => p.runtime === choice.runtime)?.observed
          return await this.converge(spec.agent, choice.driver, observed, state, layout, log, events)
        }
      }
    } catch (err) {
      // Every exit writes status: a reconcile that threw would otherwise leave
      // the last status claiming what may no longer hold.
      const message = oneLine(err)
      log.error({ event: 'reconcile.failed', err: message } satisfies LogFields, 'reconcile failed')
      await this.reportFailure(name, spec, lastFile, message)
      return { outcome: 'retry', error: err instanceof Error ? err : new Error(message) }
    }
  }

  /** The status of a reconcile that failed outside converge's own error handling. */
  private async reportFailure(name: string, spec: AgentSpecState | undefined, lastFile: string | undefined, message: string): Promise<void> {
    if (spec?.kind === 'valid') {
      const { agent } = spec
      const placed = await this.deps.observation.observeAgent(name).catch(() => [])
      const chosen = await this.deps.drivers.choose(agent.bottle.spec.runtime).catch(() => undefined)
      const running = placed.find((p) => p.runtime === chosen?.runtime)
      await this.report(name, agent.file, { specErrors: [], specHash: agent.hash, suspended: agent.spec.suspend === true, ...placedFacts(running), error: message, secretProblems: [], events: [] })
      return
    }
    if (spec?.kind === 'invalid' || spec?.kind === 'unreadable') {
      const errors = formatErrors(spec.errors)
      await this.report(name, spec.file, { specErrors: errors.length ? errors : [`${spec.file}: cannot be read`], suspended: false, observed: undefined, error: message, secretProblems: [], events: [] })
      return
    }
    // The spec is gone (or unknown yet): the status it left says the prune did not finish.
    if (lastFile === undefined) return
    await this.deps.statuses.set(name, lastFile, pruneFailedStatus(this.deps.statuses.previous(name), message, this.now()))
  }

  /** Removes the Agent from every runtime but `runtime`; returns what it did, as status events. */
  private async removeElsewhere(name: string, placements: PlacedAgent[], runtime: string, log: Logger): Promise<StatusEvent[]> {
    const events: StatusEvent[] = []
    for (const placed of placements) {
      // A workspace left behind is kept, and is no reason to act on every reconcile.
      const left = Object.keys(placed.observed.parts).length > 0 || placed.observed.infrastructure.some((i) => i !== placed.observed.workspace)
      if (placed.runtime === runtime || !left) continue
      log.info({ event: 'action', action: 'remove-agent', class: 'prune', runtime: placed.runtime, reason: 'runtime changed' } satisfies LogFields, 'removing the agent from the runtime it no longer names (its workspace is kept there)')
      await placed.driver.removeAgent(name, { purgeWorkspace: false })
      events.push({ time: this.now(), type: 'Normal', reason: 'Pruned', message: `remove-agent from runtime ${placed.runtime} (runtime changed to ${runtime})` })
    }
    return events
  }

  private async prune(name: string, placements: PlacedAgent[], state: AgentState, log: Logger): Promise<ReconcileResult> {
    for (const placed of placements) {
      log.info({ event: 'action', action: 'remove-agent', class: 'prune', runtime: placed.runtime } satisfies LogFields, 'spec gone; pruning the agent (its workspace volume is kept)')
      await placed.driver.removeAgent(name, { purgeWorkspace: false })
    }
    const archived = await state.remove(join(this.deps.stateDir, 'archive', name, this.now().replace(/[:.]/g, '-')))
    if (archived) log.info({ event: 'sessions-archived', path: archived } satisfies LogFields, 'kept the agent\'s sessions and transcripts')
    await this.deps.statuses.forget(name)
    return { outcome: 'converged' }
  }

  private async converge(agent: ResolvedAgent, driver: RuntimeDriver, observed: ObservedAgent | undefined, state: AgentState, layout: AgentLayout, log: Logger, events: StatusEvent[]): Promise<ReconcileResult> {
    const observeAgain = async (): Promise<ObservedAgent | undefined> => (await this.deps.observation.observeAgent(agent.name)).find((p) => p.driver === driver)?.observed
    let desired: DesiredAgent | undefined
    let secretProblems: string[] = []
    try {
      const gathered = await gatherDesired(agent, {
        specRoot: this.deps.specs.tree.root,
        layout,
        images: this.deps.images,
        env: this.deps.env,
        homeDir: this.homeDir,
        bundleUser: this.deps.bundleUser,
        ...(this.deps.upstreamCaCerts ? { upstreamCaCerts: this.deps.upstreamCaCerts } : {}),
        caCertPem: () => state.ensureCertificateAuthority(agent.name),
        onSecrets: (values, problems) => {
          secretProblems = [...problems]
          this.deps.onSecrets?.(values.values())
        },
      })
      desired = gathered.desired
      const requests = gathered.imageRequests
      const wanted = desired

      const actions = planAgent(desired, observed, await state.observeFiles(desired.files))
      if (actions.length > 0) {
        if (actions.some((a) => a.kind === 'create-part')) await this.ensureImages(agent, driver, requests, desired, observed, log)
        for (const action of actions) {
          await this.apply(agent.name, action, driver, state, log, (line) => {
            log.info({ event: 'part.progress', line } satisfies LogFields, 'part progress')
            void this.report(agent.name, agent.file, { specErrors: [], specHash: agent.hash, suspended: wanted.suspended, driver: driver.kind, ...(observed ? { observed } : {}), secretProblems: [], events: [], desired: wanted, progress: line.slice(0, 160) })
          })
          events.push(eventFor(action, this.now()))
        }
        await state.writeApplied({
          agent: agent.name,
          specFile: agent.file,
          specHash: agent.hash,
          appliedAt: this.now(),
          parts: Object.fromEntries(Object.entries(desired.parts).map(([part, spec]) => [part, { hash: spec.hash, image: spec.image, env: spec.env }])),
        })
      } else if (!(await state.readApplied())) {
        // Adopted from an earlier controller without a record: remember where the spec lives.
        await state.writeApplied({ agent: agent.name, specFile: agent.file, specHash: agent.hash, appliedAt: this.now(), parts: {} })
      }
    } catch (err) {
      const message = oneLine(err)
      log.error({ event: 'reconcile.failed', err: message } satisfies LogFields, 'reconcile failed')
      const now = await observeAgain().catch(() => observed)
      await this.report(agent.name, agent.file, { specErrors: [], specHash: agent.hash, suspended: agent.spec.suspend === true, driver: driver.kind, ...(now ? { observed: now } : {}), error: message, secretProblems, events, ...(desired ? { desired } : {}) })
      return { outcome: 'retry', error: err instanceof Error ? err : new Error(message) }
    }

    const now = await observeAgain()
    const routes = await this.routesState(desired, state, now)
    await this.report(agent.name, agent.file, { specErrors: [], specHash: agent.hash, suspended: desired.suspended, driver: driver.kind, ...(now ? { observed: now } : {}), secretProblems, events, desired, routes })
    if (!desired.suspended && now?.parts.sidecars?.state === 'running' && !routes.applied && !routes.error) {
      return { outcome: 'waiting', requeueAfterMs: ROUTES_POLL_MS, reason: 'egress has not loaded the routes yet' }
    }
    if (secretProblems.length > 0) return { outcome: 'waiting', requeueAfterMs: SECRET_POLL_MS, reason: 'a secret is unavailable' }
    return { outcome: 'converged' }
  }

  /** Builds what a create needs, telling the user through status while it runs (the base image takes ~40 s). */
  private async ensureImages(agent: ResolvedAgent, driver: RuntimeDriver, requests: { agent: ImageRequest; sidecars: ImageRequest }, desired: DesiredAgent, observed: ObservedAgent | undefined, log: Logger): Promise<void> {
    let lastReport = 0
    for (const [label, request] of [['sidecars', requests.sidecars], ['agent', requests.agent]] as const) {
      const onProgress = (line: string) => {
        log.debug({ event: 'image.progress', image: label, line } satisfies LogFields, 'image build progress')
        if (Date.now() - lastReport < 2000) return
        lastReport = Date.now()
        void this.report(agent.name, agent.file, { specErrors: [], specHash: agent.hash, suspended: desired.suspended, driver: driver.kind, ...(observed ? { observed } : {}), secretProblems: [], events: [], desired, progress: `building the ${label} image: ${line.slice(0, 120)}` })
      }
      const ref = await this.deps.images.ensure(request, onProgress)
      log.info({ event: 'image.ready', image: label, ref } satisfies LogFields, 'image ready')
    }
  }

  private async apply(agent: string, action: PlanAction, driver: RuntimeDriver, state: AgentState, log: Logger, onProgress: (line: string) => void): Promise<void> {
    const fields = { event: 'action', action: action.kind, class: action.class, ...('part' in action ? { part: action.part } : {}), ...('reason' in action ? { reason: action.reason } : {}) } satisfies LogFields
    switch (action.kind) {
      case 'ensure-infrastructure':
        log.info(fields, 'creating networks and workspace')
        return driver.ensureInfrastructure(agent)
      case 'write-files':
        log.info({ ...fields, files: action.files.map((f) => f.path) }, 'writing generated files')
        return state.writeFiles(action.files)
      case 'reload-sidecars':
        log.info(fields, 'signalling the bundle to reload its config')
        return driver.signalPart(agent, 'sidecars', 'SIGHUP')
      case 'create-part':
        log.info({ ...fields, image: action.spec.image, hash: action.spec.hash }, 'creating part')
        return driver.createPart(agent, action.part, action.spec, { onProgress })
      case 'start-part':
        log.info(fields, 'starting part')
        return driver.startPart(agent, action.part, { onProgress })
      case 'stop-part':
        log.info(fields, 'stopping part')
        return driver.stopPart(agent, action.part)
      case 'remove-agent':
        log.info(fields, 'removing the agent')
        return driver.removeAgent(agent, { purgeWorkspace: false })
    }
  }

  /** Whether the bundle's egress runs the config the controller wrote, as the proxy itself reports it. */
  private async routesState(desired: DesiredAgent, state: AgentState, observed: ObservedAgent | undefined): Promise<NonNullable<AgentFacts['routes']>> {
    const wanted = desired.routes
    if (observed?.parts.sidecars?.state !== 'running') return { wanted, applied: false }
    const report = await state.readEgressApplied()
    const config = desired.files.find((f) => f.path === EGRESS_CONFIG_PATH)!
    // The proxy names the config it enforces by the same digest.
    const expected = configDigest(config.content)
    if (!report) return { wanted, applied: false }
    if (report.configHash === expected) return { wanted, applied: true, ...(report.appliedAt ? { appliedAt: report.appliedAt } : {}) }
    if (report.attemptedConfigHash === expected && report.error) return { wanted, applied: false, error: report.error }
    return { wanted, applied: false }
  }

  private async report(agent: string, file: string, facts: Omit<AgentFacts, 'now' | 'previous' | 'desiredHashes' | 'revision'> & { desired?: DesiredAgent }): Promise<void> {
    const { desired, ...rest } = facts
    const revision = this.deps.specs.tree.revision
    const status = computeAgentStatus({
      ...rest,
      now: this.now(),
      ...(revision ? { revision } : {}),
      ...(this.deps.statuses.previous(agent) ? { previous: this.deps.statuses.previous(agent)! } : {}),
      ...(desired ? { desiredHashes: { agent: desired.parts.agent.hash, sidecars: desired.parts.sidecars.hash }, endpoints: endpointsOf(desired) } : {}),
      ...(desired?.task ? { task: desired.task } : {}),
    })
    await this.deps.statuses.set(agent, file, status)
  }

  private get homeDir(): string {
    return this.deps.env.HOME ?? homedir()
  }

  private now(): string {
    return (this.deps.now?.() ?? new Date()).toISOString()
  }
}

function endpointsOf(desired: DesiredAgent): Record<string, string> {
  const out: Record<string, string> = { egress: bundleUrl('egress') }
  if (desired.daemons.includes('git-gate')) out.gitGate = bundleUrl('git-gate')
  if (desired.daemons.includes('supervise')) out.supervise = bundleUrl('supervise', '/mcp')
  return out
}

/** What status reports of where an Agent runs: the driver that observed it, and what it saw. */
function placedFacts(placed: PlacedAgent | undefined): Pick<AgentFacts, 'observed' | 'driver'> {
  return placed ? { observed: placed.observed, driver: placed.driver.kind } : {}
}

function eventFor(action: PlanAction, time: string): StatusEvent {
  const part = 'part' in action ? ` ${action.part}` : ''
  const why = 'reason' in action ? ` (${action.reason})` : ''
  const reasons: Record<PlanAction['kind'], EventReason> = {
    'ensure-infrastructure': 'InfrastructureCreated',
    'write-files': 'ConfigWritten',
    'reload-sidecars': 'ConfigReloaded',
    'create-part': 'Created',
    'start-part': 'Started',
    'stop-part': 'Stopped',
    'remove-agent': 'Pruned',
  }
  const files = action.kind === 'write-files' ? `: ${action.files.map((f) => f.path).join(', ')}` : ''
  return { time, type: 'Normal', reason: reasons[action.kind], message: `${action.kind}${part}${why}${files}` }
}

function oneLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err)
  return text.replace(/\s+/g, ' ').trim().slice(0, 500)
}
