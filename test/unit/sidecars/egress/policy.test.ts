import { describe, expect, it } from 'vitest'
import type { DlpScanner } from '../../../../sidecars/dlp/types.js'
import { validateEgressConfig, type EgressConfigInput } from '../../../../sidecars/egress/config.js'
import { createEgressPolicy, type EgressPolicy, type RequestTarget } from '../../../../sidecars/egress/policy.js'
import { rawRequestPath } from '../../../../sidecars/egress/request-target.js'
import { createDomainRateLimiter } from '../../../../sidecars/egress/rate-limit.js'
import { canonicalHost } from '../../../../sidecars/egress/route-match.js'
import { callPolicy } from '../../../../sidecars/egress/policy-call.js'
import { createTestScanner } from './support/scanner.js'

const TOKEN = 'route-token-value-0123456789abcdef'
const PLACEHOLDER = 'agent-placeholder-value'

function policyFor(input: EgressConfigInput, scanner?: DlpScanner, now?: () => number): EgressPolicy {
  const config = validateEgressConfig(input)
  if (!config.ok) throw new Error(config.errors.join('; '))
  const secrets = new Map([['github', TOKEN]])
  return createEgressPolicy({
    config: config.value,
    secrets,
    scanner: scanner ?? createTestScanner({ knownSecrets: [TOKEN] }),
    limiter: createDomainRateLimiter(now ? { now } : {}),
  })
}

function request(url: string, headers: string[] = [], scheme: 'http' | 'https' = url.startsWith('https') ? 'https' : 'http'): RequestTarget {
  const parsed = new URL(url)
  const host = canonicalHost(parsed.hostname)
  if (!host.ok) throw new Error(host.reason)
  return { scheme, host: host.value, port: Number(parsed.port) || (scheme === 'https' ? 443 : 80), url: parsed, rawPath: rawRequestPath(url), method: 'GET', rawHeaders: headers }
}

const config: EgressConfigInput = {
  placeholders: [PLACEHOLDER],
  routes: [
    { host: 'api.github.com', paths: ['/repos/me/'], auth: { scheme: 'Bearer', slot: 'github' } },
    { host: 'plain.example.com' },
    { host: '*.cdn.example.com', tls: 'passthrough' },
    { host: 'internal.example.com', upstream: 'https://gateway.example.com:8443', scan: { body: false } },
    { host: 'authed-plain.example.com', auth: { scheme: 'token', slot: 'github' } },
  ],
}

