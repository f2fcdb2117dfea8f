import { Agent as HttpAgent } from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startHarness, type Harness } from './support/proxy-harness.js'
import { startOrigin, type Origin } from './support/origin.js'
import { viaProxy } from './support/proxy-client.js'
import { createTestScanner } from './support/scanner.js'

const PLACEHOLDER = 'placeholder-token-for-agent'
let origin: Origin
let proxy: Harness

beforeAll(async () => {
  origin = await startOrigin()
  proxy = await startHarness({
    createScanner: createTestScanner,
    hosts: { 'plain.test': ['127.0.0.1'], 'other.test': ['127.0.0.1'], 'sub.wild.test': ['127.0.0.1'] },
    config: {
      allowPrivate: ['127.0.0.1/32'],
      placeholders: [PLACEHOLDER],
      routes: [
        { host: 'plain.test', ports: [origin.port] },
        { host: '*.wild.test', ports: [origin.port], paths: ['/only/'] },
        { host: '127.0.0.1', ports: [origin.port] },
      ],
    },
  })
})
afterAll(async () => {
  await proxy.close()
  await origin.close()
})

describe('plain HTTP forwarding', () => {
  it('forwards an allowed request and streams the answer back', async () => {
    const answer = await viaProxy(proxy.port, `http://plain.test:${origin.port}/hello?x=1`)
    expect(answer.status).toBe(200)
    expect(answer.headers['x-origin']).toBe('yes')
    expect(JSON.parse(answer.body)).toMatchObject({ method: 'GET', url: '/hello?x=1' })
  })

  it('rebuilds Host from the URL and drops hop-by-hop and placeholder headers', async () => {
    const before = origin.seen.length
    await viaProxy(proxy.port, `http://plain.test:${origin.port}/headers`, {
      headers: { Host: 'evil.test', 'Proxy-Authorization': 'Basic eA==', 'X-Api-Key': PLACEHOLDER, 'X-Keep': 'yes', Connection: 'keep-alive, X-Drop', 'X-Drop': '1' },
    })
    const seen = origin.seen[before]
    expect(seen?.headers.host).toBe(`plain.test:${origin.port}`)
    expect(seen?.headers['proxy-authorization']).toBeUndefined()
    expect(seen?.headers['x-api-key']).toBeUndefined()
    expect(seen?.headers['x-drop']).toBeUndefined()
    expect(seen?.headers['x-keep']).toBe('yes')
  })

  it('forwards a request body and its length', async () => {
    const answer = await viaProxy(proxy.port, `http://plain.test:${origin.port}/upload`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"a":1}' })
    expect(JSON.parse(answer.body)).toMatchObject({ method: 'POST', bodyBytes: 7 })
  })

  it('keeps the agent connection alive across requests', async () => {
    const agent = new HttpAgent({ keepAlive: true, maxSockets: 1 })
    const sockets = new Set<unknown>()
    agent.on('free', (socket) => sockets.add(socket))
    for (let i = 0; i < 3; i++) expect((await viaProxy(proxy.port, `http://plain.test:${origin.port}/ka${i}`, {}, agent)).status).toBe(200)
    expect(sockets.size).toBe(1)
    agent.destroy()
  })

  const denials = [
    { name: 'a host no route lists', url: () => `http://other.test:${origin.port}/`, rule: 'no-route' },
    { name: 'a port the route does not list', url: () => `http://plain.test:${origin.port + 1}/`, rule: 'port-not-allowed' },
    { name: 'a direct IP no route lists', url: () => `http://127.0.0.2:${origin.port}/`, rule: 'ip-literal' },
    { name: 'a direct IP in decimal form', url: () => `http://2130706434:${origin.port}/`, rule: 'ip-literal' },
    { name: 'the metadata address', url: () => 'http://169.254.169.254/latest/meta-data/', rule: 'ip-literal' },
    { name: 'a path outside the route', url: () => `http://sub.wild.test:${origin.port}/other/x`, rule: 'path-not-allowed' },
    { name: 'a dot-segment escape from the route path', url: () => `http://sub.wild.test:${origin.port}/only/../other`, rule: 'path-not-canonical' },
    { name: 'a non-HTTP scheme', url: () => 'ftp://plain.test/x', rule: 'unsupported-scheme' },
    { name: 'an origin-form request', url: () => '/not-absolute', rule: 'malformed-request' },
  ]
  it.each(denials)('refuses $name with the bottle-egress marker', async ({ url, rule }) => {
    const before = origin.seen.length
    const answer = await viaProxy(proxy.port, url())
    expect(answer.status).toBe(403)
    expect(answer.headers['x-bottle-egress']).toBe('denied')
    expect(answer.headers['x-bottle-egress-rule']).toBe(rule)
    expect(answer.body).toMatch(new RegExp(`^bottle-egress: ${rule}: .+\\n$`))
    expect(origin.seen.length).toBe(before)
  })

  it('allows a listed IP literal when allowPrivate opens it', async () => {
    expect((await viaProxy(proxy.port, `http://127.0.0.1:${origin.port}/ip`)).status).toBe(200)
  })

  it('logs one line per decision, with the rule and without query strings', async () => {
    await viaProxy(proxy.port, `http://other.test:${origin.port}/p?q=zzz`)
    const line = proxy.logs.findLast((l) => l.event === 'request.denied')
    expect(line).toMatchObject({ event: 'request.denied', rule: 'no-route', host: 'other.test', path: '/p', msg: 'request denied' })
    expect(JSON.stringify(proxy.logs)).not.toContain('zzz')
    const allowed = proxy.logs.find((l) => l.event === 'request.allowed')
    expect(allowed).toMatchObject({ status: 200, route: 'plain.test', scheme: 'http' })
    expect(typeof allowed?.bytesIn).toBe('number')
  })

  it('answers a health check on the proxy port', async () => {
    const answer = await viaProxy(proxy.port, '/healthz')
    expect(answer).toMatchObject({ status: 200, body: 'ok\n' })
  })

  it('reports an unreachable origin as an upstream error, not a denial', async () => {
    // A port that was just closed: allowed by the route, refused by the kernel.
    const closed = await startOrigin()
    const port = closed.port
    await closed.close()
    await proxy.writeConfig({ allowPrivate: ['127.0.0.1/32'], routes: [{ host: 'plain.test', ports: [origin.port, port] }] })
    await proxy.reloader.reload('test')
    const answer = await viaProxy(proxy.port, `http://plain.test:${port}/`)
    expect(answer.status).toBe(502)
    expect(answer.headers['x-bottle-egress']).toBe('upstream-error')
  })
})
