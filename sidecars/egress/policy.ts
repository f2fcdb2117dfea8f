/**
 * The egress policy: pure decisions over one loaded config. The proxy
 * mechanism (sockets, TLS, forwarding) asks it four questions and does what
 * it answers:
 *
 * - `decideConnect`: may the agent open a tunnel to host:port, and is the
 *   tunnel intercepted or passed through?
 * - `decideRequest`: may this request leave, to which origin, with which
 *   headers (credentials injected), and must its body be scanned?
 * - `inspectBody`: does the buffered body carry a secret, or defy parsing?
 * - `checkAddress` / `chargeBytes`: may the proxy dial this resolved address;
 *   may this many more bytes leave for the request's base domain?
 *
 * Contract: the mechanism treats a thrown error as a denial (`policy-error`),
 * so a bug here refuses traffic rather than letting it through.
 */
import { Buffer } from 'node:buffer'
import type { BodyVerdict, DlpFinding, DlpScanner } from '../dlp/types.js'
import { routePorts, type EgressConfig, type EgressRouteConfig } from './config.js'
import { EgressDenial } from './deny.js'
import type { Cidr } from './ip-address.js'
import { parseCidr } from './ip-address.js'
import { baseDomain, type DomainRateLimiter, type RateLimits, type RateVerdict } from './rate-limit.js'
import { findingsTouch, scanRequestBody, scanRequestHead } from './request-scan.js'
import { formatHostHeader, headerValue, injectAuthorization, stripRequestHeaders, type AuthScheme } from './rewrite-headers.js'
import { compileRoutes, matchRoute, pathAllowed, type CanonicalHost, type RoutePattern, type RouteTable } from './route-match.js'
import { checkAddress } from './ssrf-guard.js'
import { FragmentWindows, requestFragments, subdomainFragments, type Fragment } from './fragment-window.js'
import { isCanonicalPath } from './canonical-path.js'

export type Scheme = 'http' | 'https'

/** Where the proxy connects for a request or tunnel. */
export interface DialTarget {
  scheme: Scheme
  /** DNS name or IP literal (IPv6 without brackets). */
  host: string
  port: number
}

export interface ConnectTarget {
  host: CanonicalHost
  port: number
}

/** What to redact when logging a decision, because a finding sits there. */
export interface Redaction {
  host: boolean
  path: boolean
}

export type ConnectDecision =
  | { action: 'deny'; denial: EgressDenial; redact: Redaction; finding?: DlpFinding }
  | { action: 'intercept' | 'passthrough'; route: string; dial: DialTarget; rateKey: string; warnings: DlpFinding[] }

export interface RequestTarget {
  scheme: Scheme
  host: CanonicalHost
  port: number
  /** Parsed and dot-segment-resolved; what is forwarded is rebuilt from it. */
  url: URL
  /** The path as the agent sent it, before parsing (absent: the parsed one). */
  rawPath?: string
  method: string
  rawHeaders: readonly string[]
  /** The `Upgrade` protocol when this is a WebSocket handshake. */
  upgrade?: string
}

export interface AllowedRequest {
  action: 'allow'
  route: string
  dial: DialTarget
  /** Origin-form request target: path and query. */
  path: string
  /** Final headers, flat raw list, credential included. */
  headers: string[]
  scanBody: boolean
  maxScanBytes: number
  rateKey: string
  warnings: DlpFinding[]
  /** The injected credential's scheme and slot (never its value), for the log. */
  injected?: { scheme: AuthScheme; slot: string }
}

export type RequestDecision = { action: 'deny'; denial: EgressDenial; redact: Redaction; finding?: DlpFinding } | AllowedRequest

export type BodyDecision = { ok: true; warnings: DlpFinding[] } | { ok: false; denial: EgressDenial; finding?: DlpFinding }

