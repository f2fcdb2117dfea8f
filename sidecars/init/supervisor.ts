/**
 * Keeps the bundle's daemons running: starts each one, restarts one that
 * dies on its own with a capped exponential delay (never touching the
 * others), restarts one on request without waiting, forwards reload signals
 * and stops everything on shutdown within a grace period.
 *
 * A daemon stopped by the supervisor itself (restart request, shutdown) is
 * marked before the signal is sent, so its exit is never mistaken for a crash.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import type { Logger } from 'pino'
import { restartDelayMs } from './backoff.js'
import { daemonPath, type InitConfig } from './config.js'
import { daemonArgv, daemonEnv } from './daemon-process.js'

/** Every decision the supervisor logs; one pino line each. */
export type InitEvent =
  | 'daemon-started'
  | 'daemon-exited'
  | 'daemon-spawn-failed'
  | 'restart-scheduled'
  | 'restart-requested'
  | 'signal-forwarded'
  | 'daemon-killed'
  | 'shutdown-started'
  | 'shutdown-complete'

export type DaemonPhase = 'running' | 'backoff' | 'stopped'

export interface DaemonStatus {
  name: string
  phase: DaemonPhase
  pid?: number
  /** Starts after the first one, on purpose or not. */
  restarts: number
  consecutiveFailures: number
}

export class UnknownDaemonError extends Error {
  override readonly name = 'UnknownDaemonError'
}

export class ShuttingDownError extends Error {
  override readonly name = 'ShuttingDownError'
}

interface Daemon {
  name: string
  file: string
  child?: ChildProcess
  startedAt: number
  starts: number
  consecutiveFailures: number
  restartTimer?: NodeJS.Timeout
  /** True while the supervisor is stopping this daemon on purpose. */
  stopRequested: boolean
  exitWaiters: Array<() => void>
  /** Serializes restart requests for one daemon. */
  pending: Promise<unknown>
}

export type SpawnDaemon = (file: string, env: NodeJS.ProcessEnv) => ChildProcess

const spawnWithNode: SpawnDaemon = (file, env) =>
  spawn(process.execPath, daemonArgv(file), { stdio: 'inherit', env })

export class Supervisor {
  readonly #config: InitConfig
  readonly #log: Logger
  readonly #spawn: SpawnDaemon
  readonly #daemons = new Map<string, Daemon>()
  #shutdown: Promise<boolean> | undefined

