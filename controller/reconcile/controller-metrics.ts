import type { ReconcileOutcome } from './reconcile-result.js'

const OUTCOMES: ReconcileOutcome[] = ['converged', 'waiting', 'retry', 'terminal']
const BUCKETS_MS = [10, 50, 100, 250, 500, 1000, 5000, 30000, 120000]

/**
 * Counters for /metrics in Prometheus text format. Every series exists from
 * the start (at zero), so a dashboard never sees a series appear mid-way.
 */
export class ControllerMetrics {
  private readonly reconciles = new Map<ReconcileOutcome, number>(OUTCOMES.map((o) => [o, 0]))
  private readonly buckets = BUCKETS_MS.map(() => 0)
  private durationSumMs = 0
  private durationCount = 0
  private mutations = 0
  private queueDepth = 0

  recordReconcile(outcome: ReconcileOutcome, ms: number): void {
    this.reconciles.set(outcome, (this.reconciles.get(outcome) ?? 0) + 1)
    BUCKETS_MS.forEach((b, i) => {
      if (ms <= b) this.buckets[i]!++
    })
    this.durationSumMs += ms
    this.durationCount++
  }

  setMutations(n: number): void {
    this.mutations = n
  }

  setQueueDepth(n: number): void {
    this.queueDepth = n
  }

  reconcileCount(outcome?: ReconcileOutcome): number {
    if (outcome) return this.reconciles.get(outcome) ?? 0
    return [...this.reconciles.values()].reduce((a, b) => a + b, 0)
  }

  render(): string {
    const lines = [
      '# HELP bottle_reconciles_total Reconciles finished, by outcome.',
      '# TYPE bottle_reconciles_total counter',
      ...OUTCOMES.map((o) => `bottle_reconciles_total{outcome="${o}"} ${this.reconciles.get(o) ?? 0}`),
      '# HELP bottle_reconcile_duration_seconds Time spent in one reconcile.',
      '# TYPE bottle_reconcile_duration_seconds histogram',
      ...BUCKETS_MS.map((b, i) => `bottle_reconcile_duration_seconds_bucket{le="${b / 1000}"} ${this.buckets[i]}`),
      `bottle_reconcile_duration_seconds_bucket{le="+Inf"} ${this.durationCount}`,
      `bottle_reconcile_duration_seconds_sum ${this.durationSumMs / 1000}`,
      `bottle_reconcile_duration_seconds_count ${this.durationCount}`,
      '# HELP bottle_runtime_mutations_total Calls through the runtime drivers that changed something.',
      '# TYPE bottle_runtime_mutations_total counter',
      `bottle_runtime_mutations_total ${this.mutations}`,
      '# HELP bottle_queue_depth Agents queued or being reconciled.',
      '# TYPE bottle_queue_depth gauge',
      `bottle_queue_depth ${this.queueDepth}`,
    ]
    return lines.join('\n') + '\n'
  }
}