export interface EgressPolicy {
  decideConnect(target: ConnectTarget): ConnectDecision
  decideRequest(target: RequestTarget): RequestDecision
  inspectBody(request: AllowedRequest, body: Uint8Array): BodyDecision
  /** One whole WebSocket message (or control frame payload) the agent sends after an upgrade. */
  /**
   * One whole WebSocket message (or control frame payload) the agent sends
   * after an upgrade. `recent`: the connection's previous messages, which
   * this call joins the message to (a secret split over consecutive
   * messages) and then appends it to (bounded).
   */
  inspectMessage(request: AllowedRequest, kind: 'text' | 'binary' | 'control', payload: Uint8Array, recent?: string[]): BodyDecision
  /** Undefined when the resolved address may be dialled. */
  checkAddress(address: string): EgressDenial | undefined
  /** Undefined when the bytes fit the base domain's budget (and were taken from it). */
  chargeBytes(rateKey: string, bytes: number): EgressDenial | undefined
}

export interface PolicyInput {
  config: EgressConfig
  /** Slot name to value, from secrets.json. */
  secrets: ReadonlyMap<string, string>
  /** Built with every secret value as a known secret. */
  scanner: DlpScanner
  /** Shared across reloads. */
  limiter: DomainRateLimiter
  /** Recent fragments per base domain, for secrets split across requests; shared across reloads. */
  windows?: FragmentWindows
}

interface CompiledRoute extends RoutePattern {
  config: EgressRouteConfig
  upstream?: DialTarget
}

const NO_REDACTION: Redaction = { host: false, path: false }
/** A window scan that found nothing and has nothing to record. */
const NOTHING_NEW = { findings: [] as DlpFinding[], commit: () => undefined }

