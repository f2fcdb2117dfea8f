import PQueue from 'p-queue'
import type { Logger } from 'pino'
import type { ReconcileResult } from './reconcile-result.js'
import type { LogFields } from '../log-events.js'

export interface WorkQueueOptions {
  concurrency: number
  /** First retry delay; doubles per consecutive failure up to maxBackoffMs. */
  baseBackoffMs: number
  maxBackoffMs: number
  handler: (key: string) => Promise<ReconcileResult>
  log: Logger
  /** Called after every handled item, for metrics. */
  onResult?: (key: string, result: ReconcileResult, durationMs: number) => void
}

type KeyState = 'queued' | 'running' | 'running-dirty'

/**
 * A keyed work queue with the guarantees of a Kubernetes workqueue: a key is
 * reconciled by at most one worker at a time, a key added while queued
 * collapses into the queued item, a key added while running runs once more
 * afterwards (with the latest state), and failures back off per key.
 */
export class WorkQueue {
  private readonly queue: PQueue
  private readonly state = new Map<string, KeyState>()
  private readonly failures = new Map<string, number>()
  private readonly timers = new Map<string, { at: number; timer: NodeJS.Timeout }>()
  private stopped = false
  handled = 0

  constructor(private readonly options: WorkQueueOptions) {
    this.queue = new PQueue({ concurrency: options.concurrency })
  }

  add(key: string): void {
    if (this.stopped) return
    const s = this.state.get(key)
    if (s === 'queued' || s === 'running-dirty') return
    if (s === 'running') {
      this.state.set(key, 'running-dirty')
      return
    }
    this.state.set(key, 'queued')
    void this.queue.add(() => this.run(key))
  }

  /** Adds `key` after `ms`; an earlier pending add for the key wins. */
  addAfter(key: string, ms: number): void {
    if (this.stopped) return
    const at = Date.now() + ms
    const pending = this.timers.get(key)
    if (pending && pending.at <= at) return
    if (pending) clearTimeout(pending.timer)
    const timer = setTimeout(() => {
      this.timers.delete(key)
      this.add(key)
    }, ms)
    timer.unref()
    this.timers.set(key, { at, timer })
  }

  get length(): number {
    return this.queue.size + this.queue.pending
  }

  /** Resolves when nothing is queued or running (timers may still be pending). */
  async idle(): Promise<void> {
    await this.queue.onIdle()
  }

  async stop(): Promise<void> {
    this.stopped = true
    for (const { timer } of this.timers.values()) clearTimeout(timer)
    this.timers.clear()
    this.queue.clear()
    await this.queue.onIdle()
  }

  backoffFor(failures: number): number {
    return Math.min(this.options.maxBackoffMs, this.options.baseBackoffMs * 2 ** Math.max(0, failures - 1))
  }

  private async run(key: string): Promise<void> {
    this.state.set(key, 'running')
    const started = Date.now()
    let result: ReconcileResult
    try {
      result = await this.options.handler(key)
    } catch (err) {
      // A reconciler that throws is a bug, but it must not kill the loop: treat it as a retry.
      result = { outcome: 'retry', error: err instanceof Error ? err : new Error(String(err)) }
    }
    this.handled++
    const duration = Date.now() - started
    this.options.onResult?.(key, result, duration)
    switch (result.outcome) {
      case 'converged':
      case 'terminal':
        this.failures.delete(key)
        break
      case 'waiting':
        this.failures.delete(key)
        this.addAfter(key, result.requeueAfterMs)
        break
      case 'retry': {
        const n = (this.failures.get(key) ?? 0) + 1
        this.failures.set(key, n)
        const delay = this.backoffFor(n)
        this.options.log.warn({ agent: key, event: 'reconcile.retry', attempt: n, retryInMs: delay, err: result.error.message } satisfies LogFields, 'reconcile failed; retrying')
        this.addAfter(key, delay)
        break
      }
    }
    const dirty = this.state.get(key) === 'running-dirty'
    this.state.delete(key)
    if (dirty) this.add(key)
  }
}
