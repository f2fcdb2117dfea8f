import { describe, expect, it } from 'vitest'
import { SampleRandom, SECRET_SAMPLES } from '../../../../../fixtures/secret-samples.js'
import { formatFeedLine, parseDecision, summarizeDecision, type FeedLine } from '../../../../../controller/cli/dashboard/decision-feed.js'

const T = Date.parse('2025-06-01T12:00:00.000Z')
const egress = (fields: Record<string, unknown>) => JSON.stringify({ level: 30, time: T, component: 'egress', ...fields })
const gate = (fields: Record<string, unknown>) => JSON.stringify({ level: 40, time: '2025-06-01T12:00:00.000Z', component: 'git-gate', ...fields })

describe('parseDecision: bundle log lines as feed lines', () => {
  const cases: { name: string; line: string; want: Omit<FeedLine, 'at' | 'daemon'> | undefined }[] = [
    { name: 'allowed request', line: egress({ event: 'request.allowed', method: 'GET', host: 'registry.npmjs.org', path: '/left-pad', status: 200 }), want: { outcome: 'allowed', subject: 'GET registry.npmjs.org/left-pad 200', host: 'registry.npmjs.org' } },
    { name: 'refused request with its rule', line: egress({ event: 'request.denied', rule: 'no-route', method: 'POST', host: 'docs.example.com', path: '/x' }), want: { outcome: 'refused', rule: 'no-route', subject: 'POST docs.example.com/x', host: 'docs.example.com' } },
    { name: 'refused CONNECT', line: egress({ event: 'tunnel.denied', rule: 'no-route', host: 'docs.example.com', port: 443 }), want: { outcome: 'refused', rule: 'no-route', subject: 'CONNECT docs.example.com', host: 'docs.example.com' } },
    { name: 'redacted answer', line: egress({ event: 'answer.redacted', rule: 'injected-credential', host: 'api.github.com', where: 'body', count: 1 }), want: { outcome: 'redacted', rule: 'injected-credential', subject: 'api.github.com body', host: 'api.github.com' } },
    { name: 'a passthrough tunnel is the only trace of its requests', line: egress({ event: 'tunnel.opened', mode: 'passthrough', host: 'cdn.example.com', port: 443, route: 'cdn.example.com' }), want: { outcome: 'allowed', subject: 'CONNECT cdn.example.com (passthrough)', host: 'cdn.example.com' } },
    { name: 'an intercepted tunnel is not a decision of its own', line: egress({ event: 'tunnel.opened', mode: 'intercept', host: 'a.example.com', port: 443, route: 'a.example.com' }), want: undefined },
    { name: 'a push refused by the scan names rule and place', line: gate({ event: 'push.refused', remote: 'origin', refs: ['refs/heads/main'], commits: 1, findings: [{ rule: 'aws-access-key', location: 'src/keys.ts:3' }] }), want: { outcome: 'refused', rule: 'aws-access-key', subject: 'push origin refs/heads/main at src/keys.ts:3' } },
    { name: 'a forwarded push', line: gate({ event: 'push.forwarded', remote: 'origin', refs: ['refs/heads/main'] }), want: { outcome: 'pushed', subject: 'push origin refs/heads/main' } },
    { name: 'lifecycle lines are not decisions', line: egress({ event: 'config.applied', configHash: 'sha256:x', routes: 2 }), want: undefined },
    { name: 'init lines and junk', line: '{"component":"init","event":"daemon-started"}', want: undefined },
    { name: 'not JSON', line: 'hello', want: undefined },
  ]
  it.each(cases)('$name', ({ line, want }) => {
    const got = parseDecision(line, 0)
    if (want === undefined) expect(got).toBeUndefined()
    else expect(got).toEqual({ at: T, daemon: JSON.parse(line).component, ...want })
  })

  it('a path or host shaped like a credential is shown as [redacted]', () => {
    const token = SECRET_SAMPLES['aws-access-key-id']!.generate(new SampleRandom(17))
    const got = parseDecision(egress({ event: 'request.denied', rule: 'no-route', method: 'GET', host: 'x.example.com', path: `/u/${token}` }), 0)
    expect(got?.subject).toBe('GET x.example.com[redacted]')
    expect(JSON.stringify(got)).not.toContain(token)
  })
})

describe('formatting', () => {
  const line: FeedLine = { at: T, daemon: 'egress', outcome: 'refused', rule: 'no-route', subject: 'CONNECT docs.example.com', host: 'docs.example.com' }
  it('one line with time, daemon, outcome, rule and subject, cut to the width', () => {
    expect(formatFeedLine(line, 200)).toMatch(/^\d\d:\d\d:\d\d egress {3}refused {2}no-route {7}CONNECT docs\.example\.com$/)
    expect(formatFeedLine(line, 30)).toHaveLength(30)
  })
  it('the agents table summary', () => {
    expect(summarizeDecision(line)).toBe('refused no-route docs.example.com')
    expect(summarizeDecision(undefined)).toBe('-')
  })
})
