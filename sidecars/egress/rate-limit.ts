/**
 * Budgets per base domain, so that a confused or injected agent can only leak
 * slowly: requests per minute and outbound bytes per minute. Each budget is a
 * token bucket holding one minute's worth, refilled continuously; a burst may
 * spend a full minute's budget at once, after which the steady rate applies.
 *
 * State lives across config reloads (the limits are read per call), so editing
 * a route never hands the agent a fresh budget.
 */

export interface RateLimits {
  requestsPerMinute: number
  bytesPerMinute: number
}

export type RateVerdict = { ok: true } | { ok: false; rule: 'rate-limit-requests' | 'rate-limit-bytes'; retryAfterSeconds: number }

interface Bucket {
  requests: number
  bytes: number
  updatedMs: number
}

export interface DomainRateLimiter {
  /** Take one request and `bytes` outbound bytes from the domain's budgets, or refuse without taking. */
  admitRequest(domain: string, bytes: number, limits: RateLimits): RateVerdict
  /** Take streamed body bytes; refuses (and takes nothing) when the budget cannot cover them. */
  chargeBytes(domain: string, bytes: number, limits: RateLimits): RateVerdict
  readonly size: number
}

const MINUTE_MS = 60_000

export function createDomainRateLimiter(options: { now?: () => number; maxDomains?: number } = {}): DomainRateLimiter {
  const now = options.now ?? (() => performance.timeOrigin + performance.now())
  const maxDomains = options.maxDomains ?? 10_000
  const buckets = new Map<string, Bucket>()

  const refill = (domain: string, limits: RateLimits): Bucket => {
    const at = now()
    let bucket = buckets.get(domain)
    if (!bucket) {
      bucket = { requests: limits.requestsPerMinute, bytes: limits.bytesPerMinute, updatedMs: at }
      buckets.set(domain, bucket)
      if (buckets.size > maxDomains) evictFullest(limits)
      return bucket
    }
    const elapsed = Math.max(0, at - bucket.updatedMs)
    bucket.requests = Math.min(limits.requestsPerMinute, bucket.requests + (elapsed * limits.requestsPerMinute) / MINUTE_MS)
    bucket.bytes = Math.min(limits.bytesPerMinute, bucket.bytes + (elapsed * limits.bytesPerMinute) / MINUTE_MS)
    bucket.updatedMs = at
    return bucket
  }

  // A full bucket carries no information; dropping it loses nothing.
  const evictFullest = (limits: RateLimits) => {
    for (const [domain, bucket] of buckets) {
      if (bucket.requests >= limits.requestsPerMinute && bucket.bytes >= limits.bytesPerMinute) buckets.delete(domain)
    }
    while (buckets.size > maxDomains) buckets.delete(buckets.keys().next().value as string)
  }

  const wait = (missing: number, perMinute: number) => Math.max(1, Math.ceil((missing * MINUTE_MS) / perMinute / 1000))

  return {
    admitRequest(domain, bytes, limits) {
      const bucket = refill(domain, limits)
      if (bucket.requests < 1) return { ok: false, rule: 'rate-limit-requests', retryAfterSeconds: wait(1 - bucket.requests, limits.requestsPerMinute) }
      if (bucket.bytes < bytes) return { ok: false, rule: 'rate-limit-bytes', retryAfterSeconds: wait(bytes - bucket.bytes, limits.bytesPerMinute) }
      bucket.requests -= 1
      bucket.bytes -= bytes
      return { ok: true }
    },
    chargeBytes(domain, bytes, limits) {
      const bucket = refill(domain, limits)
      if (bucket.bytes < bytes) return { ok: false, rule: 'rate-limit-bytes', retryAfterSeconds: wait(bytes - bucket.bytes, limits.bytesPerMinute) }
      bucket.bytes -= bytes
      return { ok: true }
    },
    get size() {
      return buckets.size
    },
  }
}

const SHORT_SECOND_LEVEL = /^(co|com|net|org|gov|edu|ac|or|ne|go|gob|mil|nic|ltd|plc|sch)$/

/**
 * The registrable domain a host belongs to, approximated without the Public
 * Suffix List: the last two labels, or three under a two-letter country code
 * whose second level is a generic label (`example.co.uk`). Getting it wrong
 * only merges or splits budgets; it never opens a route. IP literals are
 * their own domain.
 */
export function baseDomain(host: string, kind: 'name' | 'ipv4' | 'ipv6' = 'name'): string {
  if (kind !== 'name') return host
  const labels = host.split('.')
  if (labels.length <= 2) return host
  const tld = labels[labels.length - 1] as string
  const second = labels[labels.length - 2] as string
  const keep = tld.length === 2 && SHORT_SECOND_LEVEL.test(second) ? 3 : 2
  return labels.slice(-keep).join('.')
}
