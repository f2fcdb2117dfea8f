/**
 * The destination of an HTTP request, parsed once and canonically. On the
 * proxy port a request names it in absolute form (`GET http://host/path`);
 * inside an intercepted tunnel the tunnel's CONNECT host is the destination
 * and the request line carries only the path. Either way, what the policy
 * checks and what is forwarded are the same parsed URL, never the client's
 * raw text, so a parser differential cannot split the two.
 */
import type { IncomingMessage } from 'node:http'
import { EgressDenial } from './deny.js'
import type { RequestTarget, Scheme } from './policy.js'
import { canonicalHost, type CanonicalHost } from './route-match.js'
import { formatHostHeader } from './rewrite-headers.js'

export type TargetParse = { ok: true; target: RequestTarget } | { ok: false; denial: EgressDenial }

const malformed = (reason: string): TargetParse => ({ ok: false, denial: new EgressDenial('malformed-request', reason) })

/** A request on the proxy port: the target must be an absolute http(s) URL. */
export function parseProxyRequest(req: IncomingMessage): TargetParse {
  const raw = req.url ?? ''
  if (!/^[a-zA-Z][a-zA-Z0-9+.-]*:\/\//.test(raw)) return malformed('a proxy request needs an absolute URL (http://host/path)')
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    return malformed('unparseable request URL')
  }
  let scheme: Scheme
  if (url.protocol === 'http:' || url.protocol === 'ws:') scheme = 'http'
  else if (url.protocol === 'https:' || url.protocol === 'wss:') scheme = 'https'
  else return { ok: false, denial: new EgressDenial('unsupported-scheme', `scheme ${url.protocol.slice(0, -1)} is not proxied; use http or https`) }
  return finish(req, scheme, url)
}

export interface TunnelEnd {
  host: CanonicalHost
  port: number
}

/** A request inside an intercepted tunnel: its destination is the tunnel's. */
export function parseTunnelRequest(req: IncomingMessage, tunnel: TunnelEnd): TargetParse {
  const raw = req.url ?? ''
  const authority = formatHostHeader(tunnel.host.host, tunnel.port, 'https')
  let url: URL
  try {
    if (raw.startsWith('/')) {
      // Concatenate rather than resolve: `//other.host/x` is a path here, not a network-path reference.
      url = new URL(`https://${authority}${raw}`)
    } else if (/^https?:\/\//i.test(raw)) {
      url = new URL(raw)
      const named = canonicalHost(url.hostname)
      const port = url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80
      if (!named.ok || named.value.host !== tunnel.host.host || port !== tunnel.port) {
        return { ok: false, denial: new EgressDenial('host-mismatch', `a request inside the tunnel to ${tunnel.host.host} names another host`) }
      }
      url = new URL(`https://${authority}${url.pathname}${url.search}`)
    } else {
      return malformed('request target must be a path')
    }
  } catch {
    return malformed('unparseable request path')
  }
  return finish(req, 'https', url, tunnel)
}

/**
 * The path as the agent wrote it, before the URL parser resolved dot
 * segments and turned backslashes into slashes: path-prefix routes refuse a
 * path that only becomes canonical by that parsing (`canonical-path.ts`).
 */
export function rawRequestPath(requestTarget: string): string {
  const afterAuthority = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\/[^/?#\\]*/.exec(requestTarget)
  const rest = afterAuthority ? requestTarget.slice(afterAuthority[0].length) : requestTarget
  const end = rest.search(/[?#]/)
  const path = end < 0 ? rest : rest.slice(0, end)
  return path === '' ? '/' : path
}

function finish(req: IncomingMessage, scheme: Scheme, url: URL, tunnel?: TunnelEnd): TargetParse {
  url.hash = ''
  let host: CanonicalHost
  let port: number
  if (tunnel) {
    host = tunnel.host
    port = tunnel.port
  } else {
    const parsed = canonicalHost(url.hostname)
    if (!parsed.ok) return malformed(`bad host: ${parsed.reason}`)
    host = parsed.value
    port = url.port ? Number(url.port) : scheme === 'https' ? 443 : 80
  }
  return { ok: true, target: { scheme, host, port, url, rawPath: rawRequestPath(req.url ?? ''), method: req.method ?? 'GET', rawHeaders: req.rawHeaders } }
}
