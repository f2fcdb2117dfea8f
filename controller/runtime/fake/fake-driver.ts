import { randomBytes } from 'node:crypto'
import {
  DriverError,
  PART_NAMES,
  type Availability,
  type ExecOptions,
  type ExecResult,
  type LogOptions,
  type ObservedAgent,
  type ObservedPart,
  type PartChangeOptions,
  type PartName,
  type PartSpec,
  type RemoveOptions,
  type RuntimeDriver,
  type PartEvent,
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
 * An in-memory driver for unit tests: it behaves like an engine (objects
 * persist until removed, parts can be broken from outside) and records every
 * mutating call, so tests can assert what a reconcile did and did not do.
 * It passes the same driver contract as the Docker driver
 * (test/contract/driver-contract.ts): where it errs, it errs as Docker does.
 */
export class FakeDriver implements RuntimeDriver {
  readonly kind = 'fake'
  readonly calls: string[] = []
  /** What `available()` answers; tests set it to stand for a host that cannot run this driver. */
  availability: Availability = { ok: true }
  #mutations = 0
  private readonly agents = new Map<string, FakeAgent>()
  private readonly listeners = new Set<(e: PartEvent) => void>()
  /** Wakes `logs` followers when a part prints or goes away. */
  private readonly printed = new Set<() => void>()
  private clock = 0
  /** Set to make the next mutating calls fail, one per entry, in order (`createPart`, ...). */
  readonly failNext: string[] = []
  execHandler: FakeExecHandler = () => ({ exitCode: 0, stdout: '', stderr: '' })
  /** Told through onProgress, a line at a time, whenever an agent part is created or started: a slow runtime's steps. */
  progressLines: string[] = []
  /** Awaited after those lines, before the part exists: lets a test look at the world mid-change. */
  whileChanging: ((agent: string, part: PartName) => Promise<void>) | undefined
  /** Runs after each successful mutating call, like a daemon reacting to being started or signalled. */
  afterMutation: ((op: string, agent: string, part?: PartName) => void | Promise<void>) | undefined

  /** Calls that changed something; a call that found everything in place (an idempotent repeat) does not count. */
  get mutations(): number {
    return this.#mutations
  }

  async available(): Promise<Availability> {
    return this.availability
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
    const a = this.agents.get(agent)
    this.mutate('ensureInfrastructure', agent, undefined, !(a?.infrastructure && a.workspace))
    const created = this.agentOf(agent)
    created.infrastructure = true
    created.workspace = true
  }

  async createPart(agent: string, part: PartName, spec: PartSpec, options: PartChangeOptions = {}): Promise<void> {
    this.mutate('createPart', agent, part)
    await this.reportProgress(agent, part, options)
    const a = this.agentOf(agent)
    if (!a.infrastructure) throw new DriverError(this.kind, 'create-part', `${agent}/${part}`, 'network does not exist; ensureInfrastructure must run first')
    if (spec.mounts.some((m) => m.kind === 'workspace') && !a.workspace) {
      throw new DriverError(this.kind, 'create-part', `${agent}/${part}`, 'workspace volume missing; ensureInfrastructure must run first')
    }
    if (a.parts[part]) this.emit({ agent, part, kind: 'destroy', time: this.now() })
    a.parts[part] = { id: this.nextId(), spec, state: 'running', startedAt: this.now(), signals: [], logs: [] }
    this.emit({ agent, part, kind: 'start', time: this.now() })
    await this.afterMutation?.('createPart', agent, part)
  }

  async startPart(agent: string, part: PartName, options: PartChangeOptions = {}): Promise<void> {
    const p = this.partOf(agent, part, 'start-part', 'no such part; create it first')
    const starts = p.state !== 'running'
    this.mutate('startPart', agent, part, starts)
    if (!starts) return
    await this.reportProgress(agent, part, options)
    Object.assign(p, { state: 'running', startedAt: this.now() })
    delete p.exitCode
    delete p.finishedAt
    this.emit({ agent, part, kind: 'start', time: this.now() })
    await this.afterMutation?.('startPart', agent, part)
  }

  /** Like Docker: stopping a part that is gone or already stopped is not an error. */
  private async reportProgress(agent: string, part: PartName, options: PartChangeOptions): Promise<void> {
    if (part !== 'agent') return
    for (const line of this.progressLines) options.onProgress?.(line)
    await this.whileChanging?.(agent, part)
  }

  async stopPart(agent: string, part: PartName): Promise<void> {
    const p = this.agents.get(agent)?.parts[part]
    const stops = p !== undefined && p.state !== 'stopped'
    this.mutate('stopPart', agent, part, stops)
    if (!p || !stops) return
    this.stop(agent, part, p, 0)
  }

  async removePart(agent: string, part: PartName): Promise<void> {
    const exists = this.agents.get(agent)?.parts[part] !== undefined
    this.mutate('removePart', agent, part, exists)
    if (!exists) return
    this.removeParts(agent, [part])
  }

  async signalPart(agent: string, part: PartName, signal: NodeJS.Signals): Promise<void> {
    const p = this.partOf(agent, part, 'signal-part')
    if (p.state !== 'running') throw new DriverError(this.kind, 'signal-part', `${agent}/${part}`, `part is not running (${p.state})`)
    this.mutate('signalPart', agent, `${part}:${signal}`)
    p.signals.push(signal)
    this.emit({ agent, part, kind: 'kill', time: this.now() })
    await this.afterMutation?.('signalPart', agent, part)
  }

  async removeAgent(agent: string, options: RemoveOptions): Promise<void> {
    this.mutate('removeAgent', agent, options.purgeWorkspace ? 'purge' : 'keep-workspace')
    const a = this.agents.get(agent)
    if (!a) return
    this.removeParts(agent, PART_NAMES.filter((name) => a.parts[name]))
    a.infrastructure = false
    if (options.purgeWorkspace) a.workspace = false
    if (!a.workspace) this.agents.delete(agent)
  }

  async exec(agent: string, part: PartName, argv: string[], options: ExecOptions = {}): Promise<ExecResult> {
    const p = this.partOf(agent, part, 'exec')
    if (p.state !== 'running') throw new DriverError(this.kind, 'exec', `${agent}/${part}`, `part is not running (${p.state})`)
    return this.execHandler(agent, part, argv, options)
  }

  /** Every session opened, in order: each echoes what is typed and ends on a line `exit N`. */
  readonly sessions: FakeSession[] = []

  async openSession(agent: string, part: PartName, argv: string[], options: SessionOptions): Promise<InteractiveSession> {
    if (argv.length === 0) throw new DriverError(this.kind, 'open-session', `${agent}/${part}`, 'empty command')
    const p = this.partOf(agent, part, 'open-session')
    if (p.state !== 'running') throw new DriverError(this.kind, 'open-session', `${agent}/${part}`, `part is not running (${p.state})`)
    const session = new FakeSession(argv, options)
    this.sessions.push(session)
    return session
  }

  /** The part's output, as Docker keeps it: across restarts, gone with the part. */
  async *logs(agent: string, part: PartName, options: LogOptions = {}): AsyncIterable<string> {
    const p = this.partOf(agent, part, 'logs')
    let next = options.tail === undefined ? 0 : Math.max(0, p.logs.length - options.tail)
    for (;;) {
      while (next < p.logs.length) yield p.logs[next++]!
      if (!options.follow || options.signal?.aborted || this.agents.get(agent)?.parts[part] !== p) return
      await new Promise<void>((resolve) => {
        const done = (): void => {
          this.printed.delete(done)
          options.signal?.removeEventListener('abort', done)
          resolve()
        }
        this.printed.add(done)
        options.signal?.addEventListener('abort', done, { once: true })
      })
    }
  }

  async *events(signal: AbortSignal): AsyncIterable<PartEvent> {
    const queue: PartEvent[] = []
    let wake: (() => void) | undefined
    const listener = (e: PartEvent) => {
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

  /** The part writes `line` to its output (what `logs` returns), as its command would. */
  print(agent: string, part: PartName, line: string): void {
    this.partOf(agent, part, 'print').logs.push(line)
    for (const wake of [...this.printed]) wake()
  }

  /** Like `docker rm -f` by a user: the part vanishes and a destroy event is emitted. */
  destroyFromOutside(agent: string, part: PartName): void {
    delete this.agentOf(agent).parts[part]
    this.emit({ agent, part, kind: 'destroy', time: this.now() })
    for (const wake of [...this.printed]) wake()
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

  /** Records the call; `changes` false marks a call that found everything as asked (not counted as a mutation). */
  private mutate(op: string, agent: string, detail?: string, changes = true): void {
    this.calls.push(detail ? `${op} ${agent} ${detail}` : `${op} ${agent}`)
    const fail = this.failNext[0]
    if (fail === op) {
      this.failNext.shift()
      throw new DriverError(this.kind, op, agent, 'injected failure')
    }
    if (changes) this.#mutations++
  }

  /** Stops a part as `docker stop` does: it exits, and die then stop are emitted. */
  private stop(agent: string, part: PartName, p: FakePart, exitCode: number): void {
    Object.assign(p, { state: 'stopped', exitCode, finishedAt: this.now() })
    this.emit({ agent, part, kind: 'die', time: this.now() })
    this.emit({ agent, part, kind: 'stop', time: this.now() })
  }

  private removeParts(agent: string, parts: PartName[]): void {
    const a = this.agentOf(agent)
    for (const part of parts) {
      const p = a.parts[part]
      if (!p) continue
      if (p.state === 'running') this.stop(agent, part, p, 0)
      delete a.parts[part]
      this.emit({ agent, part, kind: 'destroy', time: this.now() })
    }
    for (const wake of [...this.printed]) wake()
  }

  private agentOf(agent: string): FakeAgent {
    let a = this.agents.get(agent)
    if (!a) {
      a = { infrastructure: false, workspace: false, parts: {} }
      this.agents.set(agent, a)
    }
    return a
  }

  private partOf(agent: string, part: PartName, op: string, missing = 'no such part'): FakePart {
    const p = this.agents.get(agent)?.parts[part]
    if (!p) throw new DriverError(this.kind, op, `${agent}/${part}`, missing)
    return p
  }

  private emit(event: PartEvent): void {
    for (const l of this.listeners) l(event)
  }

  private nextId(): string {
    return randomBytes(6).toString('hex')
  }

  private now(): string {
    return new Date(Date.UTC(2026, 0, 1) + ++this.clock * 1000).toISOString()
  }
}
