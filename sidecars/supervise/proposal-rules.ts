/**
 * What an agent may ask for, as pure rules shared by the supervise daemon
 * (which refuses early, so the agent learns at once) and the controller's
 * intake (which decides, and never trusts the daemon's check).
 *
 * A proposal names a host and optional path prefixes, nothing else: it can
 * never carry a token, a private-address allowance, an upstream or a
 * passthrough. Those stay with the human who edits the Bottle.
 *
 * Hosts must be DNS names with at least two labels. Refused: `*` and bare
 * top-level domains, IP literals in any spelling, names under TLDs that mean
 * private infrastructure (`localhost`, `local`, `internal`, `arpa`), and
 * wildcards over a public suffix (`*.com`, `*.co.uk`, `*.github.io`): a
 * wildcard must sit under a name someone registered.
 */
import { isIP } from 'node:net'
import { findCredentials } from '../dlp/credential-patterns.js'
import { canonicalPath, isCanonicalPath } from '../egress/canonical-path.js'

/** The route an agent asks for. */
export interface ProposedRoute {
  host: string
  paths?: string[]
}

export const MAX_HOST_LENGTH = 253
export const MAX_PATHS = 20
export const MAX_PATH_LENGTH = 512
export const MAX_REASON_LENGTH = 2000

/** The Proposal CRD's host pattern (crds/proposal.yaml): labels, at least one dot, a letter-led last label. */
const HOST_PATTERN = /^(\*\.)?([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/

const PRIVATE_TLDS = new Set(['localhost', 'local', 'internal', 'arpa', 'lan', 'home'])

/**
 * Multi-label public suffixes common enough to be proposed by mistake. Not
 * the whole Public Suffix List: together with the ccTLD second-level rule in
 * `isPublicSuffix` it catches the suffixes an agent is likely to name.
 */
const KNOWN_PUBLIC_SUFFIXES = new Set([
  'github.io', 'githubusercontent.com', 'gitlab.io', 'pages.dev', 'workers.dev', 'netlify.app', 'vercel.app',
  'herokuapp.com', 'appspot.com', 'web.app', 'firebaseapp.com', 'blogspot.com', 'cloudfront.net', 'amazonaws.com',
  'azurewebsites.net', 'azureedge.net', 'cloudapp.net', 'trafficmanager.net', 'fly.dev', 'onrender.com', 'ngrok.io',
  'ngrok-free.app', 'glitch.me', 'repl.co', 'readthedocs.io', 'surge.sh', 'now.sh', 'r2.dev', 'deno.dev',
])

/** Second-level labels that ccTLDs use as public registries: co.uk, com.au, ac.jp... */
const CCTLD_REGISTRY_LABELS = new Set(['co', 'com', 'net', 'org', 'gov', 'ac', 'edu', 'or', 'ne', 'go', 'gob', 'mil', 'ltd', 'plc', 'nom'])

/** Lowercased, without one trailing dot: how hosts are compared everywhere in bottle. */
export function canonicalProposalHost(host: string): string {
  return host.toLowerCase().replace(/\.$/, '')
}

/** Whether `name` (lowercase, no wildcard) is a suffix under which anyone can register names. */
export function isPublicSuffix(name: string): boolean {
  const labels = name.split('.')
  if (labels.length <= 1) return true
  if (KNOWN_PUBLIC_SUFFIXES.has(name)) return true
  return labels.length === 2 && /^[a-z]{2}$/.test(labels[1]!) && CCTLD_REGISTRY_LABELS.has(labels[0]!)
}

/** One line saying why `host` cannot be proposed, or undefined when it can. */
export function hostProblem(host: unknown): string | undefined {
  if (typeof host !== 'string' || host === '') return 'host must be a non-empty string'
  if (host.length > MAX_HOST_LENGTH) return `host is longer than ${MAX_HOST_LENGTH} characters`
  if (looksLikeIpLiteral(host)) return `${JSON.stringify(host)} is an IP literal; propose a host name`
  if (/[:/?#@\s]/.test(host)) return `${JSON.stringify(host)} must be a bare host name (no scheme, port or path)`
  if (host === '*' || host === '*.') return '"*" would allow every host'
  const name = canonicalProposalHost(host)
  const wildcard = name.startsWith('*.')
  const base = wildcard ? name.slice(2) : name
  if (base.includes('*')) return `${JSON.stringify(host)}: "*" is only allowed as a leading "*." label`
  if (!base.includes('.')) return wildcard ? `${JSON.stringify(host)} is a wildcard over a top-level domain` : `${JSON.stringify(host)} is a bare top-level domain or a single-label name; propose a full host name`
  if (!HOST_PATTERN.test(name)) return `${JSON.stringify(host)} is not a DNS host name`
  const tld = base.slice(base.lastIndexOf('.') + 1)
  if (PRIVATE_TLDS.has(tld)) return `${JSON.stringify(host)} is under .${tld}, which names private infrastructure`
  if (wildcard && isPublicSuffix(base)) return `${JSON.stringify(host)} is a wildcard over the public suffix ${base}; propose the hosts you need`
  return undefined
}

/** IPv6, or what a URL parser reads as IPv4: the last label numeric (`10.1`, `2130706433`, `0x7f.1`). */
function looksLikeIpLiteral(host: string): boolean {
  if (isIP(host.replace(/^\[|\]$/g, '')) !== 0) return true
  const last = host.replace(/\.$/, '').split('.').pop() ?? ''
  return /^(0x[0-9a-f]*|[0-9]+)$/i.test(last)
}

/** One line saying why a path prefix is malformed, or undefined. Same form the egress proxy compares. */
export function pathProblem(path: unknown): string | undefined {
  if (typeof path !== 'string') return 'each path must be a string'
  if (!path.startsWith('/')) return `path ${JSON.stringify(path.slice(0, 64))} must start with "/"`
  if (path.length > MAX_PATH_LENGTH) return `path is longer than ${MAX_PATH_LENGTH} characters`
  if (/[\s\u0000-\u001f\u007f]/.test(path)) return `path ${JSON.stringify(path.slice(0, 64))} contains whitespace or a control character`
  if (/[?#]/.test(path)) return `path ${JSON.stringify(path.slice(0, 64))} must be a path without query or fragment`
  let normalized: string
  try {
    normalized = new URL(path, 'http://route.invalid').pathname
  } catch {
    return `path ${JSON.stringify(path.slice(0, 64))} is not a URL path`
  }
  if (normalized !== path) return `path ${JSON.stringify(path.slice(0, 64))} is not in normalized form (it would be compared as ${JSON.stringify(normalized.slice(0, 64))})`
  if (!isCanonicalPath(path)) return `path ${JSON.stringify(path.slice(0, 64))} is not canonical (it would be compared as ${JSON.stringify(canonicalPath(path).slice(0, 64))})`
  return undefined
}

/**
 * Every problem with a proposal's content, in order: host, paths, reason,
 * literal credentials. Empty means the content is acceptable on its own
 * (whether the bottle already allows it is `coveringRoute`'s question).
 */
export function proposalProblems(route: ProposedRoute, reason: unknown): string[] {
  const problems: string[] = []
  const host = hostProblem(route.host)
  if (host) problems.push(host)
  if (route.paths !== undefined) {
    if (!Array.isArray(route.paths)) problems.push('paths must be a list of path prefixes')
    else if (route.paths.length === 0) problems.push('paths is empty; leave it out to ask for every path of the host')
    else if (route.paths.length > MAX_PATHS) problems.push(`at most ${MAX_PATHS} paths per proposal`)
    else {
      const seen = new Set<string>()
      for (const path of route.paths) {
        const problem = pathProblem(path)
        if (problem) problems.push(problem)
        else if (seen.has(path)) problems.push(`path ${JSON.stringify(path)} is listed twice`)
        seen.add(path)
      }
    }
  }
  if (typeof reason !== 'string' || reason.trim() === '') problems.push('reason must say why the route is needed')
  else if (reason.length > MAX_REASON_LENGTH) problems.push(`reason is longer than ${MAX_REASON_LENGTH} characters`)
  const texts = [route.host, ...(Array.isArray(route.paths) ? route.paths : []), typeof reason === 'string' ? reason : '']
  for (const text of texts) {
    const match = typeof text === 'string' ? findCredentials(text)[0] : undefined
    if (match) {
      // Proposals are committed to the spec repository: a credential there is a leak.
      problems.push(`the proposal contains something shaped like a credential (rule ${match.rule}); never put secrets in a proposal`)
      break
    }
  }
  return problems
}

/**
 * The route of `routes` that already allows `host`, if any: the same host,
 * or a wildcard it is a strict subdomain of. Compared canonically.
 */
export function coveringRoute(host: string, routes: ReadonlyArray<{ host: string }>): string | undefined {
  const wanted = canonicalProposalHost(host)
  for (const route of routes) {
    const have = canonicalProposalHost(route.host)
    // `*.example.com` covers `api.example.com` and `*.api.example.com`, never `example.com`.
    if (have === wanted || (have.startsWith('*.') && wanted.endsWith(have.slice(1)))) return route.host
  }
  return undefined
}
