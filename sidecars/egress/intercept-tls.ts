/**
 * TLS interception for a CONNECT tunnel: terminate the agent's TLS with a
 * leaf for the CONNECT host (signed by the Agent's CA, which the agent
 * trusts), then hand the decrypted stream to an in-process HTTP server, whose
 * requests go through the same policy and forwarding as plain ones. The
 * tunnel's destination travels with the TLS socket, so every request inside
 * it is judged against the CONNECT host, never the Host header.
 *
 * Only HTTP/1.1 is offered over ALPN.
 */
import type { Server } from 'node:http'
import { Duplex } from 'node:stream'
import { TLSSocket } from 'node:tls'
import type { LeafCertificates } from './certificates.js'
import { logEvent } from './event-log.js'
import type { ProxyContext } from './proxy-context.js'
import { canonicalHost, type CanonicalHost } from './route-match.js'

export interface TunnelInfo {
  host: CanonicalHost
  port: number
  route: string
}

const tunnels = new WeakMap<object, TunnelInfo>()

/** The tunnel a decrypted request arrived through, if it did. */
export function tunnelOf(socket: object): TunnelInfo | undefined {
  return tunnels.get(socket)
}

export function interceptTunnel(ctx: ProxyContext, inner: Server, client: Duplex, head: Buffer, info: TunnelInfo, leaves: LeafCertificates): void {
  let secureContext
  try {
    secureContext = leaves.secureContextFor(info.host.host)
  } catch (error) {
    logEvent(ctx.log, { event: 'client.error', error: `leaf certificate for ${info.host.host}: ${(error as Error).message}`.slice(0, 200) })
    client.destroy()
    return
  }
  const source = head.length > 0 ? prependHead(client, head) : client
  const tls = new TLSSocket(source, { isServer: true, secureContext, ALPNProtocols: ['http/1.1'] })
  tunnels.set(tls, info)
  tls.once('secure', () => {
    const servername = tls.servername
    if (typeof servername !== 'string' || servername === '') return
    const named = canonicalHost(servername)
    if (named.ok && named.value.host === info.host.host) return
    logEvent(ctx.log, {
      event: 'tunnel.denied',
      rule: 'sni-mismatch',
      reason: `TLS server name differs from the CONNECT host ${info.host.host}`,
      host: info.host.host,
      port: info.port,
    })
    tls.destroy()
  })
  // Handshake failures (an agent that does not trust the CA, a client that
  // hangs up) end this tunnel only.
  tls.on('error', () => tls.destroy())
  client.on('error', () => tls.destroy())
  inner.emit('connection', tls)
}

/**
 * A duplex over `socket` that first yields bytes the HTTP parser already
 * read past the CONNECT request. TLSSocket reads a net.Socket's handle
 * directly and would skip data pushed back with `unshift`.
 */
function prependHead(socket: Duplex, head: Buffer): Duplex {
  const duplex = new Duplex({
    read() {
      socket.resume()
    },
    write(chunk: Buffer, _encoding, callback) {
      socket.write(chunk, callback)
    },
    final(callback) {
      socket.end()
      callback()
    },
    destroy(error, callback) {
      socket.destroy()
      callback(error)
    },
  })
  duplex.push(head)
  socket.on('data', (chunk: Buffer) => {
    if (!duplex.push(chunk)) socket.pause()
  })
  socket.on('end', () => duplex.push(null))
  socket.on('close', () => duplex.destroy())
  return duplex
}
