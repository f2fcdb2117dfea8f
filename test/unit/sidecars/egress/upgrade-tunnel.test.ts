import { randomBytes } from 'node:crypto'
import { gzipSync } from 'node:zlib'
import { connect as netConnect } from 'node:net'
import type { Duplex } from 'node:stream'
import { connect as tlsConnect } from 'node:tls'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { REDACTED_MARKER } from '../../../../sidecars/egress/answer-redactor.js'
import { startHarness, type Harness } from './support/proxy-harness.js'
import { startOrigin, type Origin } from './support/origin.js'
import { connectThrough } from './support/proxy-client.js'
import { createTestScanner } from './support/scanner.js'
import { decodeFrame, encodeFrame } from './support/websocket.js'

const TOKEN = 'websocket-route-token-0123456789abcdef'
let plainOrigin: Origin
let tlsOrigin: Origin
let proxy: Harness

beforeAll(async () => {
  plainOrigin = await startOrigin()
  tlsOrigin = await startOrigin({ tls: true })
  proxy = await startHarness({
    createScanner: createTestScanner,
    hosts: { 'ws.test': ['127.0.0.1'], 'wss.test': ['127.0.0.1'], 'raw-ws.test': ['127.0.0.1'] },
    secrets: { ws: TOKEN },
    config: {
      allowPrivate: ['127.0.0.1/32'],
      upstreamCaCerts: [tlsOrigin.ca?.certPem ?? ''],
      routes: [
        { host: 'ws.test', ports: [plainOrigin.port], paths: ['/chat'] },
        { host: 'raw-ws.test', ports: [plainOrigin.port], scan: { body: false } },
        { host: 'wss.test', ports: [tlsOrigin.port], auth: { scheme: 'Bearer', slot: 'ws' } },
      ],
    },
  })
})
afterAll(async () => {
  await proxy.close()
  await plainOrigin.close()
  await tlsOrigin.close()
})

/** Reads a socket without consuming it to the end (for-await would destroy it on break). */
class SocketReader {
  private data = Buffer.alloc(0)
  private waiter: (() => void) | undefined
  private closed = false
  constructor(socket: Duplex) {
    socket.on('data', (chunk: Buffer) => {
      this.data = Buffer.concat([this.data, chunk])
      this.waiter?.()
    })
    socket.on('close', () => {
      this.closed = true
      this.waiter?.()
    })
  }
  /** Wait until `take` finds what it wants in the buffered bytes; it returns how many bytes it used. */
  async until<T>(take: (data: Buffer) => { value: T; used: number } | undefined): Promise<T | undefined> {
    for (;;) {
      const found = take(this.data)
      if (found) {
        this.data = this.data.subarray(found.used)
        return found.value
      }
      if (this.closed) return undefined
      await new Promise<void>((resolve) => (this.waiter = resolve))
    }
  }
}

async function handshake(socket: Duplex, target: string, host: string, extra = ''): Promise<{ status: string; reader: SocketReader }> {
  const reader = new SocketReader(socket)
  socket.write(
    `GET ${target} HTTP/1.1\r\nHost: ${host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n${extra}\r\n`,
  )
  const status = await reader.until((data) => {
    const end = data.indexOf('\r\n\r\n')
    return end === -1 ? undefined : { value: data.subarray(0, data.indexOf('\r\n')).toString(), used: end + 4 }
  })
  return { status: status ?? 'closed', reader }
}

async function echo(socket: Duplex, reader: SocketReader, text: string): Promise<string> {
  socket.write(encodeFrame(0x1, Buffer.from(text), true))
  const reply = await reader.until((data) => {
    const frame = decodeFrame(data)
    return frame && { value: frame.payload.toString(), used: frame.length }
  })
  return reply ?? 'closed'
}

