/**
 * The fake provider origins against the real CLIs: Claude Code and Codex,
 * run on this machine against the origins directly (plain HTTP base URL) and
 * as api.anthropic.com / api.openai.com through a small TLS-intercepting
 * CONNECT proxy (HTTPS_PROXY + a custom CA), the way the agent containers
 * reach them through the egress proxy. Each run must print the fake answer and
 * the origin must have seen the placeholder token as a bearer token.
 *
 * The binaries are the pinned ones of the agent images, unpacked from the
 * pinned tarballs (test/helpers/provider-cli-binaries.ts fetches them when missing), or
 * BOTTLE_TEST_CLAUDE_BIN / BOTTLE_TEST_CODEX_BIN. A missing one fails the
 * cases that need it.
 */
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync } from 'node:fs'
import { mkdir, writeFile } from 'node:fs/promises'
import { createServer as createHttpServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http'
import { connect as netConnect, type AddressInfo, type Socket } from 'node:net'
import { dirname, join } from 'node:path'
import type { Duplex } from 'node:stream'
import { TLSSocket } from 'node:tls'
import { once } from 'node:events'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createLeafCertificates, mintCertificateAuthority } from '../../../sidecars/egress/certificates.js'
import { startFakeAnthropicOrigin, startFakeOpenAIOrigin, type FakeProviderOrigin } from '../../helpers/fake-provider-origins.js'
import { providerCliBinary } from '../../helpers/provider-cli-binaries.js'
import { TempFolder } from '../../helpers/temp-folder.js'

// The pinned binaries, fetched and unpacked in beforeAll; a failure there fails these tests (it does not skip them).
let CLAUDE_BIN = ''
let CODEX_BIN = ''

const ANSWER = 'Hello from the bottle fake origin, 7f3a!'
const token = (name: string) => `test-token-${name}-${randomBytes(6).toString('hex')}`

interface Run {
  code: number | null
  stdout: string
  stderr: string
}