describe('decideRequest', () => {
  const policy = policyFor(config)
  const cases: Array<{ name: string; target: RequestTarget; want: string }> = [
    { name: 'route with path and auth', target: request('https://api.github.com/repos/me/app'), want: 'allow api.github.com https://api.github.com:443' },
    { name: 'outside the path list', target: request('https://api.github.com/repos/you/app'), want: 'deny path-not-allowed' },
    { name: 'an encoded separator out of the path list', target: request('https://api.github.com/repos/me/..%2Fyou/app'), want: 'deny path-not-canonical' },
    { name: 'a ; parameter on a path route', target: request('https://api.github.com/repos/me/app;x=1'), want: 'deny path-not-canonical' },
    { name: 'a dot segment that resolves inside the prefix', target: request('https://api.github.com/repos/me/sub/../app'), want: 'deny path-not-canonical' },
    { name: 'an encoded dot segment that resolves inside the prefix', target: request('https://api.github.com/repos/me/sub/%2e%2e/app'), want: 'deny path-not-canonical' },
    { name: 'a backslash the parser turns into a slash', target: request('https://api.github.com/repos\\me\\app'), want: 'deny path-not-canonical' },
    { name: 'an encoded separator on a route without paths is forwarded as is', target: request('https://internal.example.com/a%2Fb'), want: 'allow internal.example.com https://gateway.example.com:8443' },
    { name: 'unlisted host', target: request('https://api.example.com/'), want: 'deny no-route' },
    { name: 'upstream override dials the gateway', target: request('https://internal.example.com/x'), want: 'allow internal.example.com https://gateway.example.com:8443' },
    { name: 'plain http on an auth route', target: request('http://authed-plain.example.com/'), want: 'deny plaintext-auth' },
    { name: 'known secret in the query', target: request(`https://plain.example.com/?t=${TOKEN}`), want: 'deny dlp' },
    { name: 'known secret in a header', target: request('https://plain.example.com/', ['X-Note', TOKEN]), want: 'deny dlp' },
    { name: 'known secret in a header name', target: request('https://plain.example.com/', [`X-${TOKEN}`, '1']), want: 'deny dlp' },
    { name: 'known secret as a subdomain', target: request(`https://${TOKEN}.cdn.example.com/`), want: 'deny dlp' },
    { name: 'passthrough host over plain http is forwarded', target: request('http://x.cdn.example.com/'), want: 'allow *.cdn.example.com http://x.cdn.example.com:80' },
  ]
  it.each(cases)('$name', ({ target, want }) => {
    const decision = policy.decideRequest(target)
    const got = decision.action === 'allow' ? `allow ${decision.route} ${decision.dial.scheme}://${decision.dial.host}:${decision.dial.port}` : `deny ${decision.denial.rule}`
    expect(got).toBe(want)
  })

  it('injects the credential after stripping the agent’s, and never the placeholder', () => {
    const decision = policy.decideRequest(request('https://api.github.com/repos/me/app', ['Authorization', `Bearer ${PLACEHOLDER}`, 'X-Other', PLACEHOLDER, 'Accept', '*/*']))
    expect(decision.action).toBe('allow')
    if (decision.action !== 'allow') return
    expect(decision.headers).toEqual(['Host', 'api.github.com', 'Accept', '*/*', 'Authorization', `Bearer ${TOKEN}`])
    expect(decision.injected).toEqual({ scheme: 'Bearer', slot: 'github' })
    expect(decision.path).toBe('/repos/me/app')
  })

  it('redacts the path of a request whose URL carries the secret', () => {
    const decision = policy.decideRequest(request(`https://plain.example.com/${TOKEN}`))
    expect(decision.action === 'deny' && decision.redact).toEqual({ host: false, path: true })
    expect(decision.action === 'deny' && decision.denial.reason).not.toContain(TOKEN)
  })

  it('allows and reports findings in warn mode', () => {
    const warn = policyFor({ ...config, dlp: { action: 'warn' } })
    const decision = warn.decideRequest(request(`https://plain.example.com/?t=${TOKEN}`))
    expect(decision.action).toBe('allow')
    expect(decision.action === 'allow' && decision.warnings.map((f) => f.rule)).toEqual(['known-secret'])
  })

  it('warn mode covers every new layer: splits, windows across requests, unreadable encodings, WebSocket joins', () => {
    const warn = policyFor({ ...config, dlp: { action: 'warn' } })
    const block = policyFor(config)
    const half = TOKEN.length / 2
    const split = `https://plain.example.com/?a=${TOKEN.slice(0, half)}&b=${TOKEN.slice(half)}`
    const acrossFirst = `https://plain.example.com/?q=${TOKEN.slice(0, half)}`
    const acrossSecond = `https://plain.example.com/?q=${TOKEN.slice(half)}`
    for (const [policy, want] of [[warn, 'allow'], [block, 'deny']] as const) {
      const within = policy.decideRequest(request(split))
      expect(within.action).toBe(want)
      if (within.action === 'allow') expect(within.warnings.map((f) => f.location)).toContain('url.query(joined)')
      expect(policy.decideRequest(request(acrossFirst)).action).toBe('allow')
      const across = policy.decideRequest(request(acrossSecond))
      expect(across.action).toBe(want)
      // The same refused request again is judged again, not waved through as a repeat.
      if (want === 'deny') expect(policy.decideRequest(request(acrossSecond)).action).toBe('deny')
      if (across.action === 'allow') expect(across.warnings.map((f) => f.location)).toContain('recent-requests:query:q')
      const allowed = policy.decideRequest(request('https://plain.example.com/upload'))
      if (allowed.action !== 'allow') throw new Error('expected allow')
      const xz = new Uint8Array([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00, 1, 2, 3, 4])
      expect(policy.inspectBody(allowed, xz).ok).toBe(want === 'allow')
      const recent: string[] = []
      expect(policy.inspectMessage(allowed, 'text', Buffer.from(TOKEN.slice(0, half)), recent).ok).toBe(true)
      expect(policy.inspectMessage(allowed, 'text', Buffer.from(TOKEN.slice(half)), recent).ok).toBe(want === 'allow')
    }
  })

  it('keeps body checks closed in warn mode', () => {
    const warn = policyFor({ ...config, dlp: { action: 'warn' } })
    const decision = warn.decideRequest(request('https://plain.example.com/', ['Content-Encoding', 'br']))
    if (decision.action !== 'allow') throw new Error('expected allow')
    expect(warn.inspectBody(decision, new Uint8Array([1, 2, 3]))).toMatchObject({ ok: false, denial: { rule: 'body-unscannable' } })
  })
})