export function createEgressPolicy(input: PolicyInput): EgressPolicy {
  const { config, secrets, scanner, limiter } = input
  const windows = input.windows ?? new FragmentWindows()
  const routes: RouteTable<CompiledRoute> = compileRoutes(
    config.routes.map((route): CompiledRoute => {
      const compiled: CompiledRoute = { host: route.host, ports: routePorts(route), config: route }
      if (route.upstream) compiled.upstream = parseUpstream(route.upstream)
      return compiled
    }),
  )
  const allowPrivate: Cidr[] = config.allowPrivate.map((text) => {
    const cidr = parseCidr(text)
    if (!cidr) throw new Error(`allowPrivate entry ${text} is not a CIDR`)
    return cidr
  })
  const limits: RateLimits = config.limits
  const blocking = config.dlp.action === 'block'

  const deny = (rule: EgressDenial['rule'], reason: string, redact: Redaction = NO_REDACTION, finding?: DlpFinding) => {
    const decision: { action: 'deny'; denial: EgressDenial; redact: Redaction; finding?: DlpFinding } = { action: 'deny', denial: new EgressDenial(rule, reason), redact }
    if (finding) decision.finding = finding
    return decision
  }

  const routeFor = (host: CanonicalHost, port: number) => {
    const match = matchRoute(routes, host, port)
    if (match.matched) return match
    const reasons = {
      'no-route': `no route allows host ${host.host}`,
      'port-not-allowed': `the route for ${host.host} does not allow port ${port}`,
      'ip-literal': `direct IP address ${host.host} is not a listed route`,
    }
    return { matched: false as const, denial: deny(match.rule, reasons[match.rule]) }
  }

  const bodyDecision = (verdict: BodyVerdict): BodyDecision => {
    if (!verdict.ok) return { ok: false, denial: new EgressDenial('body-unscannable', `${verdict.reason}; bodies that cannot be scanned are refused`) }
    const first = verdict.findings[0]
    if (first && blocking) return { ok: false, denial: new EgressDenial('dlp', dlpReason(first)), finding: first }
    return { ok: true, warnings: verdict.findings }
  }

  /** Findings that only the recent requests to this base domain, joined per channel, reveal. */
  const scanWindows = (rateKey: string, fragments: readonly Fragment[]): { findings: DlpFinding[]; commit: () => void } => {
    const { joins, commit } = windows.preview(rateKey, fragments)
    return { findings: joins.flatMap((join) => scanner.scanJoined(join.values, `recent-requests:${join.channel}`)), commit }
  }

  const denyRate = (verdict: Extract<RateVerdict, { ok: false }>, domain: string) =>
    deny(verdict.rule, `${verdict.rule === 'rate-limit-requests' ? 'requests' : 'bytes'} per minute to ${domain} exhausted; retry in ${verdict.retryAfterSeconds}s`)

  return {
    decideConnect(target) {
      const match = routeFor(target.host, target.port)
      if (!match.matched) return match.denial
      const route = match.route
      const rateKey = baseDomain(target.host.host, target.host.kind)
      const subdomain = subdomainOf(route.host, target.host.host)
      const hostFindings = target.host.kind === 'name' ? scanner.scanHost(target.host.host, 'host') : []
      const window = scanWindows(rateKey, subdomainFragments(subdomain))
      hostFindings.push(...window.findings)
      const firstHost = hostFindings[0]
      if (firstHost && blocking) return deny('dlp', dlpReason(firstHost), { host: true, path: false }, firstHost)
      const mode = route.config.tls
      const dial: DialTarget = route.upstream ?? { scheme: 'https', host: target.host.host, port: target.port }
      // Every tunnel counts as a request: opening one resolves its host name,
      // and a stream of tunnels to fresh subdomains would otherwise carry data
      // out through DNS without a single counted request.
      const verdict = limiter.admitRequest(rateKey, target.host.host.length, limits)
      if (!verdict.ok) return denyRate(verdict, rateKey)
      window.commit()
      return { action: mode, route: route.host, dial, rateKey, warnings: hostFindings }
    },

    decideRequest(target) {
      const match = routeFor(target.host, target.port)
      if (!match.matched) return match.denial
      const route = match.route
      if (route.config.paths && !(isCanonicalPath(target.url.pathname) && isCanonicalPath(target.rawPath ?? target.url.pathname))) {
        return deny('path-not-canonical', `the route for ${route.host} allows path prefixes, and this path reads differently to different origins (encoded separators or dots, backslashes, ; parameters or //)`, { host: false, path: true })
      }
      if (!pathAllowed(route.config.paths, target.url.pathname)) {
        return deny('path-not-allowed', `the route for ${route.host} does not allow this path`, { host: false, path: true })
      }
      const dial: DialTarget = route.upstream ?? { scheme: target.scheme, host: target.host.host, port: target.port }
      const auth = route.config.auth
      if (auth && dial.scheme !== 'https') {
        return deny('plaintext-auth', `the route for ${route.host} injects a credential and needs https`)
      }
      const stripped = stripRequestHeaders(target.rawHeaders, {
        hostHeader: formatHostHeader(target.host.host, target.port, target.scheme),
        stripAuthorization: auth !== undefined,
        placeholders: config.placeholders,
        ...(target.upgrade ? { upgrade: target.upgrade } : {}),
      })
      // Compressed WebSocket frames could not be scanned: do not let the agent negotiate compression.
      if (target.upgrade && route.config.scan.body) stripped.headers = withoutHeader(stripped.headers, 'sec-websocket-extensions')
      const rateKey = baseDomain(target.host.host, target.host.kind)
      const findings = scanRequestHead(scanner, { host: target.host, url: target.url, headers: stripped.headers })
      const fingerprint = `${target.url.href}\n${stripped.headers.join('\n')}`
      const window = windows.repeats(rateKey, fingerprint) ? NOTHING_NEW : scanWindows(rateKey, requestFragments(subdomainOf(route.host, target.host.host), target.url, stripped.headers))
      findings.push(...window.findings)
      const first = findings[0]
      if (first && blocking) return deny('dlp', dlpReason(first), findingsTouch(findings), first)

      const path = `${target.url.pathname}${target.url.search}`
      const verdict = limiter.admitRequest(rateKey, headBytes(target.method, path, stripped.headers), limits)
      if (!verdict.ok) return denyRate(verdict, rateKey)
      // Only what leaves joins the window: a refused request's pieces never reached the origin.
      window.commit()
      windows.sent(rateKey, fingerprint)

      let headers = stripped.headers
      if (auth) {
        const value = secrets.get(auth.slot)
        // The loader refuses configs with unknown slots; this only guards a programming error.
        if (value === undefined) throw new Error(`route ${route.host} names slot ${auth.slot}, which secrets.json lacks`)
        headers = injectAuthorization(headers, auth.scheme, value)
      }
      const allowed: AllowedRequest = {
        action: 'allow',
        route: route.host,
        dial,
        path,
        headers,
        scanBody: route.config.scan.body,
        maxScanBytes: config.limits.scanBodyMaxBytes,
        rateKey,
        warnings: findings,
      }
      if (auth) allowed.injected = { scheme: auth.scheme, slot: auth.slot }
      return allowed
    },

    inspectBody(request, body) {
      return bodyDecision(scanRequestBody(scanner, body, headerValue(request.headers, 'content-type'), headerValue(request.headers, 'content-encoding')))
    },

    inspectMessage(_request, kind, payload, recent) {
      // Text messages are mostly JSON; the engine reads malformed JSON as plain text.
      const verdict = scanRequestBody(scanner, payload, kind === 'binary' ? 'application/octet-stream' : 'application/json', undefined)
      if (!verdict.ok || kind === 'control' || recent === undefined) return bodyDecision(verdict)
      const text = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString(kind === 'text' ? 'utf8' : 'latin1')
      const joined = scanner.scanJoined([...recent, text], 'websocket(joined)').filter((f) => !verdict.findings.some((own) => own.rule === f.rule))
      rememberMessage(recent, text)
      return bodyDecision({ ok: true, findings: [...verdict.findings, ...joined] })
    },

    checkAddress(address) {
      const verdict = checkAddress(address, allowPrivate)
      if (verdict.allowed) return undefined
      return new EgressDenial('ssrf', `destination resolves to a ${verdict.category} address (${verdict.range}); not in allowPrivate`)
    },

    chargeBytes(rateKey, bytes) {
      const verdict = limiter.chargeBytes(rateKey, bytes, limits)
      return verdict.ok ? undefined : denyRate(verdict, rateKey).denial
    },
  }
}