/** Runs a CLI with exactly `env` (nothing inherited: no real credential can leak in), stdin closed. */
async function runBinary(bin: string, args: string[], env: Record<string, string>, cwd: string, timeoutMs = 120_000): Promise<Run> {
  const child = spawn(bin, args, { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')))
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')))
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
  const [code] = (await once(child, 'close')) as [number | null]
  clearTimeout(timer)
  return { code, stdout, stderr }
}

function baseEnv(home: string): Record<string, string> {
  return { PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin', HOME: home, LANG: 'C.UTF-8', TERM: 'dumb' }
}

function claudeEnv(home: string, extra: Record<string, string>): Record<string, string> {
  return {
    ...baseEnv(home),
    CLAUDE_CONFIG_DIR: join(home, '.claude'),
    // --dangerously-skip-permissions refuses root without it.
    IS_SANDBOX: '1',
    DISABLE_AUTOUPDATER: '1',
    ...extra,
  }
}

function codexEnv(home: string, extra: Record<string, string>): Record<string, string> {
  const env = baseEnv(home)
  // The npm package ships rg beside the binary; codex expects it on PATH.
  const codexPath = join(dirname(CODEX_BIN), '..', 'codex-path')
  if (existsSync(codexPath)) env.PATH = `${codexPath}:${env.PATH}`
  // Codex refuses a CODEX_HOME that does not exist.
  mkdirSync(join(home, '.codex'), { recursive: true })
  return { ...env, CODEX_HOME: join(home, '.codex'), ...extra }
}

const CLAUDE_ARGS = ['-p', 'say hi', '--dangerously-skip-permissions']
const CODEX_ARGS = ['exec', '--dangerously-bypass-approvals-and-sandbox', '--skip-git-repo-check', 'say hi']

function explain(run: Run, origin: FakeProviderOrigin, extra = ''): string {
  const seen = origin.requests.map((r) => `${r.method} ${r.path}`).join(', ')
  return `exit ${run.code}\nstdout: ${run.stdout.slice(-2000)}\nstderr: ${run.stderr.slice(-3000)}\norigin saw: ${seen}${extra}`
}

/**
 * A TLS-intercepting CONNECT proxy, as the egress proxy is for the agent:
 * each host in `routes` gets a leaf from the proxy's CA and its requests go to
 * the mapped plain-HTTP origin, path and headers unchanged (WebSocket upgrades
 * included). CONNECTs to other hosts are refused with 403 and listed.
 */
interface InterceptingProxy {
  url: string
  caFile: string
  connects: string[]
  refused: string[]
  close(): Promise<void>
}

async function startInterceptingProxy(dir: string, routes: Record<string, FakeProviderOrigin>): Promise<InterceptingProxy> {
  const ca = mintCertificateAuthority({ commonName: 'bottle fake-origin test CA' })
  const caFile = join(dir, 'proxy-ca.crt')
  await writeFile(caFile, ca.certPem)
  const leaves = createLeafCertificates({ ca })
  const connects: string[] = []
  const refused: string[] = []
  const sockets = new Set<Duplex>()
  const upstreamOf = new WeakMap<object, FakeProviderOrigin>()
  const track = (socket: Duplex) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    socket.on('error', () => socket.destroy())
  }

  const inner = createHttpServer((req, res) => {
    const origin = upstreamOf.get(req.socket)
    if (!origin) return void res.writeHead(502).end()
    const upstream = httpRequest({ host: '127.0.0.1', port: origin.port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers)
      answer.pipe(res)
    })
    upstream.on('error', () => res.destroy())
    req.pipe(upstream)
  })
  inner.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const origin = upstreamOf.get(req.socket)
    if (!origin) return void socket.destroy()
    const upstream = netConnect(origin.port, '127.0.0.1')
    track(upstream)
    const lines = [`${req.method} ${req.url} HTTP/1.1`]
    for (let i = 0; i < req.rawHeaders.length; i += 2) lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`)
    upstream.write(`${lines.join('\r\n')}\r\n\r\n`)
    if (head.length > 0) upstream.write(head)
    upstream.pipe(socket)
    socket.pipe(upstream)
  })

  const outer: Server = createHttpServer((_req, res) => res.writeHead(403).end('plain HTTP is not proxied here\n'))
  outer.on('connect', (req: IncomingMessage, client: Socket, head: Buffer) => {
    track(client)
    const target = req.url ?? ''
    connects.push(target)
    const host = target.replace(/:\d+$/, '')
    const origin = Object.hasOwn(routes, host) ? routes[host] : undefined
    if (!origin || !target.endsWith(':443')) {
      refused.push(target)
      client.end('HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n')
      return
    }
    client.write('HTTP/1.1 200 Connection Established\r\n\r\n')
    if (head.length > 0) client.unshift(head)
    const tls = new TLSSocket(client, { isServer: true, secureContext: leaves.secureContextFor(host) })
    track(tls)
    upstreamOf.set(tls, origin)
    inner.emit('connection', tls)
  })
  outer.listen(0, '127.0.0.1')
  await once(outer, 'listening')
  return {
    url: `http://127.0.0.1:${(outer.address() as AddressInfo).port}`,
    caFile,
    connects,
    refused,
    close: async () => {
      for (const socket of sockets) socket.destroy()
      const closed = once(outer, 'close')
      outer.close()
      outer.closeAllConnections()
      inner.closeAllConnections()
      await closed
    },
  }
}

let temp: TempFolder
const origins: FakeProviderOrigin[] = []
const proxies: InterceptingProxy[] = []

beforeAll(async () => {
  CLAUDE_BIN = await providerCliBinary('claude')
  CODEX_BIN = await providerCliBinary('codex')
  temp = await TempFolder.create('bottle-fake-origins-')
}, 300_000)

afterEach(async () => {
  await Promise.all([...origins.splice(0).map((o) => o.close()), ...proxies.splice(0).map((p) => p.close())])
})

