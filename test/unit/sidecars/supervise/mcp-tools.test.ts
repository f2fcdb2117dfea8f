import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { parseRouteRequest } from '../../../../sidecars/supervise/route-request.js'
import { CONFIG, SuperviseFixture, textOf } from './support/supervise-fixture.js'

let fixture: SuperviseFixture
let client: Client

beforeEach(async () => {
  fixture = await SuperviseFixture.start()
  client = await fixture.client()
})

afterEach(async () => {
  await fixture.stop()
})

async function requestFiles(): Promise<string[]> {
  return (await readdir(join(fixture.stateDir, 'requests')).catch(() => [] as string[])).filter((n) => !n.startsWith('.')).sort()
}

describe('the tool list', () => {
  it('offers exactly the three tools, each with a strict input schema', async () => {
    const { tools } = await client.listTools()
    expect(tools.map((t) => t.name).sort()).toEqual(['list-egress-routes', 'proposal-status', 'propose-egress-route'])
    const propose = tools.find((t) => t.name === 'propose-egress-route')!
    expect(propose.inputSchema.required).toEqual(['host', 'reason'])
    expect(propose.inputSchema.additionalProperties).toBe(false)
  })
})

describe('list-egress-routes', () => {
  it('returns the live routes with host, paths, tls and whether auth is injected, and no slot or upstream', async () => {
    const result = await client.callTool({ name: 'list-egress-routes', arguments: {} })
    expect(result.isError).toBeFalsy()
    expect(result.structuredContent).toEqual({
      appliedAt: '2025-01-01T00:00:00.000Z',
      routes: [
        { host: 'api.github.com', paths: ['/repos/me/'], tls: 'intercept', authInjected: true },
        { host: '*.githubusercontent.com', tls: 'passthrough', authInjected: false },
        { host: 'internal-api.example.com', tls: 'intercept', authInjected: false },
      ],
    })
    expect(textOf(result)).not.toMatch(/GH_TOKEN|slot|gateway\.example\.com/)
  })

  it('says so when egress has not reported its routes yet', async () => {
    await fixture.stop()
    fixture = await SuperviseFixture.start(CONFIG, null)
    client = await fixture.client()
    const result = await client.callTool({ name: 'list-egress-routes', arguments: {} })
    expect(result.isError).toBe(true)
    expect(textOf(result)).toMatch(/egress proxy has not reported its routes yet/)
  })
})

