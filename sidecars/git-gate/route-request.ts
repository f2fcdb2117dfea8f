/**
 * Which git smart-HTTP request this is, from the method and the raw request
 * target, before anything else happens. Only three shapes exist:
 *
 *   GET  /<name>.git/info/refs?service=git-upload-pack|git-receive-pack
 *   POST /<name>.git/git-upload-pack
 *   POST /<name>.git/git-receive-pack
 *
 * The raw target is matched as is, never decoded or normalized: a name is
 * 1-100 of `A-Z a-z 0-9 . _ -`, so `%`, `/`, `\` and `..` segments cannot be
 * part of one and traversal has nothing to work with. Whether the name is a
 * configured remote is the server's question, not this one's.
 */
import { GateRejection } from './gate-rejection.js'

export type GitService = 'git-upload-pack' | 'git-receive-pack'

export type GateRequest =
  | { kind: 'advertise'; repo: string; service: GitService }
  | { kind: 'rpc'; repo: string; service: GitService }

const TARGET = /^\/([A-Za-z0-9._-]{1,100})\.git\/(info\/refs|git-upload-pack|git-receive-pack)(?:\?(.*))?$/
const SERVICES: readonly string[] = ['git-upload-pack', 'git-receive-pack']

/** The request, or a GateRejection saying why it is not one the gate serves. */
export function routeRequest(method: string | undefined, target: string | undefined): GateRequest | GateRejection {
  const raw = target ?? ''
  if (raw.length > 2048 || !raw.startsWith('/')) return new GateRejection('bad-path', 'not a repository path')
  const match = TARGET.exec(raw)
  if (!match) {
    if (/%|\\|\/\.\.?(?:\/|$)|\/\//.test(raw.split('?')[0] ?? '')) return new GateRejection('bad-path', 'not a repository path (encoded, dot or empty segments are refused)')
    if (/^\/[A-Za-z0-9._-]{1,100}\.git\/(HEAD|objects\/)/.test(raw)) return new GateRejection('dumb-http', 'the dumb HTTP protocol is not served; use a git that speaks smart HTTP')
    return new GateRejection('not-found', 'not a git repository path; repositories are at /<name>.git')
  }
  const repo = match[1] as string
  const endpoint = match[2] as string
  const query = match[3]
  if (repo === '.' || repo === '..') return new GateRejection('bad-path', 'not a repository path')
  if (endpoint === 'info/refs') {
    if (method !== 'GET' && method !== 'HEAD') return new GateRejection('method-not-allowed', `${method ?? '?'} is not allowed on info/refs`)
    const params = (query ?? '').split('&').filter(Boolean)
    const service = params.find((p) => p.startsWith('service='))?.slice('service='.length)
    if (service === undefined) return new GateRejection('dumb-http', 'the dumb HTTP protocol is not served; use a git that speaks smart HTTP')
    if (!SERVICES.includes(service)) return new GateRejection('bad-request', 'unknown service; expected git-upload-pack or git-receive-pack')
    return { kind: 'advertise', repo, service: service as GitService }
  }
  if (method !== 'POST') return new GateRejection('method-not-allowed', `${method ?? '?'} is not allowed on ${endpoint}`)
  if (query !== undefined && query !== '') return new GateRejection('bad-request', 'unexpected query string')
  return { kind: 'rpc', repo, service: endpoint as GitService }
}
