/**
 * The reconcile contract, after controller-runtime: a request names an Agent
 * and nothing else (the reconciler reads the world every time), and the
 * result tells the queue what to do next.
 */
export interface ReconcileRequest {
  agent: string
}

export type ReconcileResult =
  /** Nothing to do until something changes (the periodic resync still comes). */
  | { outcome: 'converged' }
  /** Waiting on something with a known cadence (a sidecar loading config): check again. */
  | { outcome: 'waiting'; requeueAfterMs: number; reason: string }
  /** A transient failure: retry with capped exponential backoff. */
  | { outcome: 'retry'; error: Error }
  /** Retrying cannot help (an invalid spec): wait for the next change. */
  | { outcome: 'terminal'; reason: string }

export type ReconcileOutcome = ReconcileResult['outcome']