function withoutHeader(headers: readonly string[], name: string): string[] {
  const out: string[] = []
  for (let i = 0; i + 1 < headers.length; i += 2) {
    if ((headers[i] as string).toLowerCase() !== name) out.push(headers[i] as string, headers[i + 1] as string)
  }
  return out
}

/** Messages a WebSocket connection remembers for joins, and how much of each (head and tail). */
export const RECENT_MESSAGES = { count: 8, chars: 2048 } as const

function rememberMessage(recent: string[], text: string): void {
  const half = RECENT_MESSAGES.chars / 2
  recent.push(text.length <= RECENT_MESSAGES.chars ? text : `${text.slice(0, half)}${text.slice(-half)}`)
  if (recent.length > RECENT_MESSAGES.count) recent.shift()
}

/** Rules that say the scan could not read something, rather than that it found a secret. */
const UNREADABLE_RULES = new Set(['scan-limit-exceeded', 'unreadable-encoding', 'charset-mismatch'])

function dlpReason(finding: DlpFinding): string {
  const what = UNREADABLE_RULES.has(finding.rule) ? `content the scan cannot read (${finding.rule})` : `secret matching rule ${finding.rule}`
  return `${what} in ${finding.location}${finding.encoding ? ` (${finding.encoding})` : ''}`
}

/** The labels a wildcard route lets vary (`a.b` of `a.b.cdn.example.com` under `*.cdn.example.com`); empty for exact routes. */
function subdomainOf(routeHost: string, host: string): string {
  if (!routeHost.startsWith('*.')) return ''
  const suffix = routeHost.slice(1).toLowerCase()
  return host.endsWith(suffix) ? host.slice(0, -suffix.length) : ''
}

function headBytes(method: string, path: string, headers: readonly string[]): number {
  let bytes = method.length + path.length + 12
  for (const part of headers) bytes += part.length + 2
  return bytes
}

function parseUpstream(upstream: string): DialTarget {
  const url = new URL(upstream)
  const scheme: Scheme = url.protocol === 'https:' ? 'https' : 'http'
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname
  return { scheme, host, port: url.port ? Number(url.port) : scheme === 'https' ? 443 : 80 }
}