describe('WebSocket through an allowed route', () => {
  it('upgrades ws:// on the proxy port and relays frames both ways', async () => {
    const socket = netConnect(proxy.port, '127.0.0.1')
    const { status, reader } = await handshake(socket, `http://ws.test:${plainOrigin.port}/chat`, `ws.test:${plainOrigin.port}`)
    expect(status).toBe('HTTP/1.1 101 Switching Protocols')
    expect(await echo(socket, reader, 'hello')).toBe('echo:hello')
    expect(await echo(socket, reader, 'again')).toBe('echo:again')
    socket.destroy()
  })

  it('upgrades wss:// inside an intercepted tunnel, with the route credential injected', async () => {
    const tunnel = await connectThrough(proxy.port, `wss.test:${tlsOrigin.port}`)
    expect(tunnel.status).toBe(200)
    const tls = tlsConnect({ socket: tunnel.socket, servername: 'wss.test', ca: proxy.ca.certPem })
    const before = tlsOrigin.seen.length
    const { status, reader } = await handshake(tls, '/stream', `wss.test:${tlsOrigin.port}`)
    expect(status).toBe('HTTP/1.1 101 Switching Protocols')
    expect(await echo(tls, reader, 'secure')).toBe('echo:secure')
    expect(tlsOrigin.seen[before]?.headers.authorization).toBe(`Bearer ${TOKEN}`)
    tls.destroy()
  })

  it('refuses a handshake on a path outside the route', async () => {
    const socket = netConnect(proxy.port, '127.0.0.1')
    const { status } = await handshake(socket, `http://ws.test:${plainOrigin.port}/admin`, 'ws.test')
    expect(status).toBe('HTTP/1.1 403 Forbidden')
    socket.destroy()
  })

  it('refuses an upgrade to another protocol', async () => {
    const socket = netConnect(proxy.port, '127.0.0.1')
    socket.write(`GET http://ws.test:${plainOrigin.port}/chat HTTP/1.1\r\nHost: ws.test\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\n`)
    let reply = ''
    for await (const chunk of socket) reply += (chunk as Buffer).toString()
    expect(reply).toMatch(/^HTTP\/1\.1 403 Forbidden/)
    expect(reply).toContain('bottle-egress: unsupported-upgrade')
  })

  it('logs the closed WebSocket tunnel with its byte counts', async () => {
    const socket = netConnect(proxy.port, '127.0.0.1')
    const { reader } = await handshake(socket, `http://ws.test:${plainOrigin.port}/chat`, 'ws.test')
    expect(await echo(socket, reader, 'count me')).toBe('echo:count me')
    socket.write(encodeFrame(0x8, Buffer.alloc(0), true))
    await new Promise((resolve) => socket.once('close', resolve))
    const closed = await vi.waitFor(() => {
      const line = proxy.logs.findLast((l) => l.event === 'tunnel.closed')
      expect(line).toBeDefined()
      return line
    })
    expect(closed).toMatchObject({ mode: 'websocket', host: 'ws.test', route: 'ws.test' })
    expect(closed?.bytesOut).toBeGreaterThan(8)
  })

  it('closes the connection with 1008 when a message carries a secret, before the origin sees it', async () => {
    const socket = netConnect(proxy.port, '127.0.0.1')
    const { status, reader } = await handshake(socket, `http://ws.test:${plainOrigin.port}/chat`, 'ws.test', 'Sec-WebSocket-Extensions: permessage-deflate\r\n')
    expect(status).toBe('HTTP/1.1 101 Switching Protocols')
    expect(plainOrigin.seen.at(-1)?.headers['sec-websocket-extensions']).toBeUndefined()
    expect(await echo(socket, reader, 'clean first')).toBe('echo:clean first')
    socket.write(encodeFrame(0x1, Buffer.from(`here is ${TOKEN}`), true))
    const close = await reader.until((data) => {
      const frame = decodeFrame(data)
      return frame && { value: frame, used: frame.length }
    })
    expect(close?.opcode).toBe(0x8)
    expect(close?.payload.readUInt16BE(0)).toBe(1008)
    expect(close?.payload.subarray(2).toString()).toMatch(/^bottle-egress: dlp: /)
    expect(await reader.until(() => undefined)).toBeUndefined() // the proxy closes the connection
    expect(proxy.logs.findLast((l) => l.event === 'request.denied')).toMatchObject({ rule: 'dlp', scheme: 'ws', host: 'ws.test' })
  })

  /** Send frames, then read until the proxy's close frame (or a reply); the close frame's code and reason. */
  async function closeAfter(socket: Duplex, reader: SocketReader, frames: Buffer[]): Promise<{ code: number; reason: string } | undefined> {
    for (const frame of frames) socket.write(frame)
    for (;;) {
      const frame = await reader.until((data) => {
        const f = decodeFrame(data)
        return f && { value: f, used: f.length }
      })
      if (!frame) return undefined
      if (frame.opcode === 0x8) return { code: frame.payload.readUInt16BE(0), reason: frame.payload.subarray(2).toString() }
    }
  }

  it('refuses a secret split over consecutive messages at the message that completes it', async () => {
    const socket = netConnect(proxy.port, '127.0.0.1')
    const { reader } = await handshake(socket, `http://ws.test:${plainOrigin.port}/chat`, 'ws.test')
    const half = TOKEN.length / 2
    expect(await echo(socket, reader, TOKEN.slice(0, half))).toBe(`echo:${TOKEN.slice(0, half)}`)
    const close = await closeAfter(socket, reader, [encodeFrame(0x1, Buffer.from(TOKEN.slice(half)), true)])
    expect(close).toMatchObject({ code: 1008, reason: expect.stringMatching(/^bottle-egress: dlp: .*websocket\(joined\)/) })
  })

  it('refuses a secret in one message sent as three fragments, and a gzip binary frame holding one', async () => {
    /** A masked frame without FIN: a fragment that more frames of the same message follow. */
    const fragment = (opcode: number, text: string) => {
      const frame = encodeFrame(opcode, Buffer.from(text), true)
      frame[0] = (frame[0] as number) & 0x7f
      return frame
    }
    const fragments = [fragment(0x1, TOKEN.slice(0, 10)), fragment(0x0, TOKEN.slice(10, 20)), encodeFrame(0x0, Buffer.from(TOKEN.slice(20)), true)]
    for (const frames of [fragments, [encodeFrame(0x2, gzipSync(Buffer.from(`x ${TOKEN}`)), true)]]) {
      const socket = netConnect(proxy.port, '127.0.0.1')
      const { reader } = await handshake(socket, `http://ws.test:${plainOrigin.port}/chat`, 'ws.test')
      const before = plainOrigin.seen.length
      expect(await closeAfter(socket, reader, frames)).toMatchObject({ code: 1008, reason: expect.stringMatching(/^bottle-egress: dlp: /) })
      expect(plainOrigin.seen.length).toBe(before)
    }
  })

  it('control: consecutive clean messages pass', async () => {
    const socket = netConnect(proxy.port, '127.0.0.1')
    const { reader } = await handshake(socket, `http://ws.test:${plainOrigin.port}/chat`, 'ws.test')
    for (const text of ['{"type":"hello"}', '{"type":"delta","text":"websocket-route"}', '{"type":"delta","text":" works"}']) expect(await echo(socket, reader, text)).toBe(`echo:${text}`)
    socket.destroy()
  })

  it('relays messages unscanned on a route with scan: {body: false}', async () => {
    const socket = netConnect(proxy.port, '127.0.0.1')
    const { status, reader } = await handshake(socket, `http://raw-ws.test:${plainOrigin.port}/any`, 'raw-ws.test')
    expect(status).toBe('HTTP/1.1 101 Switching Protocols')
    // The origin got the token (nothing was scanned); its echo comes back redacted.
    expect(await echo(socket, reader, `opaque ${TOKEN}`)).toBe(`echo:opaque ${REDACTED_MARKER}`)
    socket.destroy()
  })
})