describe('inspectBody', () => {
  const policy = policyFor(config)
  const allowed = policy.decideRequest(request('https://plain.example.com/', ['Content-Type', 'application/json']))
  if (allowed.action !== 'allow') throw new Error('expected allow')
  const cases = [
    { name: 'clean body', body: '{"a":1}', want: 'ok' },
    { name: 'known secret in the body', body: `{"token":"${TOKEN}"}`, want: 'dlp' },
  ]
  it.each(cases)('$name', ({ body, want }) => {
    const verdict = policy.inspectBody(allowed, Buffer.from(body))
    expect(verdict.ok ? 'ok' : verdict.denial.rule).toBe(want)
  })
})

describe('decideConnect', () => {
  const policy = policyFor(config)
  const cases = [
    { name: 'intercept route', host: 'api.github.com', port: 443, want: 'intercept https://api.github.com:443' },
    { name: 'passthrough route', host: 'x.cdn.example.com', port: 443, want: 'passthrough https://x.cdn.example.com:443' },
    { name: 'upstream override', host: 'internal.example.com', port: 443, want: 'intercept https://gateway.example.com:8443' },
    { name: 'secret as subdomain of a passthrough wildcard', host: `${TOKEN}.cdn.example.com`, port: 443, want: 'deny dlp' },
    { name: 'unlisted port', host: 'api.github.com', port: 8443, want: 'deny port-not-allowed' },
  ]
  it.each(cases)('$name', ({ host, port, want }) => {
    const canonical = canonicalHost(host)
    if (!canonical.ok) throw new Error(canonical.reason)
    const decision = policy.decideConnect({ host: canonical.value, port })
    const got = decision.action === 'deny' ? `deny ${decision.denial.rule}` : `${decision.action} ${decision.dial.scheme}://${decision.dial.host}:${decision.dial.port}`
    expect(got).toBe(want)
  })
})

describe('rate limits', () => {
  it('refuses requests past the per-minute budget of the base domain, naming the rule', () => {
    let now = 0
    const policy = policyFor({ ...config, routes: [{ host: '*.example.com' }], limits: { requestsPerMinute: 2 } }, undefined, () => now)
    const outcomes = ['a', 'b', 'c'].map((sub) => {
      const decision = policy.decideRequest(request(`https://${sub}.example.com/`))
      return decision.action === 'allow' ? 'allow' : decision.denial.rule
    })
    expect(outcomes).toEqual(['allow', 'allow', 'rate-limit-requests'])
    now += 30_000
    expect(policy.decideRequest(request('https://d.example.com/')).action).toBe('allow')
  })

  it('counts every CONNECT, so fresh subdomains cannot leak through name lookups unbounded', () => {
    const policy = policyFor({ ...config, routes: [{ host: '*.example.com' }], limits: { requestsPerMinute: 3 } }, undefined, () => 0)
    const outcomes = ['a', 'b', 'c', 'd'].map((sub) => {
      const host = canonicalHost(`${sub}.example.com`)
      if (!host.ok) throw new Error(host.reason)
      const decision = policy.decideConnect({ host: host.value, port: 443 })
      return decision.action === 'deny' ? decision.denial.rule : decision.action
    })
    expect(outcomes).toEqual(['intercept', 'intercept', 'intercept', 'rate-limit-requests'])
  })

  it('refuses bytes past the per-minute budget', () => {
    const policy = policyFor({ ...config, limits: { bytesPerMinute: 4096 } }, undefined, () => 0)
    expect(policy.chargeBytes('example.com', 4000)).toBeUndefined()
    expect(policy.chargeBytes('example.com', 200)?.rule).toBe('rate-limit-bytes')
  })
})

describe('checkAddress', () => {
  const policy = policyFor({ ...config, allowPrivate: ['10.1.0.0/16'] })
  it.each([
    ['8.8.8.8', 'ok'],
    ['10.1.2.3', 'ok'],
    ['10.2.0.1', 'ssrf'],
    ['169.254.169.254', 'ssrf'],
    ['::ffff:127.0.0.1', 'ssrf'],
  ])('%s -> %s', (address, want) => {
    expect(policy.checkAddress(address)?.rule ?? 'ok').toBe(want)
  })
})

describe('a policy that throws', () => {
  it('denies with policy-error', () => {
    const broken: DlpScanner = {
      scanText: () => {
        throw new Error('engine bug')
      },
      scanUrl: () => [],
      scanHost: () => [],
      scanBody: () => ({ ok: true, findings: [] }),
      scanJoined: () => [],
    }
    const policy = policyFor(config, broken)
    const got = callPolicy(() => policy.decideRequest(request('https://plain.example.com/', ['Accept', '*/*'])))
    expect(got).toMatchObject({ rule: 'policy-error' })
  })
})