describe('propose-egress-route', () => {
  it('writes one request file per proposal, numbered for the agent, and returns its id', async () => {
    const first = await client.callTool({ name: 'propose-egress-route', arguments: { host: 'docs.example.com', paths: ['/v1/'], reason: 'the build reads the docs index' } })
    expect(first.isError).toBeFalsy()
    expect(first.structuredContent).toMatchObject({ id: 'impl-1', phase: 'Pending' })
    expect(textOf(first)).toContain('bottle approve impl-1')
    const second = await client.callTool({ name: 'propose-egress-route', arguments: { host: 'pypi.org', reason: 'pip install' } })
    expect(second.structuredContent).toMatchObject({ id: 'impl-2' })

    expect(await requestFiles()).toEqual(['impl-1.json', 'impl-2.json'])
    const parsed = parseRouteRequest(await readFile(join(fixture.stateDir, 'requests/impl-1.json'), 'utf8'))
    expect(parsed).toEqual({
      ok: true,
      value: { version: 1, id: 'impl-1', agent: 'impl', route: { host: 'docs.example.com', paths: ['/v1/'] }, reason: 'the build reads the docs index', requestedAt: '2025-06-01T12:00:00.000Z' },
    })
    expect(fixture.logs.text()).toMatch(/"event":"proposal.submitted","id":"impl-1","host":"docs.example.com"/)
  })

  it('never numbers below the floor the controller gives, nor reuses a number after the controller took the file', async () => {
    await fixture.writeDecisions({ version: 1, nextNumber: 7, proposals: {} })
    const first = await client.callTool({ name: 'propose-egress-route', arguments: { host: 'a.example.com', reason: 'r' } })
    expect(first.structuredContent).toMatchObject({ id: 'impl-7' })
    // The controller files and removes the request, and its floor has not moved yet.
    const { rm } = await import('node:fs/promises')
    await rm(join(fixture.stateDir, 'requests/impl-7.json'))
    const second = await client.callTool({ name: 'propose-egress-route', arguments: { host: 'b.example.com', reason: 'r' } })
    expect(second.structuredContent).toMatchObject({ id: 'impl-8' })
  })

  it('gives concurrent proposals distinct numbers', async () => {
    const results = await Promise.all(
      ['a', 'b', 'c'].map((h) => client.callTool({ name: 'propose-egress-route', arguments: { host: `${h}.example.com`, reason: 'r' } })),
    )
    expect(results.map((r) => (r.structuredContent as { id: string }).id).sort()).toEqual(['impl-1', 'impl-2', 'impl-3'])
  })

  // Each row is refused with isError and a clear line, and the server keeps serving afterwards.
  const refused: { name: string; args: Record<string, unknown>; want: RegExp }[] = [
    { name: 'a host that is not a string', args: { host: 42, reason: 'r' }, want: /Input validation error/ },
    { name: 'no reason', args: { host: 'a.example.com' }, want: /Input validation error.*reason/s },
    { name: 'an empty reason', args: { host: 'a.example.com', reason: '' }, want: /Input validation error/ },
    { name: 'paths that are not a list', args: { host: 'a.example.com', paths: '/v1/', reason: 'r' }, want: /Input validation error/ },
    { name: 'a token', args: { host: 'a.example.com', reason: 'r', auth: { scheme: 'Bearer', tokenRef: { env: 'X' } } }, want: /Input validation error.*auth/s },
    { name: 'a private-address allowance', args: { host: 'a.example.com', reason: 'r', allowPrivate: ['10.0.0.0/8'] }, want: /Input validation error.*allowPrivate/s },
    { name: 'a passthrough', args: { host: 'a.example.com', reason: 'r', tls: 'passthrough' }, want: /Input validation error.*tls/s },
    { name: 'an upstream', args: { host: 'a.example.com', reason: 'r', upstream: 'http://10.0.0.1' }, want: /Input validation error.*upstream/s },
    { name: '"*"', args: { host: '*', reason: 'r' }, want: /refused: "\*" would allow every host/ },
    { name: '*.com', args: { host: '*.com', reason: 'r' }, want: /refused: .*wildcard over a top-level domain/ },
    { name: 'an IP literal', args: { host: '203.0.113.9', reason: 'r' }, want: /refused: .*IP literal/ },
    { name: 'a relative path', args: { host: 'a.example.com', paths: ['v1/'], reason: 'r' }, want: /refused: .*must start with "\/"/ },
    { name: 'a host the proxy already allows', args: { host: 'API.github.com', reason: 'r' }, want: /refused: API.github.com is already allowed by the route api.github.com/ },
    { name: 'a host under a live wildcard', args: { host: 'raw.githubusercontent.com', reason: 'r' }, want: /already allowed by the route \*\.githubusercontent\.com/ },
  ]
  it.each(refused)('refuses $name and keeps serving', async ({ args, want }) => {
    const result = await client.callTool({ name: 'propose-egress-route', arguments: args })
    expect(result.isError).toBe(true)
    expect(textOf(result)).toMatch(want)
    expect(await requestFiles()).toEqual([])
    const after = await client.callTool({ name: 'list-egress-routes', arguments: {} })
    expect(after.isError).toBeFalsy()
  })

  it('refuses a second proposal for a host that is already waiting', async () => {
    await client.callTool({ name: 'propose-egress-route', arguments: { host: 'docs.example.com', reason: 'r' } })
    const again = await client.callTool({ name: 'propose-egress-route', arguments: { host: 'DOCS.example.com', reason: 'r' } })
    expect(again.isError).toBe(true)
    expect(textOf(again)).toMatch(/already proposed as impl-1/)
  })

  it('refuses once maxPending proposals are waiting, counting requests and pending decisions', async () => {
    await fixture.writeDecisions({ version: 1, nextNumber: 2, proposals: { 'impl-1': { phase: 'Pending', host: 'a.example.com' } } })
    for (const host of ['b.example.com', 'c.example.com']) {
      expect((await client.callTool({ name: 'propose-egress-route', arguments: { host, reason: 'r' } })).isError).toBeFalsy()
    }
    const over = await client.callTool({ name: 'propose-egress-route', arguments: { host: 'd.example.com', reason: 'r' } })
    expect(over.isError).toBe(true)
    expect(textOf(over)).toMatch(/3 proposals are already waiting for a human \(at most 3\)/)
    expect(fixture.logs.text()).toMatch(/"event":"tool.refused","tool":"propose-egress-route","code":"rate-limited"/)
  })

  it('refuses until the controller has written a config', async () => {
    await fixture.stop()
    fixture = await SuperviseFixture.start(null)
    client = await fixture.client()
    const result = await client.callTool({ name: 'propose-egress-route', arguments: { host: 'a.example.com', reason: 'r' } })
    expect(result.isError).toBe(true)
    expect(textOf(result)).toMatch(/no configuration from the controller yet/)
  })

  it('never logs the reason the agent wrote', async () => {
    await client.callTool({ name: 'propose-egress-route', arguments: { host: 'a.example.com', reason: 'marker-reason-text' } })
    await client.callTool({ name: 'propose-egress-route', arguments: { host: '*', reason: 'marker-refused-text' } })
    expect(fixture.logs.text()).not.toMatch(/marker-/)
  })
})

