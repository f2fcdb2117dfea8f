import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { SuperviseFixture } from './support/supervise-fixture.js'

let fixture: SuperviseFixture

beforeAll(async () => {
  fixture = await SuperviseFixture.start()
})

afterAll(async () => {
  await fixture.stop()
})

const INITIALIZE = {
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'curl', version: '1' } },
}

describe('the HTTP endpoint', () => {
  const cases: { name: string; path: string; init: RequestInit; status: number; want: RegExp }[] = [
    { name: 'GET /mcp (no server stream in stateless mode)', path: '/mcp', init: { method: 'GET' }, status: 405, want: /method not allowed/ },
    { name: 'DELETE /mcp', path: '/mcp', init: { method: 'DELETE' }, status: 405, want: /method not allowed/ },
    { name: 'another path', path: '/other', init: { method: 'POST', body: '{}' }, status: 404, want: /the MCP endpoint is \/mcp/ },
    { name: 'a body that is not JSON', path: '/mcp', init: { method: 'POST', body: 'not json', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' } }, status: 400, want: /parse error/ },
    { name: 'a body over 1 MiB', path: '/mcp', init: { method: 'POST', body: 'x'.repeat(1024 * 1024 + 10), headers: { 'content-type': 'application/json' } }, status: 413, want: /over 1048576 bytes/ },
  ]
  it.each(cases)('refuses $name with a JSON-RPC error and keeps serving', async ({ path, init, status, want }) => {
    const response = await fetch(new URL(path, fixture.url), init)
    expect(response.status).toBe(status)
    expect(await response.text()).toMatch(want)
    const health = await fetch(new URL('/healthz', fixture.url))
    expect(await health.text()).toBe('ok\n')
  })

  it('answers initialize in plain JSON without a session', async () => {
    const response = await fetch(fixture.url, {
      method: 'POST',
      body: JSON.stringify(INITIALIZE),
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
    })
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toMatch(/application\/json/)
    expect(response.headers.get('mcp-session-id')).toBeNull()
    const body = (await response.json()) as { result: { serverInfo: { name: string }; capabilities: { tools?: object } } }
    expect(body.result.serverInfo.name).toBe('bottle-supervise')
    expect(body.result.capabilities.tools).toBeDefined()
  })
})
