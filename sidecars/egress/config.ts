/**
 * The egress proxy's config file, `config.json` in the config folder. The
 * controller renders it from a Bottle's `egress` section (importing
 * `EgressConfigInput` from here: the reader owns the format) and the proxy
 * validates it on every load. The schema is strict so that a misspelled
 * setting fails the load instead of silently loosening the policy.
 *
 * Secret values never appear in this file: a route names a slot, and
 * `secrets.json` beside it maps slots to values.
 */
import { X509Certificate } from 'node:crypto'
// zod/mini: the same validation as `zod` at a sixth of the bundled size and
// resident memory, which matters in a sidecar that runs per Agent.
import * as z from 'zod/mini'
import { en } from 'zod/locales'
import { SLOT } from '../shared/secrets-file.js'
import { canonicalPath, isCanonicalPath } from './canonical-path.js'
import { canonicalHost } from './route-match.js'
import { parseCidr } from './ip-address.js'

export const DEFAULT_PORTS = [80, 443] as const

export const DEFAULT_LIMITS = {
  requestsPerMinute: 600,
  bytesPerMinute: 64 * 1024 * 1024,
  scanBodyMaxBytes: 8 * 1024 * 1024,
} as const

/** Slot names are plain identifiers so they are safe in logs and status. */

const integer = (min: number, max?: number) =>
  max === undefined ? z.int().check(z.minimum(min)) : z.int().check(z.minimum(min), z.maximum(max))

const routeAuthSchema = z
  .strictObject({
    scheme: z.enum(['Bearer', 'token']).check(z.describe('Authorization scheme to inject: `Bearer <value>` or `token <value>` (Gitea).')),
    slot: z.string().check(z.regex(SLOT, 'must be an identifier (letters, digits, _ . -)'), z.describe('Key in secrets.json whose value is injected.')),
  })
  .check(z.describe('Credential the proxy injects after stripping whatever the agent sent. Needs interception.'))

const routeSchema = z
  .strictObject({
    host: z.string().check(z.minLength(1), z.describe('Exact host, `*.suffix` (strict subdomains only) or an exact IP literal. Case-insensitive.')),
    ports: z.optional(z.array(integer(1, 65535)).check(z.minLength(1), z.describe('Ports the agent may ask for on this host. Absent means 80 and 443.'))),
    tls: z._default(
      z.enum(['intercept', 'passthrough']).check(
        z.describe('intercept: terminate TLS with a leaf from the agent CA and inspect. passthrough: tunnel after a host and SNI check only.'),
      ),
      'intercept',
    ),
    paths: z.optional(
      z.array(z.string()).check(z.minLength(1), z.describe('Allowed path prefixes, compared at segment boundaries. Absent means every path. Needs interception.')),
    ),
    auth: z.optional(routeAuthSchema),
    upstream: z.optional(
      z.string().check(z.describe('Dial this origin (`https://host[:port]` or `http://...`) instead of the requested host. The Host header stays the requested host.')),
    ),
    scan: z._default(
      z.strictObject({
        body: z._default(
          z.boolean().check(z.describe('Scan request bodies up to limits.scanBodyMaxBytes (default true). URL and headers are always scanned.')),
          true,
        ),
      }),
      { body: true },
    ),
  })
  .check(z.describe('One allowed destination.'))

const limitsSchema = z._default(
  z.strictObject({
    requestsPerMinute: z._default(integer(1).check(z.describe('Per base domain.')), DEFAULT_LIMITS.requestsPerMinute),
    bytesPerMinute: z._default(integer(1024).check(z.describe('Outbound bytes (URL, headers, body) per base domain.')), DEFAULT_LIMITS.bytesPerMinute),
    scanBodyMaxBytes: z._default(
      integer(1024, 256 * 1024 * 1024).check(
        z.describe('Largest request body that is buffered and scanned; larger bodies are refused unless the route sets scan.body false.'),
      ),
      DEFAULT_LIMITS.scanBodyMaxBytes,
    ),
  }),
  { ...DEFAULT_LIMITS },
)

export const egressConfigSchema = z
  .strictObject({
    version: z._default(z.literal(1), 1),
    routes: z._default(z.array(routeSchema), []),
    dlp: z._default(
      z.strictObject({
        action: z._default(z.enum(['block', 'warn']).check(z.describe('block refuses a request carrying a secret; warn only logs it.')), 'block'),
      }),
      { action: 'block' },
    ),
    allowPrivate: z._default(z.array(z.string()).check(z.describe('CIDRs of otherwise refused addresses the proxy may dial (SSRF opt-in).')), []),
    limits: limitsSchema,
    upstreamCaCerts: z._default(z.array(z.string()).check(z.describe('Extra PEM CA certificates trusted for origins, besides the system store.')), []),
    placeholders: z._default(
      z
        .array(z.string().check(z.minLength(8, 'must be at least 8 characters (shorter values would strip unrelated headers)')))
        .check(z.describe('Dummy credential values the agent holds; any header carrying one is dropped before forwarding.')),
      [],
    ),
  })
  .check(
    z.superRefine((config, ctx) => {
      const seen = new Map<string, number>()
      config.routes.forEach((route, i) => {
        const at = (...rest: Array<string | number>) => ['routes', i, ...rest]
        const hostIssue = routeHostProblem(route.host)
        if (hostIssue) ctx.addIssue({ code: 'custom', path: at('host'), message: hostIssue })
        const key = route.host.toLowerCase().replace(/\.$/, '')
        const first = seen.get(key)
        if (first !== undefined) ctx.addIssue({ code: 'custom', path: at('host'), message: `duplicate host (also routes[${first}]); hosts must be unique` })
        else seen.set(key, i)

        const passthrough = route.tls === 'passthrough'
        if (passthrough && route.paths) ctx.addIssue({ code: 'custom', path: at('paths'), message: 'paths need tls: intercept (a passthrough tunnel cannot see paths)' })
        if (passthrough && route.auth) ctx.addIssue({ code: 'custom', path: at('auth'), message: 'auth needs tls: intercept (a passthrough tunnel cannot inject headers)' })
        route.paths?.forEach((prefix, j) => {
          const problem = pathPrefixProblem(prefix)
          if (problem) ctx.addIssue({ code: 'custom', path: at('paths', j), message: problem })
        })
        if (route.upstream !== undefined) {
          const problem = upstreamProblem(route.upstream)
          if (problem) ctx.addIssue({ code: 'custom', path: at('upstream'), message: problem })
        }
      })
      config.allowPrivate.forEach((text, i) => {
        const cidr = parseCidr(text)
        if (!cidr) ctx.addIssue({ code: 'custom', path: ['allowPrivate', i], message: `${JSON.stringify(text)} is not an IP address or CIDR` })
        else if (cidr.prefixLength < 8) ctx.addIssue({ code: 'custom', path: ['allowPrivate', i], message: `${text} is too broad (the prefix must be /8 or longer)` })
      })
      config.upstreamCaCerts.forEach((pem, i) => {
        try {
          const cert = new X509Certificate(pem)
          if (!cert.ca) ctx.addIssue({ code: 'custom', path: ['upstreamCaCerts', i], message: 'is not a CA certificate' })
        } catch {
          ctx.addIssue({ code: 'custom', path: ['upstreamCaCerts', i], message: 'is not a PEM certificate' })
        }
      })
    }),
  )