describe('proposal-status', () => {
  it('follows a proposal from submitted to approved and live', async () => {
    await client.callTool({ name: 'propose-egress-route', arguments: { host: 'docs.example.com', reason: 'r' } })
    const submitted = await client.callTool({ name: 'proposal-status', arguments: { id: 'impl-1' } })
    expect(submitted.structuredContent).toEqual({ id: 'impl-1', phase: 'Pending', host: 'docs.example.com', message: 'submitted; the controller has not filed it yet' })

    await fixture.writeDecisions({ version: 1, nextNumber: 2, proposals: { 'impl-1': { phase: 'Approved', host: 'docs.example.com', decidedAt: '2025-06-01T12:01:00Z' } } })
    const approved = await client.callTool({ name: 'proposal-status', arguments: { id: 'impl-1' } })
    expect(approved.structuredContent).toMatchObject({ id: 'impl-1', phase: 'Approved', live: false })

    const { routes, ...rest } = (await import('./support/supervise-fixture.js')).APPLIED
    await fixture.writeApplied({ ...rest, routes: [...routes, { host: 'docs.example.com', tls: 'intercept' }] })
    const live = await client.callTool({ name: 'proposal-status', arguments: { id: 'impl-1' } })
    expect(live.structuredContent).toMatchObject({ phase: 'Approved', live: true })
  })

  it('reports a rejection with its reason', async () => {
    await fixture.writeDecisions({ version: 1, nextNumber: 3, proposals: { 'impl-2': { phase: 'Rejected', host: 'x.example.com', message: 'use the mirror instead', decidedAt: '2025-06-01T12:01:00Z' } } })
    const result = await client.callTool({ name: 'proposal-status', arguments: { id: 'impl-2' } })
    expect(result.structuredContent).toEqual({ id: 'impl-2', phase: 'Rejected', host: 'x.example.com', message: 'use the mirror instead', decidedAt: '2025-06-01T12:01:00Z' })
  })

  const refused: { name: string; args: Record<string, unknown>; want: RegExp }[] = [
    { name: 'an unknown id', args: { id: 'impl-9' }, want: /refused: there is no proposal impl-9 for agent impl/ },
    { name: "another agent's id", args: { id: 'other-1' }, want: /refused: there is no proposal other-1/ },
    { name: 'a malformed id', args: { id: '../../etc/passwd' }, want: /Input validation error/ },
    { name: 'no id', args: {}, want: /Input validation error/ },
    { name: 'an id that is a number', args: { id: 1 }, want: /Input validation error/ },
  ]
  it.each(refused)('refuses $name and keeps serving', async ({ args, want }) => {
    const result = await client.callTool({ name: 'proposal-status', arguments: args })
    expect(result.isError).toBe(true)
    expect(textOf(result)).toMatch(want)
    expect((await client.callTool({ name: 'list-egress-routes', arguments: {} })).isError).toBeFalsy()
  })
})
