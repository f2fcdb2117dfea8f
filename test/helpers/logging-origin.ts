/**
 * A stand-in origin for the exfiltration suite that logs EVERYTHING it
 * receives: each request's method, path and query, raw headers and body
 * bytes, and for WebSocket connections the handshake, every frame (as it
 * arrived, fragments included) and every reassembled message. It listens on
 * the Docker bridge's address (dockerHostAddress), plain HTTP or HTTPS with a
 * CA of its own (written to `caFile`, for `bottle controller --upstream-ca`),
 * and never depends on a public name.
 *
 * Answers:
 *   - `/echo/plain`, `/echo/chunked`, `/echo/gzip`: a JSON echo of the request
 *     (headers, body, and the Authorization value's token also as base64 and
 *     inside a Basic header, the way echo services and error pages quote
 *     it); sent with Content-Length, chunked with the token cut across two
 *     writes, or gzip with Content-Encoding;
 *   - WebSocket on a path starting `/ws-echo`: a 101 that quotes the
 *     handshake's Authorization in a header, then for every message a text
 *     frame quoting the Authorization (as is, base64, Basic) and the message;
 *   - any other WebSocket path: `ack:<bytes>` per message (nothing reflected);
 *   - anything else: `200 {"ok":true}`.
 */
import { createHash } from 'node:crypto'
import { once } from 'node:events'
import { writeFileSync } from 'node:fs'
import { createServer as createHttpServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import type { AddressInfo, Socket } from 'node:net'
import { join } from 'node:path'
import type { Duplex } from 'node:stream'
import { gzipSync } from 'node:zlib'
import { dockerHostAddress } from '../../scripts/lib/docker-host-address.js'
import { createLeafCertificates, mintCertificateAuthority } from '../../sidecars/egress/certificates.js'

export interface LoggedRequest {
  /** Which origin logged it. */
  origin: string
  kind: 'http' | 'websocket'
  method: string
  /** Path and query, as the origin received them. */
  url: string
  rawHeaders: string[]
  headers: IncomingHttpHeaders
  body: Buffer
  /** For WebSocket handshakes: the connection number frames and messages refer to. */
  connection?: number
}

export interface LoggedFrame {
  connection: number
  url: string
  opcode: number
  fin: boolean
  payload: Buffer
}

export interface LoggedMessage {
  connection: number
  url: string
  /** 1 text, 2 binary (the first frame's opcode). */
  opcode: number
  payload: Buffer
}

export interface LoggingOrigin {
  name: string
  scheme: 'http' | 'https'
  host: string
  port: number
  /** The CA the HTTPS origin's certificate chains to (absent for plain HTTP). */
  caFile?: string
  requests: LoggedRequest[]
  frames: LoggedFrame[]
  messages: LoggedMessage[]
  /** Every byte the origin logged, one buffer per logged item (request line + headers, body, frame payloads). */
  loggedBuffers(): Buffer[]
  close(): Promise<void>
}

const WEBSOCKET_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11'

/** Server-side frame (unmasked). */
export function encodeServerFrame(opcode: number, payload: Buffer, fin = true): Buffer {
  const length = payload.length
  const extra = length < 126 ? 0 : length < 65536 ? 2 : 8
  const head = Buffer.alloc(2 + extra)
  head[0] = (fin ? 0x80 : 0) | opcode
  head[1] = length < 126 ? length : length < 65536 ? 126 : 127
  if (extra === 2) head.writeUInt16BE(length, 2)
  if (extra === 8) head.writeBigUInt64BE(BigInt(length), 2)
  return Buffer.concat([head, payload])
}

/** One frame from the start of `data` (masked or not), or undefined when incomplete. */
export function decodeAnyFrame(data: Buffer): { opcode: number; fin: boolean; payload: Buffer; length: number } | undefined {
  if (data.length < 2) return undefined
  const first = data[0] as number
  const second = data[1] as number
  const masked = (second & 0x80) !== 0
  let length = second & 0x7f
  let at = 2
  if (length === 126) {
    if (data.length < 4) return undefined
    length = data.readUInt16BE(2)
    at = 4
  } else if (length === 127) {
    if (data.length < 10) return undefined
    length = Number(data.readBigUInt64BE(2))
    at = 10
  }
  const maskAt = at
  if (masked) at += 4
  if (data.length < at + length) return undefined
  const payload = Buffer.from(data.subarray(at, at + length))
  if (masked) for (let i = 0; i < payload.length; i++) payload[i] = (payload[i] as number) ^ (data[maskAt + (i % 4)] as number)
  return { opcode: first & 0x0f, fin: (first & 0x80) !== 0, payload, length: at + length }
}

/** The bearer token of an Authorization value (what the proxy injected), or the value itself. */
function tokenOf(authorization: string): string {
  return authorization.replace(/^Bearer /i, '')
}

function echoDocument(req: IncomingMessage, body: Buffer): string {
  const authorization = String(req.headers.authorization ?? '')
  const token = tokenOf(authorization)
  return JSON.stringify({
    method: req.method,
    url: req.url,
    headers: req.headers,
    body: body.toString('utf8'),
    authorizationBase64: Buffer.from(token).toString('base64'),
    basic: `Basic ${Buffer.from(`me:${token}`).toString('base64')}`,
  })
}

function answer(req: IncomingMessage, res: ServerResponse, body: Buffer): void {
  const path = (req.url ?? '').split('?')[0] ?? ''
  if (path.startsWith('/echo/chunked')) {
    // The token cut across two writes far enough apart to leave as two chunks.
    const text = echoDocument(req, body)
    const token = tokenOf(String(req.headers.authorization ?? ''))
    const at = token ? text.indexOf(token) : -1
    const cut = at >= 0 ? at + Math.floor(token.length / 2) : Math.floor(text.length / 2)
    res.writeHead(200, { 'Content-Type': 'application/json' })
    res.write(text.slice(0, cut))
    setTimeout(() => res.end(text.slice(cut)), 50)
    return
  }
  if (path.startsWith('/echo/gzip')) {
    const gz = gzipSync(Buffer.from(echoDocument(req, body)))
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip', 'Content-Length': String(gz.length) })
    res.end(gz)
    return
  }
  if (path.startsWith('/echo/')) {
    const text = Buffer.from(echoDocument(req, body))
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': String(text.length) })
    res.end(text)
    return
  }
  const text = '{"ok":true}\n'
  res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': String(text.length) })
  res.end(text)
}

export async function startLoggingOrigin(options: { name: string; scheme: 'http' | 'https'; dir?: string }): Promise<LoggingOrigin> {
  const host = await dockerHostAddress()
  const requests: LoggedRequest[] = []
  const frames: LoggedFrame[] = []
  const messages: LoggedMessage[] = []
  let connections = 0

  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => {
      const body = Buffer.concat(chunks)
      requests.push({ origin: options.name, kind: 'http', method: req.method ?? '', url: req.url ?? '', rawHeaders: [...req.rawHeaders], headers: req.headers, body })
      answer(req, res, body)
    })
  }

  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const connection = ++connections
    const url = req.url ?? ''
    requests.push({ origin: options.name, kind: 'websocket', method: req.method ?? '', url, rawHeaders: [...req.rawHeaders], headers: req.headers, body: Buffer.alloc(0), connection })
    socket.on('error', () => socket.destroy())
    const key = req.headers['sec-websocket-key']
    if (typeof key !== 'string' || String(req.headers.upgrade ?? '').toLowerCase() !== 'websocket') {
      socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n')
      return
    }
    const authorization = String(req.headers.authorization ?? '')
    const echo = url.startsWith('/ws-echo')
    const accept = createHash('sha1').update(key + WEBSOCKET_GUID).digest('base64')
    const quoted = echo ? `X-Echo-Authorization: ${authorization}\r\n` : ''
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n${quoted}\r\n`)
    let buffered = Buffer.from(head)
    let message: { opcode: number; parts: Buffer[] } | undefined
    const onData = (chunk: Buffer): void => {
      buffered = Buffer.concat([buffered, chunk])
      for (;;) {
        const frame = decodeAnyFrame(buffered)
        if (!frame) return
        buffered = buffered.subarray(frame.length)
        frames.push({ connection, url, opcode: frame.opcode, fin: frame.fin, payload: frame.payload })
        if (frame.opcode === 0x8) {
          socket.end(encodeServerFrame(0x8, Buffer.from([0x03, 0xe8])))
          return
        }
        if (frame.opcode === 0x9) {
          socket.write(encodeServerFrame(0xa, frame.payload))
          continue
        }
        if (frame.opcode === 0xa) continue
        if (frame.opcode !== 0x0) message = { opcode: frame.opcode, parts: [] }
        if (!message) continue
        message.parts.push(frame.payload)
        if (!frame.fin) continue
        const payload = Buffer.concat(message.parts)
        messages.push({ connection, url, opcode: message.opcode, payload })
        message = undefined
        if (echo) {
          const token = tokenOf(authorization)
          const reply = JSON.stringify({
            authorization,
            authorizationBase64: Buffer.from(token).toString('base64'),
            basic: `Basic ${Buffer.from(`me:${token}`).toString('base64')}`,
            message: payload.toString('utf8'),
          })
          socket.write(encodeServerFrame(0x1, Buffer.from(reply)))
        } else {
          socket.write(encodeServerFrame(0x1, Buffer.from(`ack:${payload.length}`)))
        }
      }
    }
    socket.on('data', onData)
    if (head.length > 0) onData(Buffer.alloc(0))
  }

  let server: Server
  let caFile: string | undefined
  if (options.scheme === 'https') {
    if (!options.dir) throw new Error('an https origin needs a dir for its CA file')
    const ca = mintCertificateAuthority({ commonName: `bottle exfiltration test origin CA (${options.name})` })
    caFile = join(options.dir, `${options.name}-ca.crt`)
    writeFileSync(caFile, ca.certPem)
    const leaves = createLeafCertificates({ ca })
    server = createHttpsServer({ cert: leaves.certificateFor(host).certPem, key: leaves.keyPem, keepAliveTimeout: 60_000 }, onRequest)
  } else {
    server = createHttpServer({ keepAliveTimeout: 60_000 }, onRequest)
  }
  server.on('upgrade', onUpgrade)
  const open = new Set<Socket>()
  server.on(options.scheme === 'https' ? 'secureConnection' : 'connection', (socket: Socket) => {
    open.add(socket)
    socket.once('close', () => open.delete(socket))
  })
  server.listen(0, host)
  await once(server, 'listening')
  const port = (server.address() as AddressInfo).port

  const origin: LoggingOrigin = {
    name: options.name,
    scheme: options.scheme,
    host,
    port,
    requests,
    frames,
    messages,
    loggedBuffers: () => [
      ...requests.flatMap((r) => [Buffer.from(`${r.method} ${r.url}\n${r.rawHeaders.join('\n')}`), r.body]),
      ...frames.map((f) => f.payload),
      ...messages.map((m) => m.payload),
    ],
    close: async () => {
      // Upgraded sockets are no longer the server's: close them by hand.
      for (const socket of open) socket.destroy()
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
  if (caFile) origin.caFile = caFile
  return origin
}
