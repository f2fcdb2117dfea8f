/**
 * Answers never hand the agent a secret: an origin that echoes the request
 * (and so the credential the proxy injected) or that happens to hold one of
 * the bottle's secret values is redacted in headers, Location, bodies (plain,
 * chunked, gzip, deflate, br) and WebSocket frames. Every assertion searches
 * the raw bytes the agent received, as is and as base64.
 */
import { createHash, randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { createServer as createHttpServer, request, type IncomingMessage, type ServerResponse, type Server } from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import type { Duplex } from 'node:stream'
import { Readable } from 'node:stream'
import { brotliCompressSync, deflateRawSync, deflateSync, gzipSync } from 'node:zlib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { REDACTED_MARKER } from '../../../../sidecars/egress/answer-redactor.js'
import { createLeafCertificates, mintCertificateAuthority } from '../../../../sidecars/egress/certificates.js'
import { startHarness, type Harness } from './support/proxy-harness.js'
import { startOrigin, type Origin } from './support/origin.js'
import { rawExchange, socketThrough, type RawAnswer } from './support/raw-exchange.js'
import { createTestScanner } from './support/scanner.js'
import { messagesOf, readFrames } from './support/server-frames.js'
import { decodeFrame, encodeFrame } from './support/websocket.js'

const MiB = 1024 * 1024
// Generated per run: the real credential the proxy injects, another secret value, and what the agent holds.
const TOKEN = `tok_${randomBytes(24).toString('base64url')}`
const OTHER = `db-${randomBytes(16).toString('hex')}`
const PLACEHOLDER = 'bottle-placeholder-token-not-a-secret'
const CLEAN = randomBytes(256 * 1024)

let origin: Origin
let plainOrigin: Origin
let wsOrigin: Server
let wsPort: number
let bigServer: Server
let bigPort: number
let bigSent = 0
let proxy: Harness
let bare: Harness

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex')
}

/** What the agent must never see: each value as is, percent-encoded and as base64 (alone, and as Basic user:value). */
function expectNoSecret(raw: Buffer): void {
  for (const value of [TOKEN, OTHER]) {
    expect(raw.includes(value)).toBe(false)
    expect(raw.includes(encodeURIComponent(value))).toBe(false)
    expect(raw.includes(Buffer.from(value).toString('base64').slice(0, -4))).toBe(false)
    expect(raw.includes(Buffer.from(`me:${value}`).toString('base64').slice(4, -4))).toBe(false)
  }
}

function header(answer: RawAnswer, name: string): string | undefined {
  return answer.headers.find(([n]) => n === name)?.[1]
}

/** The origin's answers, by path; each quotes the request the way an echo service would. */
function respond(req: IncomingMessage, res: ServerResponse): boolean {
  const path = (req.url ?? '').split('?')[0]
  const echo = Buffer.from(JSON.stringify({ headers: req.headers, stored: OTHER }))
  const auth = String(req.headers.authorization ?? '')
  const token = auth.replace(/^Bearer /, '')
  const send = (body: Buffer, headers: Record<string, string> = {}) => {
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': String(body.length), ...headers })
    res.end(body)
  }
  switch (path) {
    case '/headers':
      return send(echo), true
    case '/gzip':
      return send(gzipSync(echo), { 'Content-Encoding': 'gzip' }), true
    case '/deflate':
      return send(deflateSync(echo), { 'Content-Encoding': 'deflate' }), true
    case '/deflate-raw':
      return send(deflateRawSync(echo), { 'Content-Encoding': 'deflate' }), true
    case '/br':
      return send(brotliCompressSync(echo), { 'Content-Encoding': 'br' }), true
    case '/zstd':
      return send(randomBytes(64), { 'Content-Encoding': 'zstd' }), true
    case '/basic':
      return send(Buffer.from(`refused: Authorization: Basic ${Buffer.from(`me:${token}`).toString('base64')}`)), true
    case '/chunked': {
      // The token split across two writes, far enough apart in time to arrive as two reads.
      const text = echo.toString()
      const cut = text.indexOf(token) + 7
      res.writeHead(200, { 'Content-Type': 'application/json' })
      res.write(text.slice(0, cut))
      setTimeout(() => res.end(text.slice(cut)), 40)
      return true
    }
    case '/redirect':
      res.writeHead(302, {
        Location: `https://app.example/callback?access_token=${encodeURIComponent(token)}&state=1`,
        'Set-Cookie': [`session=${token}; Path=/; HttpOnly`, `db=${OTHER}`],
        'WWW-Authenticate': `Bearer realm="api", error="invalid_token", token="${token}"`,
        'X-Debug-Auth': auth,
        'Content-Length': '0',
      })
      res.end()
      return true
    case '/clean':
      return send(CLEAN, { 'Content-Type': 'application/octet-stream' }), true
    case '/clean-gzip':
      return send(gzipSync(CLEAN), { 'Content-Type': 'application/octet-stream', 'Content-Encoding': 'gzip' }), true
    default:
      return false
  }
}

