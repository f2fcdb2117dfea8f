import { randomBytes } from 'node:crypto'
import { homedir } from 'node:os'
import { join } from 'node:path'
import type { Logger } from 'pino'
import { configDigest, EGRESS_CONFIG_PATH } from '../../sidecars/shared/bundle-contract.js'
import { agentLayout, type AgentLayout } from '../plan/agent-layout.js'
import { BUNDLE_PORTS, type DesiredAgent } from '../plan/desired-agent.js'
import { planAgent, type PlanAction } from '../plan/plan-agent.js'
import type { ObservedAgent, RuntimeDriver } from '../runtime/driver.js'
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
  driver: RuntimeDriver
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
      const observed = await this.deps.observation.observeAgent(name)

      switch (spec.kind) {
        case 'absent':
          return await this.prune(name, observed, state, log)
        case 'invalid':
        case 'unreadable': {
          const errors = formatErrors(spec.errors)
          log.info({ event: 'reconcile.skipped', reason: spec.kind === 'invalid' ? 'SpecInvalid' : 'SpecUnreadable', file: spec.file, errors: errors.length } satisfies LogFields, 'spec not usable; leaving the agent as it is')
          await this.report(name, spec.file, { specErrors: errors.length ? errors : [`${spec.file}: cannot be read`], suspended: false, observed, secretProblems: [], events: [] })
          return { outcome: 'terminal', reason: 'spec is not valid' }
        }
        case 'valid':
          return await this.converge(spec.agent, observed, state, layout, log)
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
      const observed = await this.deps.observation.observeAgent(name).catch(() => undefined)
      await this.report(name, agent.file, { specErrors: [], specHash: agent.hash, suspended: agent.spec.suspend === true, observed, error: message, secretProblems: [], events: [] })
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

  private async prune(name: string, observed: ObservedAgent | undefined, state: AgentState, log: Logger): Promise<ReconcileResult> {
    if (observed) {
      log.info({ event: 'action', action: 'remove-agent', class: 'prune' } satisfies LogFields, 'spec gone; pruning the agent (its workspace volume is kept)')
      await this.deps.driver.removeAgent(name, { purgeWorkspace: false })
    }
    const archived = await state.remove(join(this.deps.stateDir, 'archive', name, this.now().replace(/[:.]/g, '-')))
    if (archived) log.info({ event: 'sessions-archived', path: archived } satisfies LogFields, 'kept the agent\'s sessions and transcripts')
    await this.deps.statuses.forget(name)
    return { outcome: 'converged' }
  }

  private async converge(agent: ResolvedAgent, observed: ObservedAgent | undefined, state: AgentState, layout: AgentLayout, log: Logger): Promise<ReconcileResult> {
    const events: StatusEvent[] = []
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

      const actions = planAgent(desired, observed, await state.observeFiles(desired.files))
      if (actions.length > 0) {
        if (actions.some((a) => a.kind === 'create-part')) await this.ensureImages(agent, requests, desired, observed, log)
        for (const action of actions) {
          await this.apply(agent.name, action, state, log)
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
      const now = await this.deps.observation.observeAgent(agent.name).catch(() => observed)
      await this.report(agent.name, agent.file, { specErrors: [], specHash: agent.hash, suspended: agent.spec.suspend === true, observed: now, error: message, secretProblems, events, ...(desired ? { desired } : {}) })
      return { outcome: 'retry', error: err instanceof Error ? err : new Error(message) }
    }

    const now = await this.deps.observation.observeAgent(agent.name)
    const routes = await this.routesState(desired, state, now)
    await this.report(agent.name, agent.file, { specErrors: [], specHash: agent.hash, suspended: desired.suspended, observed: now, secretProblems, events, desired, routes })
    if (!desired.suspended && now?.parts.sidecars?.state === 'running' && !routes.applied && !routes.error) {
      return { outcome: 'waiting', requeueAfterMs: ROUTES_POLL_MS, reason: 'egress has not loaded the routes yet' }
    }
    if (secretProblems.length > 0) return { outcome: 'waiting', requeueAfterMs: SECRET_POLL_MS, reason: 'a secret is unavailable' }
    return { outcome: 'converged' }
  }

  /** Builds what a create needs, telling the user through status while it runs (the base image takes ~40 s). */
  private async ensureImages(agent: ResolvedAgent, requests: { agent: ImageRequest; sidecars: ImageRequest }, desired: DesiredAgent, observed: ObservedAgent | undefined, log: Logger): Promise<void> {
    let lastReport = 0
    for (const [label, request] of [['sidecars', requests.sidecars], ['agent', requests.agent]] as const) {
      const onProgress = (line: string) => {
        log.debug({ event: 'image.progress', image: label, line } satisfies LogFields, 'image build progress')
        if (Date.now() - lastReport < 2000) return
        lastReport = Date.now()
        void this.report(agent.name, agent.file, { specErrors: [], specHash: agent.hash, suspended: desired.suspended, observed, secretProblems: [], events: [], desired, progress: `building the ${label} image: ${line.slice(0, 120)}` })
      }
      const ref = await this.deps.images.ensure(request, onProgress)
      log.info({ event: 'image.ready', image: label, ref } satisfies LogFields, 'image ready')
    }
  }

  private async apply(agent: string, action: PlanAction, state: AgentState, log: Logger): Promise<void> {
    const { driver } = this.deps
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
        return driver.createPart(agent, action.part, action.spec)
      case 'start-part':
        log.info(fields, 'starting part')
        return driver.startPart(agent, action.part)
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

  private async report(agent: string, file: string, facts: Omit<AgentFacts, 'now' | 'driver' | 'previous' | 'desiredHashes' | 'revision'> & { desired?: DesiredAgent }): Promise<void> {
    const { desired, ...rest } = facts
    const revision = this.deps.specs.tree.revision
    const status = computeAgentStatus({
      ...rest,
      now: this.now(),
      driver: this.deps.driver.kind,
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
  const out: Record<string, string> = { egress: `http://egress:${BUNDLE_PORTS.egress}` }
  if (desired.daemons.includes('git-gate')) out.gitGate = `http://git-gate:${BUNDLE_PORTS['git-gate']}`
  if (desired.daemons.includes('supervise')) out.supervise = `http://supervise:${BUNDLE_PORTS.supervise}/mcp`
  return out
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
