/**
 * Which route, if any, a request belongs to.
 *
 * Hosts are compared in one canonical form, produced by the WHATWG URL host
 * parser (the one the agent's HTTP clients use): lowercase, IDNs as punycode,
 * odd IPv4 spellings (`2130706433`, `0x7f.1`) as dotted quads, IPv6 without
 * brackets, and one trailing dot dropped. `*.example.com` matches strict
 * subdomains only, never `example.com` itself. An exact route wins over a
 * wildcard, and a longer wildcard suffix over a shorter one.
 *
 * Path prefixes are compared on the parsed, dot-segment-resolved path and
 * always end at a segment boundary: `/repos/me` and `/repos/me/` both allow
 * `/repos/me/app` and neither allows `/repos/mex`. `/repos/me` also allows
 * `/repos/me` itself, `/repos/me/` does not (it names the folder's contents).
 * Comparison is case-sensitive, so a case-insensitive origin can only see
 * fewer allowed paths than the list suggests, never more.
 */
import { isIP } from 'node:net'

export type HostKind = 'name' | 'ipv4' | 'ipv6'

export interface CanonicalHost {
  /** Lowercase name or bare IP literal, no trailing dot, no brackets. */
  host: string
  kind: HostKind
}

export type HostParse = { ok: true; value: CanonicalHost } | { ok: false; reason: string }

const HOST_NAME = /^(?=.{1,253}$)([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)(\.[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)*$/

/** Canonicalize a host as written in a URL, a CONNECT authority or a Host header (no port). */
export function canonicalHost(raw: string): HostParse {
  if (raw === '' || raw.length > 300) return { ok: false, reason: 'empty or overlong host' }
  // The URL parser would read these as the end of the host and silently drop the rest.
  if (/[/?#@\\\s]/.test(raw)) return { ok: false, reason: 'host contains a URL delimiter or whitespace' }
  let parsed: string
  try {
    parsed = new URL(`http://${raw.includes(':') && !raw.startsWith('[') ? `[${raw}]` : raw}/`).hostname
  } catch {
    return { ok: false, reason: 'unparseable host' }
  }
  if (parsed.startsWith('[')) {
    const bare = parsed.slice(1, -1)
    return isIP(bare) === 6 ? { ok: true, value: { host: bare, kind: 'ipv6' } } : { ok: false, reason: 'bad IPv6 literal' }
  }
  if (parsed.endsWith('.')) parsed = parsed.slice(0, -1)
  if (isIP(parsed) === 4) return { ok: true, value: { host: parsed, kind: 'ipv4' } }
  if (!HOST_NAME.test(parsed)) return { ok: false, reason: 'host is not a DNS name' }
  return { ok: true, value: { host: parsed, kind: 'name' } }
}

export interface Authority {
  host: CanonicalHost
  port: number
}

export type AuthorityParse = { ok: true; value: Authority } | { ok: false; reason: string }

/** Parse a CONNECT request target, which must be `host:port` or `[v6]:port`. */
export function parseAuthority(target: string): AuthorityParse {
  const match = /^(\[[^\]]+\]|[^:[\]/?#@\s]+):(\d{1,5})$/.exec(target)
  if (!match) return { ok: false, reason: 'CONNECT target must be host:port' }
  const port = Number(match[2])
  if (port < 1 || port > 65535) return { ok: false, reason: 'port out of range' }
  const host = canonicalHost(match[1] as string)
  if (!host.ok) return host
  return { ok: true, value: { host: host.value, port } }
}

/** A route as the matcher sees it; the policy attaches the rest. */
export interface RoutePattern {
  /** As configured: `api.github.com`, `*.githubusercontent.com`, `203.0.113.7`. */
  host: string
  /** Ports the agent may ask for. */
  ports: readonly number[]
}

export interface RouteTable<R extends RoutePattern> {
  exact: Map<string, R>
  /** Suffix including the leading dot, longest first. */
  wildcards: Array<{ suffix: string; route: R }>
}

export function compileRoutes<R extends RoutePattern>(routes: readonly R[]): RouteTable<R> {
  const exact = new Map<string, R>()
  const wildcards: Array<{ suffix: string; route: R }> = []
  for (const route of routes) {
    if (route.host.startsWith('*.')) {
      const base = canonicalHost(route.host.slice(2))
      if (!base.ok) throw new Error(`route host ${route.host}: ${base.reason}`)
      wildcards.push({ suffix: `.${base.value.host}`, route })
    } else {
      const host = canonicalHost(route.host)
      if (!host.ok) throw new Error(`route host ${route.host}: ${host.reason}`)
      exact.set(host.value.host, route)
    }
  }
  wildcards.sort((a, b) => b.suffix.length - a.suffix.length)
  return { exact, wildcards }
}

export type RouteMatch<R> =
  | { matched: true; route: R }
  | { matched: false; rule: 'no-route' | 'port-not-allowed' | 'ip-literal' }

/**
 * The route for a canonical host and port. IP literals match only a route
 * that names that exact address; wildcards never match them.
 */
export function matchRoute<R extends RoutePattern>(table: RouteTable<R>, host: CanonicalHost, port: number): RouteMatch<R> {
  let route = table.exact.get(host.host)
  if (!route && host.kind !== 'name') return { matched: false, rule: 'ip-literal' }
  if (!route) route = table.wildcards.find((w) => host.host.endsWith(w.suffix) && host.host.length > w.suffix.length)?.route
  if (!route) return { matched: false, rule: 'no-route' }
  if (!route.ports.includes(port)) return { matched: false, rule: 'port-not-allowed' }
  return { matched: true, route }
}

/** Is a parsed URL path inside one of the prefixes? Absent prefixes allow every path. */
export function pathAllowed(prefixes: readonly string[] | undefined, pathname: string): boolean {
  if (!prefixes) return true
  return prefixes.some((prefix) => {
    if (!pathname.startsWith(prefix)) return false
    if (prefix.endsWith('/')) return true
    return pathname.length === prefix.length || pathname[prefix.length] === '/'
  })
}