const WEBSOCKET_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11'
const BINARY_CLEAN = randomBytes(3000)

/** A WebSocket origin that answers each command with frames quoting the handshake's Authorization. */
function wsEcho(req: IncomingMessage, socket: Duplex): void {
  const auth = String(req.headers.authorization ?? '')
  const token = auth.replace(/^Bearer /, '')
  if (req.url === '/refuse') {
    const body = `no WebSocket for ${auth}`
    socket.end(`HTTP/1.1 401 Unauthorized\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\nX-Seen: ${token}\r\n\r\n${body}`)
    return
  }
  const accept = createHash('sha1').update(`${String(req.headers['sec-websocket-key'])}${WEBSOCKET_GUID}`).digest('base64')
  socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\nX-Echo-Authorization: ${auth}\r\n\r\n`)
  const fragment = (opcode: number, payload: string) => {
    const frame = encodeFrame(opcode, Buffer.from(payload), false)
    frame[0] = (frame[0] as number) & 0x7f
    return frame
  }
  let buffered = Buffer.alloc(0)
  socket.on('data', (chunk: Buffer) => {
    buffered = Buffer.concat([buffered, chunk])
    for (;;) {
      const frame = decodeFrame(buffered)
      if (!frame) return
      buffered = buffered.subarray(frame.length)
      if (frame.opcode === 0x8) return void socket.end(encodeFrame(0x8, Buffer.alloc(0), false))
      const command = frame.payload.toString()
      if (command === 'text') socket.write(encodeFrame(0x1, Buffer.from(JSON.stringify({ authorization: auth })), false))
      if (command === 'binary') {
        const payload = Buffer.concat([Buffer.from([0, 0xff]), Buffer.from(token), Buffer.from(Buffer.from(`me:${token}`).toString('base64')), Buffer.from([0xfe])])
        socket.write(encodeFrame(0x2, payload, false))
      }
      if (command === 'fragments') {
        socket.write(Buffer.concat([fragment(0x1, `{"a":"${token.slice(0, 9)}`), encodeFrame(0x9, Buffer.from('ping'), false), encodeFrame(0x0, Buffer.from(`${token.slice(9)}"}`), false)]))
      }
      if (command === 'split-read') {
        const whole = encodeFrame(0x1, Buffer.from(`token=${token};`), false)
        const cut = whole.indexOf(token) + 5
        socket.write(whole.subarray(0, cut))
        setTimeout(() => socket.write(whole.subarray(cut)), 40)
      }
      if (command === 'clean') socket.write(encodeFrame(0x2, BINARY_CLEAN, false))
      if (command === 'rsv') {
        const frame = encodeFrame(0x1, Buffer.from('compressed?'), false)
        frame[0] = (frame[0] as number) | 0x40
        socket.write(frame)
      }
    }
  })
  socket.on('error', () => socket.destroy())
}

/** 32 MiB, generated as the agent reads (never held whole), counting what the origin got to send. */
function bigBody(res: ServerResponse): void {
  const size = 32 * MiB
  const chunk = Buffer.alloc(64 * 1024)
  let sent = 0
  res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': String(size) })
  const stream = new Readable({
    read() {
      if (sent >= size) return void this.push(null)
      chunk.fill(sent % 251)
      sent += chunk.length
      bigSent = sent
      this.push(Buffer.from(chunk))
    },
  })
  stream.pipe(res)
}

beforeAll(async () => {
  origin = await startOrigin({ tls: true, respond })
  plainOrigin = await startOrigin({ respond })
  const wsCa = mintCertificateAuthority({ commonName: 'scrub-answer test WebSocket origin CA' })
  const wsLeaves = createLeafCertificates({ ca: wsCa })
  wsOrigin = createHttpsServer({ cert: `${wsLeaves.certificateFor('ws.test').certPem}${wsCa.certPem}`, key: wsLeaves.keyPem })
  wsOrigin.on('upgrade', wsEcho)
  wsOrigin.listen(0, '127.0.0.1')
  await once(wsOrigin, 'listening')
  wsPort = (wsOrigin.address() as AddressInfo).port
  bigServer = createHttpServer((_req, res) => bigBody(res))
  bigServer.listen(0, '127.0.0.1')
  await once(bigServer, 'listening')
  bigPort = (bigServer.address() as AddressInfo).port

  const hosts = { 'echo.test': ['127.0.0.1'], 'ws.test': ['127.0.0.1'], 'plain.test': ['127.0.0.1'], 'big.test': ['127.0.0.1'] }
  proxy = await startHarness({
    createScanner: createTestScanner,
    hosts,
    secrets: { api: TOKEN, db: OTHER },
    config: {
      allowPrivate: ['127.0.0.1/32'],
      upstreamCaCerts: [origin.ca?.certPem ?? '', wsCa.certPem],
      placeholders: [PLACEHOLDER],
      limits: { bytesPerMinute: 256 * MiB },
      routes: [
        { host: 'echo.test', ports: [origin.port], auth: { scheme: 'Bearer', slot: 'api' } },
        { host: 'ws.test', ports: [wsPort], auth: { scheme: 'Bearer', slot: 'api' } },
        { host: 'plain.test', ports: [plainOrigin.port] },
        { host: 'big.test', ports: [bigPort] },
      ],
    },
  })
  // The same routes without a single secret value: answers must pass as they always did.
  bare = await startHarness({
    createScanner: createTestScanner,
    hosts,
    config: { allowPrivate: ['127.0.0.1/32'], routes: [{ host: 'plain.test', ports: [plainOrigin.port] }] },
  })
})

afterAll(async () => {
  await Promise.all([proxy.close(), bare.close()])
  await Promise.all([origin.close(), plainOrigin.close()])
  wsOrigin.close()
  bigServer.close()
})

const agentHeaders = { Authorization: `Bearer ${PLACEHOLDER}` }
const viaEcho = (path: string, headers: Record<string, string> = {}, method?: string) =>
  rawExchange(proxy.port, `https://echo.test:${origin.port}${path}`, { agentCaPem: proxy.ca.certPem, headers: { ...agentHeaders, ...headers }, ...(method ? { method } : {}) })

describe('answer bodies', () => {
  const bodies = [
    { name: 'plain (Content-Length)', path: '/headers' },
    { name: 'chunked, with the token split across two reads', path: '/chunked' },
    { name: 'gzip', path: '/gzip', encoding: 'gzip' },
    { name: 'deflate (zlib)', path: '/deflate', encoding: 'deflate' },
    { name: 'deflate (raw)', path: '/deflate-raw', encoding: 'deflate' },
    { name: 'br', path: '/br', encoding: 'br' },
  ]
  it.each(bodies)('$name: the agent sees its placeholder and the marker, never a value', async ({ path, encoding }) => {
    const answer = await viaEcho(path, { 'Accept-Encoding': 'gzip, deflate, br, zstd' })
    expect(answer.status).toBe(200)
    expectNoSecret(answer.raw)
    const body = JSON.parse(answer.body.toString()) as { headers: Record<string, string>; stored: string }
    expect(body.headers.authorization).toBe(`Bearer ${PLACEHOLDER}`)
    expect(body.stored).toBe(REDACTED_MARKER)
    // Decoded for the agent: identity, framed by Node.
    expect(header(answer, 'content-encoding')).toBeUndefined()
    if (encoding) expect(header(answer, 'transfer-encoding')).toBe('chunked')
    // The origin was offered only codings the proxy can decode.
    expect(body.headers['accept-encoding']).toBe('gzip, deflate, br')
    const logged = proxy.logs.filter((l) => l.event === 'answer.redacted' && l.path === path)
    expect(logged).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ rule: 'injected-credential', where: 'body', count: 1, route: 'echo.test' }),
        expect.objectContaining({ rule: 'known-secret', where: 'body', count: 1 }),
      ]),
    )
  })

  it('catches a token echoed inside a Basic auth header (base64)', async () => {
    const answer = await viaEcho('/basic')
    expectNoSecret(answer.raw)
    expect(answer.body.toString()).toContain(REDACTED_MARKER)
  })

  it('refuses an answer in a coding it cannot decode, with a 502 naming the rule', async () => {
    const answer = await viaEcho('/zstd')
    expect(answer.status).toBe(502)
    expect(header(answer, 'x-bottle-egress-rule')).toBe('answer-unscannable')
    expect(answer.body.toString()).toMatch(/^bottle-egress: answer-unscannable: the origin answered with Content-Encoding zstd/)
    expect(proxy.logs.findLast((l) => l.event === 'request.denied')).toMatchObject({ rule: 'answer-unscannable', path: '/zstd' })
  })

  it('passes an answer without secrets byte for byte, plain or decoded from gzip', async () => {
    const plain = await viaEcho('/clean')
    expect(sha256(plain.body)).toBe(sha256(CLEAN))
    const gzip = await viaEcho('/clean-gzip', { 'Accept-Encoding': 'gzip' })
    expect(sha256(gzip.body)).toBe(sha256(CLEAN))
  })

  it('leaves answers untouched when the config has no secret values', async () => {
    const answer = await rawExchange(bare.port, `http://plain.test:${plainOrigin.port}/gzip`, { headers: { 'Accept-Encoding': 'gzip, zstd' } })
    expect(header(answer, 'content-encoding')).toBe('gzip')
    expect(header(answer, 'content-length')).toBe(String(answer.body.length))
    expect(plainOrigin.seen.at(-1)?.headers['accept-encoding']).toBe('gzip, zstd')
  })
})

