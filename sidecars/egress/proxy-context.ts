/**
 * What the proxy mechanism needs from the outside, in one place. A compiled
 * config is one loaded config made ready to enforce: its policy, its leaf
 * certificates and its trust store for origins. The mechanism reads the
 * current one at the start of every tunnel and every request, so a reload
 * applies to the next request on an open connection and never interrupts one
 * in flight.
 */
import type { SecureContext } from 'node:tls'
import type { Logger } from 'pino'
import type { AnswerSecrets } from './answer-redactor.js'
import type { LeafCertificates } from './certificates.js'
import type { Resolve } from './dial.js'
import type { EgressPolicy } from './policy.js'
import type { UpstreamPool } from './upstream-pool.js'

export interface CompiledEgress {
  policy: EgressPolicy
  /** Absent when the config has no CA (then no route may intercept). */
  leaves: LeafCertificates | undefined
  /** System roots plus the config's extra CAs, for TLS to origins. */
  upstreamTrust: SecureContext
  configHash: string
  /** Increases with every load; orders compiled configs for the upstream pools. */
  generation: number
  /** The secret values answers are redacted of; absent when there are none (answers then pass untouched). */
  answers?: AnswerSecrets | undefined
}

export interface ProxyContext {
  current(): CompiledEgress | undefined
  log: Logger
  resolve: Resolve
  upstream: UpstreamPool
  /** Told how many body bytes went through, so finished buffers can be reclaimed (buffer-reclaim.ts). */
  streamed: (bytes: number) => void
}
