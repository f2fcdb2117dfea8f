import { Agent as HttpAgent } from 'node:http'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { EgressAppliedState } from '../../../../sidecars/shared/bundle-contract.js'
import type { EgressConfigInput } from '../../../../sidecars/egress/config.js'
import { startHarness, type Harness } from './support/proxy-harness.js'
import { startOrigin, type Origin } from './support/origin.js'
import { TunnelAgent, viaProxy, viaTunnel } from './support/proxy-client.js'
import { createTestScanner } from './support/scanner.js'

const FIRST_TOKEN = 'first-slot-token-value-aaaaaaaaaaaa'
const SECOND_TOKEN = 'second-slot-token-value-bbbbbbbbbbb'
let plain: Origin
let secure: Origin
let proxy: Harness

function baseConfig(extra: Partial<EgressConfigInput> = {}): EgressConfigInput {
  return {
    allowPrivate: ['127.0.0.1/32'],
    upstreamCaCerts: [secure.ca?.certPem ?? ''],
    routes: [
      { host: 'a.test', ports: [plain.port] },
      { host: 'api.test', ports: [secure.port], paths: ['/v1/'], auth: { scheme: 'Bearer', slot: 'first' } },
    ],
    ...extra,
  }
}

/**
 * Wait until applied.json was rewritten by a load attempt after `since`
 * (of a config other than `notOf`: a late watch event of an earlier write
 * may load that one again first).
 */