  constructor(config: InitConfig, log: Logger, spawnDaemon: SpawnDaemon = spawnWithNode) {
    this.#config = config
    this.#log = log
    this.#spawn = spawnDaemon
    for (const name of config.daemons) {
      this.#daemons.set(name, {
        name,
        file: daemonPath(config, name),
        startedAt: 0,
        starts: 0,
        consecutiveFailures: 0,
        stopRequested: false,
        exitWaiters: [],
        pending: Promise.resolve(),
      })
    }
  }

  get shuttingDown(): boolean {
    return this.#shutdown !== undefined
  }

  start(): void {
    for (const daemon of this.#daemons.values()) this.#start(daemon)
  }

  status(): DaemonStatus[] {
    return [...this.#daemons.values()].map((daemon) => this.#statusOf(daemon))
  }

  /** Sends `signal` to every running daemon (SIGHUP: reload config). */
  forward(signal: NodeJS.Signals): void {
    const pids: number[] = []
    for (const daemon of this.#daemons.values()) {
      if (daemon.child?.pid !== undefined && daemon.child.exitCode === null) {
        daemon.child.kill(signal)
        pids.push(daemon.child.pid)
      }
    }
    this.#log.info({ event: 'signal-forwarded' satisfies InitEvent, signal, pids }, 'signal forwarded')
  }

  /**
   * Stops one daemon (SIGTERM, then SIGKILL after the grace period) and starts
   * it again at once, leaving the others alone. A daemon waiting out a crash
   * backoff starts immediately.
   */
  restart(name: string): Promise<DaemonStatus> {
    const daemon = this.#daemons.get(name)
    if (daemon === undefined) {
      return Promise.reject(new UnknownDaemonError(`no daemon named "${name}" (running: ${[...this.#daemons.keys()].join(', ')})`))
    }
    const next = daemon.pending.then(async () => {
      if (this.shuttingDown) throw new ShuttingDownError('the bundle is shutting down')
      this.#log.info({ event: 'restart-requested' satisfies InitEvent, daemon: name, pid: daemon.child?.pid }, 'restart requested')
      clearTimeout(daemon.restartTimer)
      daemon.restartTimer = undefined
      await this.#stop(daemon, 'SIGTERM')
      if (this.shuttingDown) throw new ShuttingDownError('the bundle is shutting down')
      daemon.consecutiveFailures = 0
      this.#start(daemon)
      return this.#statusOf(daemon)
    })
    daemon.pending = next.catch(() => undefined)
    return next
  }

  /**
   * Forwards `signal` to every daemon, waits for them up to the grace period,
   * SIGKILLs the rest. Resolves true when every daemon stopped by itself.
   */
  shutdown(signal: NodeJS.Signals): Promise<boolean> {
    this.#shutdown ??= (async () => {
      const running = [...this.#daemons.values()]
      for (const daemon of running) {
        clearTimeout(daemon.restartTimer)
        daemon.restartTimer = undefined
      }
      this.#log.info(
        { event: 'shutdown-started' satisfies InitEvent, signal, graceMs: this.#config.stopGraceMs },
        'shutdown started',
      )
      const results = await Promise.all(running.map((daemon) => this.#stop(daemon, signal)))
      const clean = results.every(Boolean)
      this.#log.info({ event: 'shutdown-complete' satisfies InitEvent, clean }, 'shutdown complete')
      return clean
    })()
    return this.#shutdown
  }

  #statusOf(daemon: Daemon): DaemonStatus {
    const running = daemon.child !== undefined
    const status: DaemonStatus = {
      name: daemon.name,
      phase: running ? 'running' : daemon.restartTimer !== undefined ? 'backoff' : 'stopped',
      restarts: Math.max(0, daemon.starts - 1),
      consecutiveFailures: daemon.consecutiveFailures,
    }
    if (running && daemon.child?.pid !== undefined) status.pid = daemon.child.pid
    return status
  }

  #start(daemon: Daemon): void {
    const env = daemonEnv(daemon.name, process.env)
    let child: ChildProcess
    try {
      child = this.#spawn(daemon.file, env)
    } catch (error) {
      this.#log.error(
        { event: 'daemon-spawn-failed' satisfies InitEvent, daemon: daemon.name, error: (error as Error).message },
        'daemon spawn failed',
      )
      this.#scheduleRestart(daemon)
      return
    }
    daemon.child = child
    daemon.startedAt = Date.now()
    daemon.starts += 1
    daemon.stopRequested = false
    child.once('error', (error) => {
      // An 'error' without a pid means the spawn itself failed; 'exit' will not follow.
      if (child.pid === undefined && daemon.child === child) {
        daemon.child = undefined
        this.#log.error(
          { event: 'daemon-spawn-failed' satisfies InitEvent, daemon: daemon.name, error: error.message },
          'daemon spawn failed',
        )
        this.#scheduleRestart(daemon)
      }
    })
    child.once('exit', (code, signal) => this.#onExit(daemon, child, code, signal))
    if (child.pid !== undefined) {
      this.#log.info(
        { event: 'daemon-started' satisfies InitEvent, daemon: daemon.name, pid: child.pid, start: daemon.starts },
        'daemon started',
      )
    }
  }

  #onExit(daemon: Daemon, child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (daemon.child !== child) return
    daemon.child = undefined
    const ranMs = Date.now() - daemon.startedAt
    const expected = daemon.stopRequested || this.shuttingDown
    this.#log.info(
      { event: 'daemon-exited' satisfies InitEvent, daemon: daemon.name, pid: child.pid, code, signal, ranMs, expected },
      'daemon exited',
    )
    const waiters = daemon.exitWaiters.splice(0)
    for (const wake of waiters) wake()
    if (expected) return
    if (ranMs >= this.#config.stableAfterMs) daemon.consecutiveFailures = 0
    this.#scheduleRestart(daemon)
  }

  #scheduleRestart(daemon: Daemon): void {
    if (this.shuttingDown) return
    daemon.consecutiveFailures += 1
    const delayMs = restartDelayMs(daemon.consecutiveFailures, this.#config.backoffInitialMs, this.#config.backoffMaxMs)
    this.#log.warn(
      {
        event: 'restart-scheduled' satisfies InitEvent,
        daemon: daemon.name,
        delayMs,
        consecutiveFailures: daemon.consecutiveFailures,
      },
      'restart scheduled',
    )
    daemon.restartTimer = setTimeout(() => {
      daemon.restartTimer = undefined
      if (!this.shuttingDown) this.#start(daemon)
    }, delayMs)
  }

  /** Resolves true when the daemon exited within the grace period (or was not running). */
  #stop(daemon: Daemon, signal: NodeJS.Signals): Promise<boolean> {
    const child = daemon.child
    if (child === undefined) return Promise.resolve(true)
    return new Promise<boolean>((resolve) => {
      let killed = false
      const timer = setTimeout(() => {
        killed = true
        this.#log.warn(
          { event: 'daemon-killed' satisfies InitEvent, daemon: daemon.name, pid: child.pid, graceMs: this.#config.stopGraceMs },
          'daemon killed',
        )
        child.kill('SIGKILL')
      }, this.#config.stopGraceMs)
      daemon.exitWaiters.push(() => {
        clearTimeout(timer)
        resolve(!killed)
      })
      daemon.stopRequested = true
      child.kill(signal)
    })
  }
}
