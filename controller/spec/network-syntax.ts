import { isIP } from 'node:net'

/** `10.0.0.0/8`, `100.78.141.42/32`, `fd00::/8`, or a bare address (a host route). */
export function parseCidr(text: string): { address: string; prefix: number; family: 4 | 6 } | undefined {
  const [address, prefixText, extra] = text.split('/')
  if (extra !== undefined || !address) return undefined
  const family = isIP(address)
  if (family !== 4 && family !== 6) return undefined
  const max = family === 4 ? 32 : 128
  if (prefixText === undefined) return { address, prefix: max, family }
  if (!/^\d{1,3}$/.test(prefixText)) return undefined
  const prefix = Number(prefixText)
  return prefix <= max ? { address, prefix, family } : undefined
}

export type GitUpstream =
  | { protocol: 'ssh'; user: string; host: string; port: number; path: string }
  | { protocol: 'https'; host: string; port: number; path: string }

/** Parses a git remote URL; returns a one-line reason when it is not one bottle can gate. */
export function parseGitUpstream(text: string): GitUpstream | { error: string } {
  let url: URL
  try {
    url = new URL(text)
  } catch {
    return { error: 'must be ssh://user@host[:port]/path or https://host/path' }
  }
  const path = decodeURIComponent(url.pathname).replace(/^\/+/, '')
  if (url.protocol === 'ssh:') {
    if (!url.username) return { error: 'needs a user, e.g. ssh://git@host/path.git' }
    if (url.password) return { error: 'must not carry a password; the gate authenticates with identityFile' }
    if (!url.hostname) return { error: 'needs a host' }
    if (!path) return { error: 'needs a repository path, e.g. ssh://git@host/owner/repo.git' }
    return { protocol: 'ssh', user: decodeURIComponent(url.username), host: url.hostname, port: url.port ? Number(url.port) : 22, path }
  }
  if (url.protocol === 'https:') {
    if (url.username || url.password) return { error: 'must not carry credentials; use tokenRef' }
    if (!path) return { error: 'needs a repository path, e.g. https://host/owner/repo.git' }
    if (url.search || url.hash) return { error: 'must not have a query or fragment' }
    return { protocol: 'https', host: url.hostname, port: url.port ? Number(url.port) : 443, path }
  }
  return { error: `uses ${url.protocol.replace(/:$/, '')}://; only ssh:// and https:// remotes are supported` }
}

const HOST_KEY = /^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)|sk-ssh-ed25519@openssh\.com|sk-ecdsa-sha2-nistp256@openssh\.com) [A-Za-z0-9+/]{16,}={0,3}( \S.*)?$/

export function isHostKey(text: string): boolean {
  return HOST_KEY.test(text.trim())
}

/** Lowercased, without a trailing dot: how hosts are compared. */
export function canonicalHost(host: string): string {
  return host.toLowerCase().replace(/\.$/, '')
}
