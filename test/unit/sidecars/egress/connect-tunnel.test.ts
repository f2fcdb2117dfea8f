import { connect as netConnect } from 'node:net'
import { connect as tlsConnect } from 'node:tls'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startHarness, type Harness } from './support/proxy-harness.js'
import { startOrigin, type Origin } from './support/origin.js'
import { connectThrough, TunnelAgent, viaTunnel } from './support/proxy-client.js'
import { createTestScanner } from './support/scanner.js'

let origin: Origin
let proxy: Harness

beforeAll(async () => {
  origin = await startOrigin({ tls: true })
  proxy = await startHarness({
    createScanner: createTestScanner,
    hosts: {
      'pass.test': ['127.0.0.1'],
      'metadata.test': ['169.254.169.254'],
      'private.test': ['10.1.2.3'],
      'mixed.test': ['93.184.215.14', '192.168.1.10'],
      'mapped.test': ['::ffff:127.0.0.2'],
    },
    config: {
      allowPrivate: ['127.0.0.1/32'],
      routes: [
        { host: 'pass.test', ports: [origin.port], tls: 'passthrough' },
        { host: 'metadata.test', tls: 'passthrough' },
        { host: 'private.test' },
        { host: 'mixed.test' },
        { host: 'mapped.test' },
        { host: 'nowhere.test' },
        { host: '169.254.169.254' },
        { host: '10.0.0.1', tls: 'passthrough' },
      ],
    },
  })
})
afterAll(async () => {
  await proxy.close()
  await origin.close()
})

describe('passthrough tunnels', () => {
  it('tunnel TLS end to end: the agent sees the origin certificate, not a leaf from the agent CA', async () => {
    const agent = new TunnelAgent(proxy.port, { ca: origin.ca?.certPem ?? '' })
    const before = origin.seen.length
    const answer = await viaTunnel(agent, `https://pass.test:${origin.port}/through`)
    expect(answer.status).toBe(200)
    expect(origin.seen[before]?.servername).toBe('pass.test')
    agent.destroy()
    expect(proxy.logs.find((l) => l.event === 'tunnel.opened')).toMatchObject({ mode: 'passthrough', host: 'pass.test' })
  })

  it('refuses a ClientHello naming another host', async () => {
    const answer = await connectThrough(proxy.port, `pass.test:${origin.port}`)
    expect(answer.status).toBe(200)
    const tls = tlsConnect({ socket: answer.socket, servername: 'evil.test', rejectUnauthorized: false })
    const outcome = await new Promise<string>((resolve) => {
      tls.once('secureConnect', () => resolve('handshake completed'))
      tls.once('error', () => resolve('refused'))
      tls.once('close', () => resolve('refused'))
    })
    expect(outcome).toBe('refused')
    expect(proxy.logs.findLast((l) => l.event === 'tunnel.denied')).toMatchObject({ rule: 'sni-mismatch', host: 'pass.test' })
  })

  it('refuses bytes that are not TLS', async () => {
    const answer = await connectThrough(proxy.port, `pass.test:${origin.port}`)
    expect(answer.status).toBe(200)
    answer.socket.write('GET / HTTP/1.1\r\nHost: pass.test\r\n\r\n')
    const rest = await answer.body()
    expect(rest).toBe('')
    expect(proxy.logs.findLast((l) => l.event === 'tunnel.denied')).toMatchObject({ rule: 'malformed-request' })
  })
})

describe('CONNECT refusals (before any tunnel)', () => {
  const cases = [
    { name: 'a host no route lists', authority: 'unlisted.test:443', rule: 'no-route' },
    { name: 'a port the route does not list', authority: 'pass.test:22', rule: 'port-not-allowed' },
    { name: 'a direct IP no route lists', authority: '93.184.215.14:443', rule: 'ip-literal' },
    { name: 'a direct IPv6 literal no route lists', authority: '[2606:2800:220:1::]:443', rule: 'ip-literal' },
    { name: 'the metadata address, even when a route lists it', authority: '169.254.169.254:443', rule: 'ssrf' },
    { name: 'a private address a route lists but allowPrivate does not open', authority: '10.0.0.1:443', rule: 'ssrf' },
    { name: 'a name resolving to the metadata address', authority: 'metadata.test:443', rule: 'ssrf' },
    { name: 'a name resolving to a private address', authority: 'private.test:443', rule: 'ssrf' },
    { name: 'a name resolving to public and private addresses', authority: 'mixed.test:443', rule: 'ssrf' },
    { name: 'a name resolving to a mapped loopback address not opened', authority: 'mapped.test:443', rule: 'ssrf' },
    { name: 'a target without a port', authority: 'pass.test', rule: 'malformed-request' },
  ]
  it.each(cases)('refuses $name with 403 and the marker', async ({ authority, rule }) => {
    const answer = await connectThrough(proxy.port, authority)
    expect(answer.status).toBe(403)
    expect(answer.headers['x-bottle-egress']).toBe('denied')
    expect(answer.headers['x-bottle-egress-rule']).toBe(rule)
    expect(await answer.body()).toMatch(new RegExp(`^bottle-egress: ${rule}: `))
  })

  it('answers 502 (not a denial) when the name does not resolve', async () => {
    const answer = await connectThrough(proxy.port, 'nowhere.test:443')
    expect(answer.status).toBe(502)
    expect(answer.headers['x-bottle-egress']).toBe('upstream-error')
  })

  it('answers a garbled request line with a malformed-request denial and stays up', async () => {
    const socket = netConnect(proxy.port, '127.0.0.1')
    socket.write('CONNECT \x00\x01 nonsense\r\n\r\n')
    const reply = await new Promise<string>((resolve) => {
      let text = ''
      socket.on('data', (chunk: Buffer) => (text += chunk.toString()))
      socket.on('close', () => resolve(text))
    })
    expect(reply).toMatch(/^HTTP\/1\.1 403 Forbidden/)
    expect(reply).toContain('bottle-egress: malformed-request')
    expect((await connectThrough(proxy.port, 'unlisted.test:443')).status).toBe(403)
  })

  it('names the rule in the log line, and the reason without the address text the agent chose', async () => {
    await connectThrough(proxy.port, 'metadata.test:443').then((a) => a.body())
    expect(proxy.logs.findLast((l) => l.event === 'tunnel.denied')).toMatchObject({ rule: 'ssrf', host: 'metadata.test', reason: expect.stringContaining('metadata') })
  })
})
