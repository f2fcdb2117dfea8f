import { connect as tlsConnect } from 'node:tls'
import { execa } from 'execa'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startHarness, type Harness } from './support/proxy-harness.js'
import { startOrigin, type Origin } from './support/origin.js'
import { connectThrough, TunnelAgent, TunnelRefused, viaTunnel } from './support/proxy-client.js'
import { createTestScanner } from './support/scanner.js'

const TOKEN = 'real-token-value-the-agent-never-sees-0123456789'
const PLACEHOLDER = 'placeholder-token-for-agent'
let origin: Origin
let proxy: Harness
let agent: TunnelAgent

beforeAll(async () => {
  origin = await startOrigin({ tls: true })
  proxy = await startHarness({
    createScanner: createTestScanner,
    hosts: { 'api.test': ['127.0.0.1'], 'open.test': ['127.0.0.1'], 'other.test': ['127.0.0.1'] },
    secrets: { github: TOKEN },
    config: {
      allowPrivate: ['127.0.0.1/32'],
      placeholders: [PLACEHOLDER],
      upstreamCaCerts: [origin.ca?.certPem ?? ''],
      routes: [
        { host: 'api.test', ports: [origin.port], paths: ['/repos/me/'], auth: { scheme: 'Bearer', slot: 'github' } },
        { host: 'open.test', ports: [origin.port] },
        { host: 'gateway.test', upstream: `https://127.0.0.1:${origin.port}`, auth: { scheme: 'token', slot: 'github' } },
      ],
    },
  })
  agent = new TunnelAgent(proxy.port, { ca: proxy.ca.certPem })
})
afterAll(async () => {
  agent.destroy()
  await proxy.close()
  await origin.close()
})

describe('TLS interception', () => {
  it('terminates TLS with a leaf for the CONNECT host that the agent CA vouches for', async () => {
    const answer = await connectThrough(proxy.port, `api.test:${origin.port}`)
    expect(answer.status).toBe(200)
    const tls = tlsConnect({ socket: answer.socket, servername: 'api.test', ca: proxy.ca.certPem })
    await new Promise<void>((resolve, reject) => {
      tls.once('secureConnect', resolve)
      tls.once('error', reject)
    })
    expect(tls.authorized).toBe(true)
    expect(tls.getPeerX509Certificate()?.subjectAltName).toBe('DNS:api.test')
    expect(tls.alpnProtocol).toBe(false)
    tls.destroy()
  })

  it('injects the route credential in place of what the agent sent', async () => {
    const before = origin.seen.length
    const answer = await viaTunnel(agent, `https://api.test:${origin.port}/repos/me/app`, { headers: { Authorization: `Bearer ${PLACEHOLDER}` } })
    expect(answer.status).toBe(200)
    const seen = origin.seen[before]
    expect(seen?.headers.authorization).toBe(`Bearer ${TOKEN}`)
    expect(seen?.rawHeaders.filter((h) => h.toLowerCase() === 'authorization')).toHaveLength(1)
    expect(seen?.servername).toBe('api.test')
    expect(seen?.headers.host).toBe(`api.test:${origin.port}`)
  })

  it('never logs the injected value, only its slot', async () => {
    await viaTunnel(agent, `https://api.test:${origin.port}/repos/me/x`)
    expect(JSON.stringify(proxy.logs)).not.toContain(TOKEN)
    expect(proxy.logs.findLast((l) => l.event === 'request.allowed')).toMatchObject({ scheme: 'https', injected: 'Bearer slot github', route: 'api.test' })
  })

  const denied = [
    { name: 'a path outside the route', path: '/repos/mex/app', rule: 'path-not-allowed' },
    { name: 'a dot-segment escape', path: '/repos/me/../other', rule: 'path-not-allowed' },
    { name: 'an encoded dot-segment escape', path: '/repos/me/%2e%2e/other', rule: 'path-not-allowed' },
  ]
  it.each(denied)('refuses $name inside the tunnel', async ({ path, rule }) => {
    const before = origin.seen.length
    const answer = await viaTunnel(agent, `https://api.test:${origin.port}${path}`)
    expect(answer.status).toBe(403)
    expect(answer.headers['x-bottle-egress-rule']).toBe(rule)
    expect(answer.body.startsWith(`bottle-egress: ${rule}`)).toBe(true)
    expect(origin.seen.length).toBe(before)
  })

  it('judges requests by the CONNECT host, not the Host header', async () => {
    const before = origin.seen.length
    const answer = await viaTunnel(agent, `https://open.test:${origin.port}/x`, { headers: { Host: 'api.test' }, servername: 'open.test' })
    expect(answer.status).toBe(200)
    expect(origin.seen[before]?.headers.host).toBe(`open.test:${origin.port}`)
    expect(origin.seen[before]?.headers.authorization).toBeUndefined()
  })

  it('dials the route upstream instead of the requested host, verifying it', async () => {
    const before = origin.seen.length
    const answer = await viaTunnel(agent, 'https://gateway.test/v1/models')
    expect(answer.status).toBe(200)
    expect(origin.seen[before]?.headers.host).toBe('gateway.test')
    expect(origin.seen[before]?.headers.authorization).toBe(`token ${TOKEN}`)
  })

  it('refuses CONNECT to a host no route lists before any tunnel exists', async () => {
    const error = await viaTunnel(agent, `https://other.test:${origin.port}/`).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(TunnelRefused)
    const refused = error as TunnelRefused
    expect(refused.status).toBe(403)
    expect(refused.headers['x-bottle-egress']).toBe('denied')
    expect(refused.body).toMatch(/^bottle-egress: no-route: /)
  })

  it('refuses a ClientHello naming another host than CONNECT did', async () => {
    const answer = await connectThrough(proxy.port, `open.test:${origin.port}`)
    expect(answer.status).toBe(200)
    const tls = tlsConnect({ socket: answer.socket, servername: 'other.test', ca: proxy.ca.certPem, rejectUnauthorized: false })
    const outcome = await new Promise<string>((resolve) => {
      tls.once('secureConnect', () => tls.once('close', () => resolve('closed after handshake')))
      tls.once('error', () => resolve('error'))
      tls.once('close', () => resolve('closed'))
    })
    expect(['closed', 'error', 'closed after handshake']).toContain(outcome)
    expect(proxy.logs.findLast((l) => l.event === 'tunnel.denied')).toMatchObject({ rule: 'sni-mismatch', host: 'open.test' })
  })

  it('works for curl with the agent CA', async () => {
    const caFile = join(proxy.configDir, '..', 'agent-ca.crt')
    await writeFile(caFile, proxy.ca.certPem)
    const result = await execa('curl', ['-sS', '--proxy', `http://127.0.0.1:${proxy.port}`, '--cacert', caFile, '--resolve', `open.test:${origin.port}:127.0.0.1`, `https://open.test:${origin.port}/curl`], { reject: false })
    expect(result.exitCode).toBe(0)
    expect(JSON.parse(result.stdout)).toMatchObject({ url: '/curl' })
  })
})
