/**
 * The headers that leave the proxy, built from the agent's raw headers.
 *
 * Dropped: hop-by-hop headers (RFC 9110 7.6.1) and whatever `Connection`
 * lists, `Proxy-*` (meant for this proxy), `Expect` (this proxy answers
 * `100-continue` itself), the agent's `Host` (rebuilt from the URL that was
 * checked), any header whose value carries a placeholder credential the agent
 * was given, and on a route with auth, every `Authorization`. The credential
 * is added last, after DLP has scanned what remains, so the injected value is
 * never itself scanned, logged or shown to the agent.
 *
 * While answers are redacted, `Accept-Encoding` offers only the codings the
 * proxy can decode (content-decoding.ts), and what goes back to the agent has
 * its secret values replaced (redactResponseHeaders).
 */
import { newTally, type AnswerRedactor, type RedactionTally } from './answer-redactor.js'

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'expect',
  'host',
])

export interface StripOptions {
  /** The `Host` value to send: `host[:port]`, IPv6 in brackets. */
  hostHeader: string
  /** Drop every Authorization the agent sent (the route injects its own). */
  stripAuthorization: boolean
  /** Dummy credential values the agent holds; a header carrying one is dropped. */
  placeholders: readonly string[]
  /** Keep `Connection: Upgrade` and `Upgrade: <protocol>` for a WebSocket handshake. */
  upgrade?: string
}

export interface StrippedHeaders {
  /** Flat raw list `[name, value, name, value, ...]`, Host first. */
  headers: string[]
  /** Lowercase names of the headers that were dropped for carrying credentials. */
  droppedCredentials: string[]
}

export function stripRequestHeaders(rawHeaders: readonly string[], options: StripOptions): StrippedHeaders {
  const listedByConnection = new Set<string>()
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    if ((rawHeaders[i] as string).toLowerCase() !== 'connection') continue
    for (const token of (rawHeaders[i + 1] as string).split(',')) {
      const name = token.trim().toLowerCase()
      if (name) listedByConnection.add(name)
    }
  }
  const headers: string[] = ['Host', options.hostHeader]
  const droppedCredentials: string[] = []
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i] as string
    const value = rawHeaders[i + 1] as string
    const lower = name.toLowerCase()
    if (HOP_BY_HOP.has(lower) || listedByConnection.has(lower)) continue
    if (options.stripAuthorization && lower === 'authorization') {
      droppedCredentials.push(lower)
      continue
    }
    if (options.placeholders.some((placeholder) => value.includes(placeholder))) {
      droppedCredentials.push(lower)
      continue
    }
    headers.push(name, value)
  }
  if (options.upgrade) headers.push('Connection', 'Upgrade', 'Upgrade', options.upgrade)
  return { headers, droppedCredentials }
}

export type AuthScheme = 'Bearer' | 'token'

/** Append the route's credential. Call only after the headers were scanned. */
export function injectAuthorization(headers: readonly string[], scheme: AuthScheme, value: string): string[] {
  return [...headers, 'Authorization', `${scheme} ${value}`]
}

/** The first value of a header in a flat raw list, case-insensitively. */
export function headerValue(rawHeaders: readonly string[], name: string): string | undefined {
  const wanted = name.toLowerCase()
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    if ((rawHeaders[i] as string).toLowerCase() === wanted) return rawHeaders[i + 1]
  }
  return undefined
}

/** Replace (or add) Content-Length, for a body that was buffered and is sent whole. */
export function withContentLength(headers: readonly string[], length: number): string[] {
  const out: string[] = []
  for (let i = 0; i + 1 < headers.length; i += 2) {
    if ((headers[i] as string).toLowerCase() === 'content-length') continue
    out.push(headers[i] as string, headers[i + 1] as string)
  }
  out.push('Content-Length', String(length))
  return out
}

/** `Host` header text for a host and port, leaving out the scheme's default port. */
export function formatHostHeader(host: string, port: number, scheme: 'http' | 'https'): string {
  const name = host.includes(':') ? `[${host}]` : host
  const defaultPort = scheme === 'https' ? 443 : 80
  return port === defaultPort ? name : `${name}:${port}`
}