/** What the controller writes (defaults may be omitted). */
export type EgressConfigInput = z.input<typeof egressConfigSchema>
/** What the proxy runs with, defaults filled in. */
export type EgressConfig = z.output<typeof egressConfigSchema>
export type EgressRouteConfig = EgressConfig['routes'][number]

function routeHostProblem(host: string): string | undefined {
  if (/[:/]/.test(host) && !/^[0-9a-fA-F:.]+$/.test(host)) return `${JSON.stringify(host)} must be a bare host (no scheme, port or path)`
  if (host.startsWith('*.')) {
    const base = canonicalHost(host.slice(2))
    if (!base.ok || base.value.kind !== 'name') return `${JSON.stringify(host)}: a wildcard needs a DNS suffix after "*."`
    if (!base.value.host.includes('.')) return `${JSON.stringify(host)}: a wildcard over a top-level domain is too broad`
    return undefined
  }
  if (host.includes('*')) return `${JSON.stringify(host)}: "*" is only allowed as a leading "*." label`
  const parsed = canonicalHost(host)
  if (!parsed.ok) return `${JSON.stringify(host)}: ${parsed.reason}`
  return undefined
}

function pathPrefixProblem(prefix: string): string | undefined {
  if (!prefix.startsWith('/')) return `${JSON.stringify(prefix)} must start with "/"`
  if (/[?#]/.test(prefix)) return `${JSON.stringify(prefix)} must be a path without query or fragment`
  let normalized: string
  try {
    normalized = new URL(prefix, 'http://route.invalid').pathname
  } catch {
    return `${JSON.stringify(prefix)} is not a URL path`
  }
  if (normalized !== prefix) return `${JSON.stringify(prefix)} is not in normalized form (would be compared as ${JSON.stringify(normalized)})`
  if (!isCanonicalPath(prefix)) return `${JSON.stringify(prefix)} is not canonical (would be compared as ${JSON.stringify(canonicalPath(prefix))})`
  return undefined
}

function upstreamProblem(upstream: string): string | undefined {
  let url: URL
  try {
    url = new URL(upstream)
  } catch {
    return `${JSON.stringify(upstream)} is not a URL`
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return `${JSON.stringify(upstream)} must be an http:// or https:// URL`
  if (url.username || url.password) return 'must not carry credentials (use auth with a slot)'
  if ((url.pathname !== '/' && url.pathname !== '') || url.search || url.hash) return `${JSON.stringify(upstream)} must be an origin (no path, query or fragment)`
  return undefined
}

export type ValidationResult<T> = { ok: true; value: T } | { ok: false; errors: string[] }

/** Validate parsed JSON. Each error is one line: `routes[2].paths[0]: "x" must start with "/"`. */
export function validateEgressConfig(input: unknown): ValidationResult<EgressConfig> {
  // zod/mini ships no messages; English ones per parse, without touching zod's global config.
  const result = egressConfigSchema.safeParse(input, { error: englishMessages })
  if (result.success) return { ok: true, value: result.data }
  return { ok: false, errors: result.error.issues.map((issue) => formatIssue(issue.path, describeIssue(issue))) }
}

/** Parse and validate the text of config.json. */
export function parseEgressConfig(text: string): ValidationResult<EgressConfig> {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (error) {
    return { ok: false, errors: [`config.json: invalid JSON: ${oneLine((error as Error).message)}`] }
  }
  return validateEgressConfig(json)
}

const englishMessages = en().localeError

function describeIssue(issue: z.core.$ZodIssue): string {
  if (issue.code === 'unrecognized_keys') return `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => JSON.stringify(k)).join(', ')}`
  return oneLine(issue.message.replace(/^Invalid (input|option): /, ''))
}

export function formatIssue(path: ReadonlyArray<PropertyKey>, message: string): string {
  let where = ''
  for (const part of path) where += typeof part === 'number' ? `[${part}]` : where === '' ? String(part) : `.${String(part)}`
  return `${where === '' ? 'config' : where}: ${message}`
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim()
}

/** The ports a route allows, defaults applied. */
export function routePorts(route: EgressRouteConfig): readonly number[] {
  return route.ports ?? DEFAULT_PORTS
}