describe('answer headers', () => {
  it('redacts Location, Set-Cookie, WWW-Authenticate and custom headers', async () => {
    const answer = await viaEcho('/redirect')
    expect(answer.status).toBe(302)
    expectNoSecret(answer.raw)
    expect(header(answer, 'location')).toBe(`https://app.example/callback?access_token=${encodeURIComponent(PLACEHOLDER)}&state=1`)
    expect(answer.headers.filter(([n]) => n === 'set-cookie').map(([, v]) => v)).toEqual([`session=${PLACEHOLDER}; Path=/; HttpOnly`, `db=${REDACTED_MARKER}`])
    expect(header(answer, 'www-authenticate')).toBe(`Bearer realm="api", error="invalid_token", token="${PLACEHOLDER}"`)
    expect(header(answer, 'x-debug-auth')).toBe(`Bearer ${PLACEHOLDER}`)
    const logged = proxy.logs.filter((l) => l.event === 'answer.redacted' && l.path === '/redirect').map((l) => `${String(l.where)} ${String(l.rule)} ${String(l.count)}`)
    expect(logged.sort()).toEqual(
      ['location injected-credential 1', 'header:set-cookie injected-credential 1', 'header:set-cookie known-secret 1', 'header:www-authenticate injected-credential 1', 'header:x-debug-auth injected-credential 1'].sort(),
    )
  })

  it('redacts the head of a HEAD answer and sends no body', async () => {
    const answer = await viaEcho('/redirect', {}, 'HEAD')
    expectNoSecret(answer.raw)
    expect(answer.status).toBe(302)
  })

  it('never logs a value', () => {
    const lines = JSON.stringify(proxy.logs)
    expect(lines).not.toContain(TOKEN)
    expect(lines).not.toContain(OTHER)
  })
})