async function nextApplied(since: string, notOf?: string | null): Promise<EgressAppliedState> {
  for (let i = 0; i < 200; i++) {
    const state = await proxy.applied().catch(() => undefined)
    if (state && state.attemptedAt > since && (notOf === undefined || state.attemptedConfigHash !== notOf)) return state
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
  throw new Error('applied.json was not rewritten')
}

beforeAll(async () => {
  plain = await startOrigin()
  secure = await startOrigin({ tls: true })
  proxy = await startHarness({
    createScanner: createTestScanner,
    hosts: { 'a.test': ['127.0.0.1'], 'b.test': ['127.0.0.1'], 'api.test': ['127.0.0.1'], 'new.test': ['127.0.0.1'] },
    secrets: { first: FIRST_TOKEN },
    config: baseConfig(),
  })
})
afterAll(async () => {
  await proxy.close()
  await plain.close()
  await secure.close()
})

describe('live reload', () => {
  it('writes applied.json with the routes in force and no secret values', async () => {
    const state = await proxy.applied()
    expect(state.configHash).toMatch(/^sha256:[0-9a-f]{64}$/)
    expect(state.error).toBeUndefined()
    expect(state.routes).toEqual([
      { host: 'a.test', tls: 'intercept' },
      { host: 'api.test', tls: 'intercept', paths: ['/v1/'], auth: { scheme: 'Bearer', slot: 'first' } },
    ])
    const text = await readFile(join(proxy.stateDir, 'applied.json'), 'utf8')
    expect(text).not.toContain(FIRST_TOKEN)
  })

  it('adds a route on a folder change without dropping an open keep-alive connection', async () => {
    const agent = new HttpAgent({ keepAlive: true, maxSockets: 1 })
    const sockets = new Set<unknown>()
    agent.on('free', (socket) => sockets.add(socket))
    expect((await viaProxy(proxy.port, `http://a.test:${plain.port}/before`, {}, agent)).status).toBe(200)
    expect((await viaProxy(proxy.port, `http://b.test:${plain.port}/before`, {}, agent)).status).toBe(403)

    const since = new Date().toISOString()
    const config = baseConfig()
    config.routes?.push({ host: 'b.test', ports: [plain.port] })
    await proxy.writeConfig(config)
    const state = await nextApplied(since)
    expect(state.routes.map((r) => r.host)).toContain('b.test')

    expect((await viaProxy(proxy.port, `http://b.test:${plain.port}/after`, {}, agent)).status).toBe(200)
    expect((await viaProxy(proxy.port, `http://a.test:${plain.port}/after`, {}, agent)).status).toBe(200)
    expect(sockets.size).toBe(1)
    agent.destroy()
  })

  it('applies new path rules to the next request inside an open intercepted tunnel', async () => {
    await proxy.writeConfig(baseConfig())
    await proxy.reloader.reload('test')
    const agent = new TunnelAgent(proxy.port, { ca: proxy.ca.certPem })
    expect((await viaTunnel(agent, `https://api.test:${secure.port}/v1/x`)).status).toBe(200)
    expect((await viaTunnel(agent, `https://api.test:${secure.port}/v2/x`)).status).toBe(403)
    const config = baseConfig()
    config.routes = [{ host: 'api.test', ports: [secure.port], paths: ['/v2/'], auth: { scheme: 'Bearer', slot: 'first' } }]
    await proxy.writeConfig(config)
    await proxy.reloader.reload('test')
    expect((await viaTunnel(agent, `https://api.test:${secure.port}/v2/x`)).status).toBe(200)
    expect((await viaTunnel(agent, `https://api.test:${secure.port}/v1/x`)).status).toBe(403)
    expect(proxy.logs.filter((l) => l.event === 'tunnel.opened' && l.host === 'api.test')).toHaveLength(1)
    agent.destroy()
  })

  it('keeps the old config when the new one is invalid, and says why', async () => {
    await proxy.writeConfig(baseConfig())
    await proxy.reloader.reload('test')
    const good = await proxy.applied()
    const since = new Date().toISOString()
    await proxy.writeConfig({ ...baseConfig(), routes: [{ host: 'a.test', tls: 'passthrough', paths: ['/x'] }] })
    const state = await nextApplied(since, good.configHash)
    expect(state.configHash).toBe(good.configHash)
    expect(state.attemptedConfigHash).not.toBe(good.configHash)
    expect(state.routes).toEqual(good.routes)
    expect(state.error).toBe('routes[0].paths: paths need tls: intercept (a passthrough tunnel cannot see paths)')
    expect(proxy.logs.findLast((l) => l.event === 'config.rejected')).toMatchObject({ keptConfigHash: good.configHash })
    expect((await viaProxy(proxy.port, `http://a.test:${plain.port}/still`)).status).toBe(200)
  })

  const rejected = [
    { name: 'broken JSON', config: '{"routes": [', error: /^config\.json: invalid JSON: / },
    { name: 'a slot missing from secrets.json', config: JSON.stringify({ routes: [{ host: 'x.test', auth: { scheme: 'Bearer', slot: 'nope' } }] }), error: /^routes\[0\]\.auth\.slot: nope is not in secrets\.json$/ },
  ]
  it.each(rejected)('rejects $name with a one-line error', async ({ config, error }) => {
    await proxy.writeConfig(config)
    await proxy.reloader.reload('test')
    const state = await proxy.applied()
    expect(state.error).toMatch(error)
    expect(state.error).not.toMatch(/\n/)
  })

  it('serves a route added later with a new slot, without restarting anything', async () => {
    const config = baseConfig()
    config.routes?.push({ host: 'new.test', ports: [secure.port], auth: { scheme: 'token', slot: 'second' } })
    await proxy.writeConfig(config, { first: FIRST_TOKEN, second: SECOND_TOKEN })
    await proxy.reloader.reload('signal')
    const agent = new TunnelAgent(proxy.port, { ca: proxy.ca.certPem })
    const before = secure.seen.length
    expect((await viaTunnel(agent, `https://new.test:${secure.port}/repo`)).status).toBe(200)
    expect(secure.seen[before]?.headers.authorization).toBe(`token ${SECOND_TOKEN}`)
    agent.destroy()
    expect(JSON.stringify(proxy.logs)).not.toContain(SECOND_TOKEN)
  })
})