afterAll(async () => {
  await temp?.dispose()
})

async function anthropic(): Promise<FakeProviderOrigin> {
  const origin = await startFakeAnthropicOrigin({ answer: ANSWER })
  origins.push(origin)
  return origin
}

async function openai(websocket = true): Promise<FakeProviderOrigin> {
  const origin = await startFakeOpenAIOrigin({ answer: ANSWER, websocket })
  origins.push(origin)
  return origin
}

async function proxy(routes: Record<string, FakeProviderOrigin>): Promise<InterceptingProxy> {
  const p = await startInterceptingProxy(await home('proxy'), routes)
  proxies.push(p)
  return p
}

let homes = 0
async function home(name: string): Promise<string> {
  const path = temp.join(`${name}-${homes++}`)
  await mkdir(path, { recursive: true })
  return path
}

describe('fake origins over HTTP (no CLI)', () => {
  it('Anthropic: streams an SSE message, answers JSON without stream, counts tokens, 404s the unknown', async () => {
    const origin = await anthropic()
    const streamed = await fetch(`${origin.url}/v1/messages?beta=true`, {
      method: 'POST',
      headers: { authorization: 'Bearer t1', 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'claude-x', stream: true, max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] }),
    })
    expect(streamed.headers.get('content-type')).toMatch(/^text\/event-stream/)
    const sse = await streamed.text()
    const events = [...sse.matchAll(/^event: (\S+)$/gm)].map((m) => m[1])
    expect(events[0]).toBe('message_start')
    expect(events.slice(-3)).toEqual(['content_block_stop', 'message_delta', 'message_stop'])
    const text = [...sse.matchAll(/^data: (.*)$/gm)]
      .map((m) => JSON.parse(m[1] as string) as { type: string; delta?: { text?: string; stop_reason?: string } })
      .filter((e) => e.type === 'content_block_delta')
      .map((e) => e.delta?.text)
      .join('')
    expect(text).toBe(ANSWER)
    expect(sse).toContain('"stop_reason":"end_turn"')

    const plain = (await (await fetch(`${origin.url}/v1/messages`, { method: 'POST', body: JSON.stringify({ model: 'claude-x', messages: [] }) })).json()) as { content: { text: string }[]; stop_reason: string }
    expect(plain.content[0]?.text).toBe(ANSWER)
    expect(plain.stop_reason).toBe('end_turn')
    const count = (await (await fetch(`${origin.url}/v1/messages/count_tokens`, { method: 'POST', body: '{"messages":[]}' })).json()) as { input_tokens: number }
    expect(count.input_tokens).toBeGreaterThan(0)
    expect((await fetch(`${origin.url}/api/hello`, { method: 'HEAD' })).status).toBe(200)
    expect((await fetch(`${origin.url}/v1/nothing-here`)).status).toBe(404)
    expect(origin.requests.map((r) => [r.method, r.path, r.authorization])).toEqual([
      ['POST', '/v1/messages?beta=true', 'Bearer t1'],
      ['POST', '/v1/messages', ''],
      ['POST', '/v1/messages/count_tokens', ''],
      ['HEAD', '/api/hello', ''],
      ['GET', '/v1/nothing-here', ''],
    ])
  })

  it('OpenAI: streams Responses events over SSE ending in response.completed with usage', async () => {
    const origin = await openai()
    const res = await fetch(`${origin.url}/v1/responses`, { method: 'POST', headers: { authorization: 'Bearer t2' }, body: JSON.stringify({ model: 'gpt-x', stream: true, input: 'hi' }) })
    const events = [...(await res.text()).matchAll(/^data: (.*)$/gm)].map((m) => JSON.parse(m[1] as string) as { type: string; delta?: string; response?: { usage?: unknown } })
    expect(events.map((e) => e.type)).toEqual(expect.arrayContaining(['response.created', 'response.output_item.added', 'response.output_text.delta', 'response.output_item.done', 'response.completed']))
    expect(events.filter((e) => e.type === 'response.output_text.delta').map((e) => e.delta).join('')).toBe(ANSWER)
    expect(events.at(-1)?.type).toBe('response.completed')
    expect(events.at(-1)?.response?.usage).toBeTruthy()
    expect(origin.requests[0]?.authorization).toBe('Bearer t2')
  })

  it('OpenAI: refuses the WebSocket handshake with 426 when websocket is false', async () => {
    const origin = await openai(false)
    const socket = netConnect(origin.port, '127.0.0.1')
    await once(socket, 'connect')
    socket.write('GET /v1/responses HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nAuthorization: Bearer t3\r\n\r\n')
    const [first] = (await once(socket, 'data')) as [Buffer]
    socket.destroy()
    expect(first.toString('latin1')).toMatch(/^HTTP\/1\.1 426 /)
    expect(origin.requests[0]?.authorization).toBe('Bearer t3')
  })
})

