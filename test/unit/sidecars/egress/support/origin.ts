/**
 * A loopback origin for egress tests: HTTP or HTTPS (with a leaf from its own
 * CA, served for any name and for IP connections), recording every request it
 * receives, answering with a JSON summary, and echoing WebSocket text frames.
 */
import { createHash } from 'node:crypto'
import { once } from 'node:events'
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import type { Duplex } from 'node:stream'
import { createLeafCertificates, mintCertificateAuthority, type CertificateAuthority } from '../../../../../sidecars/egress/certificates.js'
import { decodeFrame, encodeFrame } from './websocket.js'

export interface SeenRequest {
  method: string
  url: string
  headers: Record<string, string | string[] | undefined>
  rawHeaders: string[]
  bodyBytes: number
  bodySha256: string
  body: string
  servername?: string
}

export interface Origin {
  port: number
  seen: SeenRequest[]
  /** Set when the origin is HTTPS: the CA its certificate chains to. */
  ca?: CertificateAuthority
  /** Connections the origin has accepted. */
  connections(): number
  close(): Promise<void>
}

export interface OriginOptions {
  tls?: boolean
  /** Keep at most this many bytes of each body as text (hash and count cover all). */
  keepBody?: number
  respond?: (req: IncomingMessage, res: ServerResponse, seen: SeenRequest) => boolean
}

export async function startOrigin(options: OriginOptions = {}): Promise<Origin> {
  const seen: SeenRequest[] = []
  let ca: CertificateAuthority | undefined
  let server: Server
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const hash = createHash('sha256')
    let bytes = 0
    const kept: Buffer[] = []
    let keptBytes = 0
    const keep = options.keepBody ?? 1024 * 1024
    req.on('data', (chunk: Buffer) => {
      hash.update(chunk)
      bytes += chunk.length
      if (keptBytes < keep) {
        kept.push(chunk.subarray(0, keep - keptBytes))
        keptBytes += Math.min(chunk.length, keep - keptBytes)
      }
    })
    req.on('end', () => {
      const entry: SeenRequest = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        rawHeaders: req.rawHeaders,
        bodyBytes: bytes,
        bodySha256: hash.digest('hex'),
        body: Buffer.concat(kept).toString('utf8'),
      }
      const servername = (req.socket as { servername?: string | false }).servername
      if (typeof servername === 'string') entry.servername = servername
      seen.push(entry)
      if (options.respond?.(req, res, entry)) return
      const body = JSON.stringify({ method: entry.method, url: entry.url, bodyBytes: bytes, bodySha256: entry.bodySha256 })
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body), 'X-Origin': 'yes' })
      res.end(body)
    })
  }
  if (options.tls) {
    ca = mintCertificateAuthority({ commonName: 'egress test origin CA' })
    const leaves = createLeafCertificates({ ca })
    const fallback = leaves.certificateFor('127.0.0.1')
    server = createHttpsServer(
      {
        cert: `${fallback.certPem}${ca.certPem}`,
        key: leaves.keyPem,
        SNICallback: (name, callback) => callback(null, leaves.secureContextFor(name.toLowerCase())),
      },
      handler,
    )
  } else {
    server = createHttpServer(handler)
  }
  server.on('upgrade', (req: IncomingMessage, socket: Duplex) => echoWebSocket(req, socket, seen))
  let connections = 0
  const open = new Set<Duplex>()
  server.on('connection', (socket: Duplex) => {
    connections++
    open.add(socket)
    socket.once('close', () => open.delete(socket))
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const origin: Origin = {
    port: (server.address() as AddressInfo).port,
    seen,
    connections: () => connections,
    close: async () => {
      // Upgraded sockets are no longer the server's: close them by hand.
      for (const socket of open) socket.destroy()
      server.closeAllConnections?.()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
  if (ca) origin.ca = ca
  return origin
}

const WEBSOCKET_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11'

function echoWebSocket(req: IncomingMessage, socket: Duplex, seen: SeenRequest[]): void {
  seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, rawHeaders: req.rawHeaders, bodyBytes: 0, bodySha256: '', body: '' })
  const key = req.headers['sec-websocket-key']
  if (typeof key !== 'string') {
    socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n')
    return
  }
  const accept = createHash('sha1').update(key + WEBSOCKET_GUID).digest('base64')
  socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`)
  let buffered = Buffer.alloc(0)
  socket.on('data', (chunk: Buffer) => {
    buffered = Buffer.concat([buffered, chunk])
    for (;;) {
      const frame = decodeFrame(buffered)
      if (!frame) return
      buffered = buffered.subarray(frame.length)
      if (frame.opcode === 0x8) {
        socket.end(encodeFrame(0x8, Buffer.alloc(0), false))
        return
      }
      socket.write(encodeFrame(0x1, Buffer.from(`echo:${frame.payload.toString('utf8')}`), false))
    }
  })
  socket.on('error', () => socket.destroy())
}