const RESPONSE_HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'proxy-authenticate'])

/** An origin's response headers as they go back to the agent. */
export function stripResponseHeaders(rawHeaders: readonly string[]): string[] {
  const listed = new Set<string>()
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    if ((rawHeaders[i] as string).toLowerCase() === 'connection') {
      for (const token of (rawHeaders[i + 1] as string).split(',')) listed.add(token.trim().toLowerCase())
    }
  }
  const out: string[] = []
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const lower = (rawHeaders[i] as string).toLowerCase()
    if (RESPONSE_HOP_BY_HOP.has(lower) || listed.has(lower)) continue
    out.push(rawHeaders[i] as string, rawHeaders[i + 1] as string)
  }
  return out
}

/**
 * Narrow every Accept-Encoding to `decodable` (plus identity), so the origin
 * answers in a coding the proxy can read. `*` stands for the decodable
 * codings the agent did not name; an agent that accepted nothing decodable
 * gets `identity`. Without an Accept-Encoding the request is left alone.
 * Returns `headers` itself when nothing changes.
 */
export function limitAcceptEncoding(headers: string[], decodable: readonly string[]): string[] {
  let at = -1
  for (let i = 0; at < 0 && i + 1 < headers.length; i += 2) {
    if ((headers[i] as string).toLowerCase() === 'accept-encoding') at = i
  }
  if (at < 0) return headers
  const items: string[] = []
  for (let i = at; i + 1 < headers.length; i += 2) {
    if ((headers[i] as string).toLowerCase() !== 'accept-encoding') continue
    for (const item of (headers[i + 1] as string).split(',')) if (item.trim() !== '') items.push(item.trim())
  }
  const named = new Set(items.map((item) => codingOf(item)))
  const kept: string[] = []
  for (const item of items) {
    const coding = codingOf(item)
    if (coding === '*') {
      const params = item.slice(item.indexOf('*') + 1)
      if (/;\s*q\s*=\s*0(?:\.0*)?\s*$/i.test(params)) continue
      for (const extra of decodable) if (!named.has(extra)) kept.push(`${extra}${params}`)
    } else if (coding === 'identity' || coding === 'x-gzip' || decodable.includes(coding)) {
      kept.push(item)
    }
  }
  const value = kept.length > 0 ? kept.join(', ') : 'identity'
  const out: string[] = []
  for (let i = 0; i + 1 < headers.length; i += 2) {
    const name = headers[i] as string
    if (name.toLowerCase() !== 'accept-encoding') out.push(name, headers[i + 1] as string)
    else if (i === at) out.push(name, value)
  }
  return out.length === headers.length && out.every((part, i) => part === headers[i]) ? headers : out
}

function codingOf(item: string): string {
  return (item.split(';')[0] as string).trim().toLowerCase()
}

export interface HeaderRedaction {
  /** `header:<lowercase name>`, or `location` for the redirect target. */
  where: string
  tally: RedactionTally
}

/**
 * Answer headers with every secret value replaced, in any header (Set-Cookie,
 * WWW-Authenticate, Location, custom ones). Returns `headers` itself and no
 * redactions when nothing matched.
 */
export function redactResponseHeaders(headers: string[], redactor: AnswerRedactor): { headers: string[]; redactions: HeaderRedaction[] } {
  let out: string[] | undefined
  const redactions: HeaderRedaction[] = []
  for (let i = 0; i + 1 < headers.length; i += 2) {
    const value = headers[i + 1] as string
    const tally = newTally()
    const redacted = redactor.redactHeader(value, tally)
    if (redacted === value) continue
    out ??= [...headers]
    out[i + 1] = redacted
    const lower = (headers[i] as string).toLowerCase()
    redactions.push({ where: lower === 'location' ? 'location' : `header:${lower}`, tally })
  }
  return { headers: out ?? headers, redactions }
}

/** Drop headers by lowercase name. */
export function withoutHeaders(headers: readonly string[], names: ReadonlySet<string>): string[] {
  const out: string[] = []
  for (let i = 0; i + 1 < headers.length; i += 2) {
    if (!names.has((headers[i] as string).toLowerCase())) out.push(headers[i] as string, headers[i + 1] as string)
  }
  return out
}
