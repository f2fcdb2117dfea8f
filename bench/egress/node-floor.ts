/**
 * The floor under bottle's egress: a forward proxy built from Node's own
 * http, https and tls modules the way bottle's is (absolute-URI requests
 * forwarded over keep-alive agents, CONNECT intercepted with a leaf minted
 * from the agent CA and served by an inner HTTP server, the request body
 * collected before it goes upstream, as scanning needs), with nothing else:
 * no routes, no DLP, no token injection, no SSRF guard, no logs. It runs
 * with the heap limits and node options bottle runs with, so the gap
 * between the two is what bottle's policy costs, and a target this process
 * misses is out of reach of any proxy built on Node's HTTP stack on the
 * machine that ran the benchmark.
 *
 * Environment: BENCH_FLOOR_LISTEN (port on 127.0.0.1), BENCH_FLOOR_CA_CERT
 * and BENCH_FLOOR_CA_KEY (the agent CA), BENCH_FLOOR_UPSTREAM_CA (the
 * origin's CA).
 */
import '../../sidecars/egress/heap-limits.js'
import { readFileSync } from 'node:fs'
import http, { type IncomingMessage, type ServerResponse } from 'node:http'
import https from 'node:https'
import { isIP, type Socket } from 'node:net'
import { TLSSocket } from 'node:tls'
import { createLeafCertificates } from '../../sidecars/egress/certificates.js'

const env = (name: string): string => {
  const value = process.env[name]
  if (!value) throw new Error(`${name} is not set`)
  return value
}

const leaves = createLeafCertificates({ ca: { certPem: readFileSync(env('BENCH_FLOOR_CA_CERT'), 'utf8'), keyPem: readFileSync(env('BENCH_FLOOR_CA_KEY'), 'utf8') } })
const upstreamCa = readFileSync(env('BENCH_FLOOR_UPSTREAM_CA'), 'utf8')
const plainAgent = new http.Agent({ keepAlive: true, maxFreeSockets: 64 })
const tlsAgent = new https.Agent({ keepAlive: true, maxFreeSockets: 64, ca: upstreamCa })

/** Where an intercepted connection's requests go, from its CONNECT line. */
const connectTargets = new WeakMap<Socket, { host: string; port: number }>()

function forward(request: IncomingMessage, response: ServerResponse, target: { host: string; port: number; path: string }, secure: boolean): void {
  const upstream = (secure ? https : http).request(
    {
      host: target.host,
      port: target.port,
      path: target.path,
      method: request.method,
      headers: request.headers,
      agent: secure ? tlsAgent : plainAgent,
      // SNI carries names only (RFC 6066).
      ...(secure && !isIP(target.host) ? { servername: target.host } : {}),
    },
    (answer) => {
      response.writeHead(answer.statusCode ?? 502, answer.rawHeaders)
      answer.pipe(response)
    },
  )
  upstream.on('socket', (socket) => socket.setNoDelay(true))
  upstream.on('error', () => response.destroy())
  const chunks: Buffer[] = []
  request.on('data', (chunk: Buffer) => chunks.push(chunk))
  request.on('end', () => upstream.end(Buffer.concat(chunks)))
}

const intercepted = http.createServer({ keepAliveTimeout: 60_000 }, (request, response) => {
  const target = connectTargets.get(request.socket)
  if (!target) return void response.writeHead(500).end()
  forward(request, response, { ...target, path: request.url ?? '/' }, true)
})

const proxy = http.createServer({ keepAliveTimeout: 60_000 }, (request, response) => {
  let url: URL
  try {
    url = new URL(request.url ?? '')
  } catch {
    return void response.writeHead(400).end()
  }
  forward(request, response, { host: url.hostname, port: Number(url.port || 80), path: `${url.pathname}${url.search}` }, false)
})
proxy.on('connection', (socket: Socket) => socket.setNoDelay(true))
proxy.on('connect', (request: IncomingMessage, socket: Socket) => {
  const authority = request.url ?? ''
  const colon = authority.lastIndexOf(':')
  const host = authority.slice(0, colon)
  socket.write('HTTP/1.1 200 Connection Established\r\n\r\n')
  const tlsSocket = new TLSSocket(socket, { isServer: true, secureContext: leaves.secureContextFor(host), ALPNProtocols: ['http/1.1'] })
  connectTargets.set(tlsSocket, { host, port: Number(authority.slice(colon + 1)) })
  tlsSocket.on('error', () => tlsSocket.destroy())
  intercepted.emit('connection', tlsSocket)
})
proxy.listen(Number(env('BENCH_FLOOR_LISTEN')), '127.0.0.1')
process.on('SIGTERM', () => process.exit(0))