describe('Claude Code against the fake Anthropic origin', () => {
  it(`prints the answer and sends the OAuth token as a bearer token (ANTHROPIC_BASE_URL)`, async () => {
    const origin = await anthropic()
    const dir = await home('claude')
    const secret = token('claude')
    const run = await runBinary(CLAUDE_BIN, CLAUDE_ARGS, claudeEnv(dir, { ANTHROPIC_BASE_URL: origin.url, CLAUDE_CODE_OAUTH_TOKEN: secret, CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1' }), dir)
    expect(run.stdout, explain(run, origin)).toContain(ANSWER)
    expect(run.code, explain(run, origin)).toBe(0)
    const calls = origin.requests.filter((r) => r.method === 'POST' && r.path.startsWith('/v1/messages'))
    expect(calls.length, explain(run, origin)).toBeGreaterThan(0)
    for (const call of calls) {
      expect(call.authorization).toBe(`Bearer ${secret}`)
      expect(call.headers['x-api-key']).toBeUndefined()
      expect(String(call.headers['anthropic-beta'])).toContain('oauth-2025-04-20')
    }
    expect(origin.requests.every((r) => r.authorization === `Bearer ${secret}`)).toBe(true)
  })

  it(`works as https://api.anthropic.com through an intercepting HTTPS_PROXY trusted by NODE_EXTRA_CA_CERTS, startup calls included`, async () => {
    const origin = await anthropic()
    const p = await proxy({ 'api.anthropic.com': origin })
    const dir = await home('claude-proxy')
    const secret = token('claude')
    // Non-essential traffic left on: the startup calls must reach the origin too.
    const run = await runBinary(CLAUDE_BIN, CLAUDE_ARGS, claudeEnv(dir, { HTTPS_PROXY: p.url, NODE_EXTRA_CA_CERTS: p.caFile, CLAUDE_CODE_OAUTH_TOKEN: secret }), dir)
    const extra = `\nproxy CONNECTs: ${p.connects.join(', ')}`
    expect(run.stdout, explain(run, origin, extra)).toContain(ANSWER)
    expect(run.code, explain(run, origin, extra)).toBe(0)
    const messages = origin.requests.filter((r) => r.method === 'POST' && r.path.startsWith('/v1/messages'))
    expect(messages.length, explain(run, origin, extra)).toBeGreaterThan(0)
    expect(messages.every((r) => r.authorization === `Bearer ${secret}`)).toBe(true)
    expect(origin.requests.every((r) => r.authorization === `Bearer ${secret}` || r.authorization === '')).toBe(true)
    expect(origin.requests.every((r) => r.headers.host === 'api.anthropic.com')).toBe(true)
    expect(p.refused).toEqual([])
    console.info(`claude via proxy: CONNECTs ${[...new Set(p.connects)].join(', ')}; origin saw ${origin.requests.map((r) => `${r.method} ${r.path}`).join(', ')}`)
  })

  it(`works through the proxy with the CA in SSL_CERT_FILE instead`, async () => {
    const origin = await anthropic()
    const p = await proxy({ 'api.anthropic.com': origin })
    const dir = await home('claude-proxy-ssl')
    const secret = token('claude')
    const run = await runBinary(CLAUDE_BIN, CLAUDE_ARGS, claudeEnv(dir, { HTTPS_PROXY: p.url, SSL_CERT_FILE: p.caFile, CLAUDE_CODE_OAUTH_TOKEN: secret, CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1' }), dir)
    expect(run.stdout, explain(run, origin)).toContain(ANSWER)
    expect(run.code, explain(run, origin)).toBe(0)
    expect(origin.requests.length).toBeGreaterThan(0)
    expect(origin.requests.every((r) => r.authorization === `Bearer ${secret}`)).toBe(true)
    // As api.anthropic.com, managed settings and policy limits are fetched even with non-essential traffic off.
    expect(origin.requests.map((r) => r.path.split('?')[0]).filter((path) => path !== '/v1/messages').sort()).toEqual(['/api/claude_code/policy_limits', '/api/claude_code/settings'])
  })
})

describe('Codex against the fake OpenAI origin', () => {
  const baseUrl = (origin: FakeProviderOrigin) => ['-c', `openai_base_url="${origin.url}/v1"`]

  it(`prints the answer over the Responses WebSocket with CODEX_API_KEY as a bearer token`, async () => {
    const origin = await openai()
    const dir = await home('codex')
    const secret = token('codex')
    const run = await runBinary(CODEX_BIN, [...baseUrl(origin), ...CODEX_ARGS], codexEnv(dir, { CODEX_API_KEY: secret }), dir)
    expect(run.stdout, explain(run, origin)).toContain(ANSWER)
    expect(run.code, explain(run, origin)).toBe(0)
    expect(origin.requests[0]?.method).toBe('GET')
    expect(origin.requests[0]?.headers.upgrade).toBe('websocket')
    expect(origin.requests.some((r) => r.method === 'WEBSOCKET'), explain(run, origin)).toBe(true)
    expect(origin.requests.every((r) => r.authorization === `Bearer ${secret}`)).toBe(true)
  })

  it(`falls back to POST /v1/responses (SSE) at once when the handshake gets 426`, async () => {
    const origin = await openai(false)
    const dir = await home('codex-sse')
    const secret = token('codex')
    const started = Date.now()
    const run = await runBinary(CODEX_BIN, [...baseUrl(origin), ...CODEX_ARGS], codexEnv(dir, { CODEX_API_KEY: secret }), dir)
    expect(run.stdout, explain(run, origin)).toContain(ANSWER)
    expect(run.code, explain(run, origin)).toBe(0)
    expect(origin.requests.filter((r) => r.headers.upgrade === 'websocket')).toHaveLength(1)
    expect(origin.requests.some((r) => r.method === 'POST' && r.path === '/v1/responses')).toBe(true)
    expect(origin.requests.every((r) => r.authorization === `Bearer ${secret}`)).toBe(true)
    expect(Date.now() - started).toBeLessThan(20_000)
  })

  it(`uses the key of auth.json as written by codex login --with-api-key, and not OPENAI_API_KEY alone`, async () => {
    const origin = await openai()
    const dir = await home('codex-login')
    const secret = token('codex')
    const login = await new Promise<Run>((resolve, reject) => {
      const child = spawn(CODEX_BIN, ['login', '--with-api-key'], { env: codexEnv(dir, {}), cwd: dir, stdio: ['pipe', 'pipe', 'pipe'] })
      let stdout = ''
      let stderr = ''
      child.stdout.on('data', (c: Buffer) => (stdout += c.toString()))
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString()))
      child.on('error', reject)
      child.on('close', (code) => resolve({ code, stdout, stderr }))
      child.stdin.end(secret)
    })
    expect(login.code, login.stderr).toBe(0)
    const run = await runBinary(CODEX_BIN, [...baseUrl(origin), ...CODEX_ARGS], codexEnv(dir, {}), dir)
    expect(run.stdout, explain(run, origin)).toContain(ANSWER)
    expect(origin.requests.length).toBeGreaterThan(0)
    expect(origin.requests.every((r) => r.authorization === `Bearer ${secret}`)).toBe(true)

    // OPENAI_API_KEY in the environment alone: codex exec sends no Authorization at all.
    const bare = await openai()
    const dir2 = await home('codex-openai-env')
    const run2 = await runBinary(CODEX_BIN, [...baseUrl(bare), ...CODEX_ARGS], codexEnv(dir2, { OPENAI_API_KEY: token('codex') }), dir2)
    expect(run2.stdout, explain(run2, bare)).toContain(ANSWER)
    expect(bare.requests.length).toBeGreaterThan(0)
    expect(bare.requests.every((r) => r.authorization === '')).toBe(true)
  })

  it(`works as https://api.openai.com through an intercepting HTTPS_PROXY trusted by CODEX_CA_CERTIFICATE; sends the key to chatgpt.com too`, async () => {
    const origin = await openai()
    // chatgpt.com routed to the origin as well: its 404 for /backend-api/* lets codex go on at once.
    const p = await proxy({ 'api.openai.com': origin, 'chatgpt.com': origin })
    const dir = await home('codex-proxy')
    const secret = token('codex')
    const quiet = ['-c', 'features.plugins=false', '-c', 'analytics.enabled=false']
    const run = await runBinary(CODEX_BIN, [...quiet, ...CODEX_ARGS], codexEnv(dir, { CODEX_API_KEY: secret, HTTPS_PROXY: p.url, CODEX_CA_CERTIFICATE: p.caFile }), dir)
    const extra = `\nproxy CONNECTs: ${p.connects.join(', ')}`
    expect(run.stdout, explain(run, origin, extra)).toContain(ANSWER)
    expect(run.code, explain(run, origin, extra)).toBe(0)
    const api = origin.requests.filter((r) => r.headers.host === 'api.openai.com')
    expect(api.some((r) => r.method === 'WEBSOCKET'), explain(run, origin, extra)).toBe(true)
    expect(api.every((r) => r.authorization === `Bearer ${secret}`)).toBe(true)
    // Codex 0.169 in API-key mode asks chatgpt.com for its model list with the same bearer key.
    const models = origin.requests.filter((r) => r.headers.host === 'chatgpt.com' && r.path.startsWith('/backend-api/codex/models'))
    expect(models.length, explain(run, origin, extra)).toBeGreaterThan(0)
    expect(models.every((r) => r.authorization === `Bearer ${secret}`)).toBe(true)
    expect(new Set(p.connects)).toEqual(new Set(['api.openai.com:443', 'chatgpt.com:443']))
  })

  it(`works as https://api.openai.com through an intercepting HTTPS_PROXY trusted by SSL_CERT_FILE, every other host refused`, async () => {
    const origin = await openai()
    const p = await proxy({ 'api.openai.com': origin })
    const dir = await home('codex-proxy')
    const secret = token('codex')
    const run = await runBinary(CODEX_BIN, CODEX_ARGS, codexEnv(dir, { CODEX_API_KEY: secret, HTTPS_PROXY: p.url, SSL_CERT_FILE: p.caFile }), dir)
    const extra = `\nproxy CONNECTs: ${p.connects.join(', ')}`
    expect(run.stdout, explain(run, origin, extra)).toContain(ANSWER)
    expect(run.code, explain(run, origin, extra)).toBe(0)
    expect(origin.requests.some((r) => r.method === 'WEBSOCKET'), explain(run, origin, extra)).toBe(true)
    expect(origin.requests.every((r) => r.authorization === `Bearer ${secret}` && r.headers.host === 'api.openai.com')).toBe(true)
    console.info(`codex via proxy: refused CONNECTs ${[...new Set(p.refused)].join(', ')}`)
  })
})
