import { describe, expect, it } from 'vitest'
import { baseDomain, createDomainRateLimiter } from '../../../../sidecars/egress/rate-limit.js'

describe('baseDomain', () => {
  const cases: Array<[string, 'name' | 'ipv4' | 'ipv6', string]> = [
    ['api.github.com', 'name', 'github.com'],
    ['github.com', 'name', 'github.com'],
    ['localhost', 'name', 'localhost'],
    ['a.b.c.example.org', 'name', 'example.org'],
    ['secret-abc123.evil.example.net', 'name', 'example.net'],
    ['www.example.co.uk', 'name', 'example.co.uk'],
    ['api.example.com.au', 'name', 'example.com.au'],
    ['a.b.example.de', 'name', 'example.de'],
    ['203.0.113.7', 'ipv4', '203.0.113.7'],
    ['2001:db8::1', 'ipv6', '2001:db8::1'],
  ]
  it.each(cases)('%s (%s) -> %s', (host, kind, want) => {
    expect(baseDomain(host, kind)).toBe(want)
  })
})

describe('createDomainRateLimiter', () => {
  const limits = { requestsPerMinute: 3, bytesPerMinute: 1000 }

  it('refuses the request after the per-minute count and refills with time', () => {
    let now = 0
    const limiter = createDomainRateLimiter({ now: () => now })
    const outcomes = [1, 2, 3, 4].map(() => (limiter.admitRequest('a.com', 10, limits).ok ? 'ok' : 'denied'))
    expect(outcomes).toEqual(['ok', 'ok', 'ok', 'denied'])
    now += 20_000 // a third of a minute refills one request
    expect(limiter.admitRequest('a.com', 10, limits).ok).toBe(true)
    expect(limiter.admitRequest('a.com', 10, limits)).toMatchObject({ ok: false, rule: 'rate-limit-requests' })
  })

  it('keeps domains apart', () => {
    const limiter = createDomainRateLimiter({ now: () => 0 })
    for (let i = 0; i < 3; i++) limiter.admitRequest('a.com', 0, limits)
    expect(limiter.admitRequest('a.com', 0, limits).ok).toBe(false)
    expect(limiter.admitRequest('b.com', 0, limits).ok).toBe(true)
  })

  it('refuses bytes beyond the budget without spending them', () => {
    let now = 0
    const limiter = createDomainRateLimiter({ now: () => now })
    expect(limiter.chargeBytes('a.com', 900, limits).ok).toBe(true)
    expect(limiter.chargeBytes('a.com', 200, limits)).toMatchObject({ ok: false, rule: 'rate-limit-bytes' })
    expect(limiter.chargeBytes('a.com', 100, limits).ok).toBe(true)
    expect(limiter.admitRequest('a.com', 1, limits)).toMatchObject({ ok: false, rule: 'rate-limit-bytes' })
    now += 6_000 // a tenth of a minute refills 100 bytes
    expect(limiter.chargeBytes('a.com', 100, limits).ok).toBe(true)
  })

  it('names how long to wait', () => {
    const limiter = createDomainRateLimiter({ now: () => 0 })
    for (let i = 0; i < 3; i++) limiter.admitRequest('a.com', 0, limits)
    expect(limiter.admitRequest('a.com', 0, limits)).toEqual({ ok: false, rule: 'rate-limit-requests', retryAfterSeconds: 20 })
  })

  it('never holds more than a minute of budget', () => {
    let now = 0
    const limiter = createDomainRateLimiter({ now: () => now })
    limiter.admitRequest('a.com', 0, limits)
    now += 3_600_000
    const outcomes = [1, 2, 3, 4].map(() => limiter.admitRequest('a.com', 0, limits).ok)
    expect(outcomes).toEqual([true, true, true, false])
  })

  it('bounds the number of tracked domains', () => {
    const limiter = createDomainRateLimiter({ now: () => 0, maxDomains: 10 })
    for (let i = 0; i < 50; i++) limiter.admitRequest(`d${i}.com`, 1, limits)
    expect(limiter.size).toBeLessThanOrEqual(10)
  })
})
