import { randomBytes } from 'node:crypto'
import {
  DriverError,
  PART_NAMES,
  type ExecOptions,
  type ExecResult,
  type LogOptions,
  type ObservedAgent,
  type ObservedPart,
  type PartName,
  type PartSpec,
  type RemoveOptions,
  type RuntimeDriver,
  type RuntimeEvent,
} from '../driver.js'
import type { InteractiveSession, SessionOptions } from '../interactive-session.js'
import { FakeSession } from './fake-session.js'

interface FakePart {
  id: string
  spec: PartSpec
  state: ObservedPart['state']
  startedAt?: string
  finishedAt?: string
  exitCode?: number
  restartCount?: number
  signals: NodeJS.Signals[]
  logs: string[]
}

interface FakeAgent {
  infrastructure: boolean
  workspace: boolean
  parts: Partial<Record<PartName, FakePart>>
}

export type FakeExecHandler = (agent: string, part: PartName, argv: string[], options: ExecOptions) => ExecResult

/**
 * An in-memory runtime for unit tests: it behaves like an engine (objects
 * persist until removed, parts can be broken from outside) and records every
 * mutating call, so tests can assert what a reconcile did and did not do.
 */
export class FakeDriver implements RuntimeDriver {
  readonly kind = 'fake'
  readonly calls: string[] = []
  private readonly agents = new Map<string, FakeAgent>()
  private readonly listeners = new Set<(e: RuntimeEvent) => void>()
  private clock = 0
  /** Set to make the next mutating calls fail, one per entry, in order (`createPart`, ...). */
  readonly failNext: string[] = []
  execHandler: FakeExecHandler = () => ({ exitCode: 0, stdout: '', stderr: '' })
  /** Runs after each successful mutating call, like a daemon reacting to being started or signalled. */
  afterMutation: ((op: string, agent: string, part?: PartName) => void | Promise<void>) | undefined

  get mutations(): number {
    return this.calls.length
  }

  async observe(): Promise<ObservedAgent[]> {
    return [...this.agents.entries()]
      .filter(([, a]) => a.infrastructure || a.workspace || Object.keys(a.parts).length > 0)
      .map(([agent, a]) => ({
        agent,
        infrastructureReady: a.infrastructure,
        infrastructure: a.infrastructure ? [`fake-${agent}-net`] : [],
        ...(a.workspace ? { workspace: `fake-${agent}-workspace` } : {}),
        parts: Object.fromEntries(
          PART_NAMES.flatMap((name) => {
            const p = a.parts[name]
            if (!p) return []
            const observed: ObservedPart = {
              id: p.id,
              name: `fake-${agent}-${name}`,
              state: p.state,
              hash: p.spec.hash,
              image: p.spec.image,
              ...(p.startedAt ? { startedAt: p.startedAt } : {}),
              ...(p.spec.restart ? { runsToCompletion: true } : {}),
              ...(p.state !== 'running' && p.finishedAt ? { finishedAt: p.finishedAt } : {}),
              ...(p.state !== 'running' && p.exitCode !== undefined ? { exitCode: p.exitCode } : {}),
              ...(p.restartCount !== undefined ? { restartCount: p.restartCount } : {}),
            }
            return [[name, observed]]
          }),
        ),
      }))
  }

  async ensureInfrastructure(agent: string): Promise<void> {
    this.mutate('ensureInfrastructure', agent)
    const a = this.agentOf(agent)
    a.infrastructure = true
    a.workspace = true
  }

  async createPart(agent: string, part: PartName, spec: PartSpec): Promise<void> {
    this.mutate('createPart', agent, part)
    const a = this.agentOf(agent)
    if (!a.infrastructure) throw new DriverError(this.kind, 'createPart', `${agent}/${part}`, 'network does not exist')
    if (spec.mounts.some((m) => m.kind === 'workspace')) a.workspace = true
    a.parts[part] = { id: this.nextId(), spec, state: 'running', startedAt: this.now(), signals: [], logs: [] }
    this.emit({ agent, part, kind: 'start', time: this.now() })
    await this.afterMutation?.('createPart', agent, part)
  }

  async startPart(agent: string, part: PartName): Promise<void> {
    this.mutate('startPart', agent, part)
    const p = this.partOf(agent, part, 'startPart')
    p.state = 'running'
    p.startedAt = this.now()
    await this.afterMutation?.('startPart', agent, part)
  }

  async stopPart(agent: string, part: PartName): Promise<void> {
    this.mutate('stopPart', agent, part)
    this.partOf(agent, part, 'stopPart').state = 'stopped'
  }

  async removePart(agent: string, part: PartName): Promise<void> {
    this.mutate('removePart', agent, part)
    delete this.agentOf(agent).parts[part]
  }

  async signalPart(agent: string, part: PartName, signal: NodeJS.Signals): Promise<void> {
    this.mutate('signalPart', agent, `${part}:${signal}`)
    this.partOf(agent, part, 'signalPart').signals.push(signal)
    await this.afterMutation?.('signalPart', agent, part)
  }

