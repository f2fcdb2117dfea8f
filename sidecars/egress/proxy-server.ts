/**
 * The egress proxy's listening socket and the wiring between its parts:
 * the proxy port takes absolute-URI requests, WebSocket upgrades and
 * CONNECT; an in-process HTTP server (never listening) takes the decrypted
 * traffic of intercepted tunnels. Both send requests through
 * `forward-http` and upgrades through `upgrade-tunnel`. The mechanism
 * learns the policy only through `current()`, read afresh per tunnel and per
 * request.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import type { Logger } from 'pino'
import { handleConnect } from './connect-tunnel.js'
import { EgressDenial, respondDenied } from './deny.js'
import { systemResolve, type Resolve } from './dial.js'
import { logEvent } from './event-log.js'
import { forwardHttpRequest, logDenied } from './forward-http.js'
import { interceptTunnel, tunnelOf } from './intercept-tls.js'
import type { CompiledEgress, ProxyContext } from './proxy-context.js'
import { parseProxyRequest, parseTunnelRequest, type TargetParse } from './request-target.js'
import { handleUpgrade } from './upgrade-tunnel.js'
import { createUpstreamPool } from './upstream-pool.js'

export interface EgressProxyOptions {
  /** Address to listen on; port 0 picks a free one. */
  host: string
  port: number
  /** The current loaded config, or undefined while none is valid (then everything is refused). */
  current: () => CompiledEgress | undefined
  log: Logger
  /**
   * Name resolution for origins. Defaults to the system resolver; tests map
   * names to loopback origins with it. Not reachable from any config file.
   */
  resolve?: Resolve
  /** Told how many body bytes went through; see buffer-reclaim.ts. */
  streamed?: (bytes: number) => void
}

export interface EgressProxy {
  address: AddressInfo
  /** Open client connections, including tunnels. */
  connections(): number
  /** Stop listening and close every connection. */
  close(): Promise<void>
}

const HEADERS_TIMEOUT_MS = 60_000
const KEEP_ALIVE_TIMEOUT_MS = 120_000

export async function startEgressProxy(options: EgressProxyOptions): Promise<EgressProxy> {
  const resolve = options.resolve ?? systemResolve
  const ctx: ProxyContext = { current: options.current, log: options.log, resolve, upstream: createUpstreamPool(resolve), streamed: options.streamed ?? (() => {}) }
  const sockets = new Set<Duplex>()
  const track = (socket: Duplex) => {
    sockets.add(socket)
    socket.once('close', () => sockets.delete(socket))
  }

  const serverOptions = {
    // Bodies may be large uploads on slow links; the agent is the only client.
    requestTimeout: 0,
    headersTimeout: HEADERS_TIMEOUT_MS,
    keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
    maxHeaderSize: 64 * 1024,
  }
  const outer = createServer(serverOptions)
  const inner = createServer(serverOptions)

  // The health check is answered on the proxy port only, never inside a tunnel.
  const onRequest = (parse: (req: IncomingMessage) => TargetParse, expectContinue: boolean, health: boolean) => (req: IncomingMessage, res: ServerResponse) => {
    if (health && isHealthCheck(req)) {
      res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': '3' }).end('ok\n')
      return
    }
    forwardHttpRequest(ctx, req, res, parse(req), { expectContinue }).catch((error: Error) => {
      const denial = new EgressDenial('policy-error', 'internal error while handling the request')
      logDenied(ctx, denial, { method: req.method ?? '' })
      logEvent(ctx.log, { event: 'client.error', error: error.message.slice(0, 200) })
      respondDenied(res, denial, { close: true })
    })
  }
  const parseOuter = (req: IncomingMessage) => parseProxyRequest(req)
  const parseInner = (req: IncomingMessage): TargetParse => {
    const tunnel = tunnelOf(req.socket)
    if (!tunnel) return { ok: false, denial: new EgressDenial('malformed-request', 'request outside a known tunnel') }
    return parseTunnelRequest(req, tunnel)
  }

  outer.on('request', onRequest(parseOuter, false, true))
  outer.on('checkContinue', onRequest(parseOuter, true, false))
  inner.on('request', onRequest(parseInner, false, false))
  inner.on('checkContinue', onRequest(parseInner, true, false))
  outer.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => handleUpgrade(ctx, req, socket, head, parseOuter(req)))
  inner.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => handleUpgrade(ctx, req, socket, head, parseInner(req)))
  outer.on('connect', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    handleConnect(ctx, req, socket, head, (client, first, info, leaves) => {
      interceptTunnel(ctx, inner, client, first, info, leaves)
    }).catch((error: Error) => {
      logEvent(ctx.log, { event: 'client.error', error: error.message.slice(0, 200) })
      socket.destroy()
    })
  })
  outer.on('connection', (socket: Socket) => {
    socket.setNoDelay(true)
    track(socket)
  })
  const onClientError = (error: Error & { code?: string }, socket: Duplex) => {
    if (error.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy()
      return
    }
    logEvent(ctx.log, { event: 'client.error', error: `${error.code ?? 'error'}: ${error.message}`.slice(0, 200) })
    respondDenied(socket, new EgressDenial('malformed-request', 'unparseable HTTP request'))
  }
  outer.on('clientError', onClientError)
  inner.on('clientError', onClientError)

  await new Promise<void>((resolveListen, reject) => {
    outer.once('error', reject)
    outer.listen(options.port, options.host, () => {
      outer.off('error', reject)
      resolveListen()
    })
  })
  const address = outer.address() as AddressInfo
  logEvent(ctx.log, { event: 'proxy.listening', address: address.address, port: address.port })

  return {
    address,
    connections: () => sockets.size,
    close: () => closeServer(outer, inner, sockets, () => ctx.upstream.destroy()),
  }
}

function isHealthCheck(req: IncomingMessage): boolean {
  return req.method === 'GET' && req.url === '/healthz'
}

function closeServer(outer: Server, inner: Server, sockets: Set<Duplex>, destroyPool: () => void): Promise<void> {
  return new Promise((resolveClose) => {
    outer.close(() => resolveClose())
    inner.close()
    for (const socket of sockets) socket.destroy()
    outer.closeAllConnections()
    destroyPool()
  })
}
