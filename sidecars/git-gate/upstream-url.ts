/**
 * The upstream URLs the gate can reach: `ssh://user@host[:port]/path` and
 * `https://host[:port]/path`. Parsed once when the config loads, so the
 * rest of the gate works with a host, a port and the name the upstream's
 * key is pinned under in known_hosts. No credentials are ever part of an
 * upstream URL: ssh authenticates with the identity file, https with a token
 * from secrets.json handed over by the credential helper.
 */

export type UpstreamProtocol = 'ssh' | 'https'

export interface Upstream {
  protocol: UpstreamProtocol
  /** The URL exactly as configured: what git is given. */
  url: string
  /** Lowercase host name or IP literal, without brackets. */
  host: string
  port: number
  /** ssh only: the login user. */
  user?: string
  /** How the host appears in known_hosts: `host` on port 22, `[host]:port` otherwise. */
  knownHostsName: string
  /** What git's credential protocol calls the host: `host` on the default port, `host:port` otherwise. */
  credentialHost: string
}

const DEFAULT_PORTS: Record<UpstreamProtocol, number> = { ssh: 22, https: 443 }
const HOST = /^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$|^[0-9.]+$|^[0-9a-f:]+$/
const USER = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,63}$/

/** Parse an upstream URL; a string result is the one-line reason it is refused. */
export function parseUpstream(text: string): Upstream | string {
  if (/[\s\0]/.test(text)) return 'must not contain whitespace or control characters'
  let url: URL
  try {
    url = new URL(text)
  } catch {
    return 'must be ssh://user@host[:port]/path or https://host[:port]/path'
  }
  const protocol = url.protocol === 'ssh:' ? 'ssh' : url.protocol === 'https:' ? 'https' : undefined
  if (protocol === undefined) return `uses ${url.protocol.replace(/:$/, '')}://; only ssh:// and https:// upstreams are supported`
  const host = url.hostname.toLowerCase().replace(/^\[|\]$/g, '')
  if (host === '' || !HOST.test(host)) return 'needs a host name or IP address'
  if (url.password !== '') return 'must not carry a password'
  if (url.search !== '' || url.hash !== '') return 'must not have a query or fragment'
  if (url.pathname === '' || url.pathname === '/') return 'needs a repository path'
  let user: string | undefined
  if (protocol === 'ssh') {
    user = decodeURIComponent(url.username)
    if (!USER.test(user)) return 'needs a login user, e.g. ssh://git@host/owner/repo.git'
  } else if (url.username !== '') {
    return 'must not carry a user name (the token comes from secrets.json)'
  }
  const port = url.port === '' ? DEFAULT_PORTS[protocol] : Number(url.port)
  const bracketed = host.includes(':') ? `[${host}]` : host
  const isDefault = port === DEFAULT_PORTS[protocol]
  return {
    protocol,
    url: text,
    host,
    port,
    ...(user !== undefined ? { user } : {}),
    knownHostsName: port === 22 ? host : `[${host}]:${port}`,
    credentialHost: isDefault ? bracketed : `${bracketed}:${port}`,
  }
}