  async removeAgent(agent: string, options: RemoveOptions): Promise<void> {
    this.mutate('removeAgent', agent, options.purgeWorkspace ? 'purge' : 'keep-workspace')
    const a = this.agents.get(agent)
    if (!a) return
    a.parts = {}
    a.infrastructure = false
    if (options.purgeWorkspace) a.workspace = false
    if (!a.workspace) this.agents.delete(agent)
  }

  async exec(agent: string, part: PartName, argv: string[], options: ExecOptions = {}): Promise<ExecResult> {
    const p = this.partOf(agent, part, 'exec')
    if (p.state !== 'running') throw new DriverError(this.kind, 'exec', `${agent}/${part}`, 'is not running')
    return this.execHandler(agent, part, argv, options)
  }

  /** Every session opened, in order: each echoes what is typed and ends on a line `exit N`. */
  readonly sessions: FakeSession[] = []

  async openSession(agent: string, part: PartName, argv: string[], options: SessionOptions): Promise<InteractiveSession> {
    const p = this.partOf(agent, part, 'openSession')
    if (p.state !== 'running') throw new DriverError(this.kind, 'openSession', `${agent}/${part}`, 'is not running')
    const session = new FakeSession(argv, options)
    this.sessions.push(session)
    return session
  }

  async *logs(agent: string, part: PartName, _options?: LogOptions): AsyncIterable<string> {
    for (const line of this.partOf(agent, part, 'logs').logs) yield line
  }

  async *events(signal: AbortSignal): AsyncIterable<RuntimeEvent> {
    const queue: RuntimeEvent[] = []
    let wake: (() => void) | undefined
    const listener = (e: RuntimeEvent) => {
      queue.push(e)
      wake?.()
    }
    this.listeners.add(listener)
    const aborted = new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }))
    try {
      while (!signal.aborted) {
        while (queue.length > 0) yield queue.shift()!
        await Promise.race([new Promise<void>((resolve) => (wake = resolve)), aborted])
      }
    } finally {
      this.listeners.delete(listener)
    }
  }

  // ---- test controls: reality changing behind the controller's back ----

  /** Like `docker rm -f` by a user: the part vanishes and a destroy event is emitted. */
  destroyFromOutside(agent: string, part: PartName): void {
    delete this.agentOf(agent).parts[part]
    this.emit({ agent, part, kind: 'destroy', time: this.now() })
  }

  /** Like a crash: the part stops and a die event is emitted. */
  crashFromOutside(agent: string, part: PartName): void {
    this.partOf(agent, part, 'crash').state = 'stopped'
    this.emit({ agent, part, kind: 'die', time: this.now() })
  }

  /**
   * Like a task's command exiting: the part stops with `exitCode` after
   * `restarts` restarts by the engine's policy, and a die event is emitted.
   */
  exitFromInside(agent: string, part: PartName, exitCode: number, restarts = 0): void {
    const p = this.partOf(agent, part, 'exit')
    Object.assign(p, { state: 'stopped', exitCode, restartCount: restarts, finishedAt: this.now() })
    this.emit({ agent, part, kind: 'die', time: this.now() })
  }

  partSpec(agent: string, part: PartName): PartSpec | undefined {
    return this.agents.get(agent)?.parts[part]?.spec
  }

  partSignals(agent: string, part: PartName): NodeJS.Signals[] {
    return this.agents.get(agent)?.parts[part]?.signals ?? []
  }

  partId(agent: string, part: PartName): string | undefined {
    return this.agents.get(agent)?.parts[part]?.id
  }

  hasWorkspace(agent: string): boolean {
    return this.agents.get(agent)?.workspace ?? false
  }

  resetCalls(): void {
    this.calls.length = 0
  }

  private mutate(op: string, agent: string, detail?: string): void {
    this.calls.push(detail ? `${op} ${agent} ${detail}` : `${op} ${agent}`)
    const fail = this.failNext[0]
    if (fail === op) {
      this.failNext.shift()
      throw new DriverError(this.kind, op, agent, 'injected failure')
    }
  }

  private agentOf(agent: string): FakeAgent {
    let a = this.agents.get(agent)
    if (!a) {
      a = { infrastructure: false, workspace: false, parts: {} }
      this.agents.set(agent, a)
    }
    return a
  }

  private partOf(agent: string, part: PartName, op: string): FakePart {
    const p = this.agents.get(agent)?.parts[part]
    if (!p) throw new DriverError(this.kind, op, `${agent}/${part}`, 'no such part')
    return p
  }

  private emit(event: RuntimeEvent): void {
    for (const l of this.listeners) l(event)
  }

  private nextId(): string {
    return randomBytes(6).toString('hex')
  }

  private now(): string {
    return new Date(Date.UTC(2026, 0, 1) + ++this.clock * 1000).toISOString()
  }
}