describe('WebSocket frames from the origin', () => {
  it('redacts the answer of an origin that declines to switch protocols', async () => {
    const socket = await socketThrough(proxy.port, 'ws.test', wsPort, proxy.ca.certPem)
    const chunks: Buffer[] = []
    socket.on('data', (chunk: Buffer) => chunks.push(chunk))
    socket.write(
      `GET /refuse HTTP/1.1\r\nHost: ws.test:${wsPort}\r\nAuthorization: Bearer ${PLACEHOLDER}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    )
    await once(socket, 'close')
    const raw = Buffer.concat(chunks)
    expectNoSecret(raw)
    const text = raw.toString('latin1')
    expect(text).toMatch(/^HTTP\/1\.1 401 /)
    expect(text).toContain(`X-Seen: ${PLACEHOLDER}`)
    expect(text.endsWith(`\r\n\r\nno WebSocket for Bearer ${PLACEHOLDER}`)).toBe(true)
  })

  async function open(): Promise<{ socket: Duplex; received: () => Buffer; next: (count: number) => Promise<ReturnType<typeof messagesOf>>; head: string }> {
    const socket = await socketThrough(proxy.port, 'ws.test', wsPort, proxy.ca.certPem)
    let data = Buffer.alloc(0)
    let waiter: (() => void) | undefined
    socket.on('data', (chunk: Buffer) => {
      data = Buffer.concat([data, chunk])
      waiter?.()
    })
    socket.on('close', () => waiter?.())
    const key = randomBytes(16).toString('base64')
    socket.write(
      `GET /socket HTTP/1.1\r\nHost: ws.test:${wsPort}\r\nAuthorization: Bearer ${PLACEHOLDER}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    )
    const wait = () => new Promise<void>((resolve) => (waiter = resolve))
    while (data.indexOf('\r\n\r\n') < 0) await wait()
    const headEnd = data.indexOf('\r\n\r\n') + 4
    const head = data.subarray(0, headEnd).toString('latin1')
    let cursor = headEnd
    const next = async (count: number) => {
      for (;;) {
        const { frames, used } = readFrames(data.subarray(cursor))
        const messages = messagesOf(frames)
        if (messages.length >= count && frames.at(-1)?.fin !== false) {
          cursor += used
          return messages
        }
        if (socket.destroyed) return messages
        await wait()
      }
    }
    return { socket, received: () => data, next, head }
  }

  it('redacts the handshake answer, a text and a binary frame, a value split across fragments and across reads', async () => {
    const ws = await open()
    expect(ws.head).toMatch(/^HTTP\/1\.1 101 /)
    expect(ws.head).toContain(`X-Echo-Authorization: Bearer ${PLACEHOLDER}`)
    const send = (text: string) => ws.socket.write(encodeFrame(0x1, Buffer.from(text), true))

    send('text')
    expect((await ws.next(1)).map((m) => m.payload.toString())).toEqual([JSON.stringify({ authorization: `Bearer ${PLACEHOLDER}` })])
    send('binary')
    const [binary] = await ws.next(1)
    expect(binary?.opcode).toBe(0x2)
    expect(binary?.payload.subarray(0, 2)).toEqual(Buffer.from([0, 0xff]))
    expect(binary?.payload.subarray(2, 2 + PLACEHOLDER.length).toString()).toBe(PLACEHOLDER)
    send('fragments')
    const fragments = await ws.next(2)
    expect(fragments.map((m) => [m.opcode, m.payload.toString()])).toEqual([
      [0x9, 'ping'],
      [0x1, `{"a":"${PLACEHOLDER}"}`],
    ])
    send('split-read')
    expect((await ws.next(1)).map((m) => m.payload.toString())).toEqual([`token=${PLACEHOLDER};`])
    send('clean')
    const [clean] = await ws.next(1)
    expect(clean?.payload.equals(BINARY_CLEAN)).toBe(true)

    expectNoSecret(ws.received())
    ws.socket.destroy()
    const logged = proxy.logs.filter((l) => l.event === 'answer.redacted' && l.host === 'ws.test').map((l) => `${String(l.where)} ${String(l.rule)}`)
    expect(logged).toContain('header:x-echo-authorization injected-credential')
    expect(logged.filter((l) => l === 'websocket injected-credential').length).toBe(4)
  })

  it('closes the connection on a frame with RSV bits set', async () => {
    const ws = await open()
    ws.socket.write(encodeFrame(0x1, Buffer.from('rsv'), true))
    const [close] = await ws.next(1)
    expect(close?.opcode).toBe(0x8)
    expect(close?.payload.subarray(2).toString()).toMatch(/^bottle-egress: answer-unscannable: WebSocket frame from the origin has RSV bits set/)
    ws.socket.destroy()
  })
})

describe('a 32 MiB answer', () => {
  it('streams with bounded memory: the origin is held to the agent’s pace, and every byte arrives', async () => {
    let inFlightWhilePaused = 0
    const received = await new Promise<{ status: number; bytes: number; sha256: string }>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: proxy.port, path: `http://big.test:${bigPort}/`, headers: { Host: `big.test:${bigPort}` } }, (res) => {
        const hash = createHash('sha256')
        let bytes = 0
        res.on('data', (chunk: Buffer) => {
          hash.update(chunk)
          bytes += chunk.length
          if (inFlightWhilePaused === 0 && bytes > MiB) {
            res.pause()
            // Long enough for every buffer on the way to fill; the origin must then be stuck.
            setTimeout(() => {
              inFlightWhilePaused = bigSent - bytes
              res.resume()
            }, 400)
          }
        })
        res.on('end', () => resolve({ status: res.statusCode ?? 0, bytes, sha256: hash.digest('hex') }))
        res.on('error', reject)
      })
      req.on('error', reject)
      req.end()
    })
    const reference = createHash('sha256')
    const chunk = Buffer.alloc(64 * 1024)
    for (let sent = 0; sent < 32 * MiB; sent += chunk.length) reference.update(chunk.fill(sent % 251))
    expect(received).toEqual({ status: 200, bytes: 32 * MiB, sha256: reference.digest('hex') })
    expect(inFlightWhilePaused).toBeGreaterThan(0)
    expect(inFlightWhilePaused).toBeLessThan(24 * MiB)
    expect(proxy.logs.findLast((l) => l.event === 'request.allowed' && l.host === 'big.test')).toMatchObject({ bytesIn: 32 * MiB, status: 200 })
  })
})
