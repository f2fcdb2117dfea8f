/**
 * The git gate's config folder for one Bottle's remotes, and the lines the
 * agent's ~/.gitconfig needs to reach the gate instead of the upstreams.
 * Pure: the controller reads the identity files and the secret values and
 * writes the files; this decides what they hold.
 *
 *   config.json   `config` (GitGateConfigInput, owned by sidecars/git-gate/config.ts)
 *   known_hosts   `knownHosts`: each ssh upstream's pinned key, `[host]:port key` off port 22
 *   keys/<name>   each ssh remote's identity file, copied 0600 (`identityFiles`)
 *   secrets.json  the https tokens (`secrets`, by slot), 0600
 */
import { GIT_GATE_HOST, GIT_GATE_PORT, type GitGateConfigInput, type GitGateRemoteInput } from '../../sidecars/git-gate/config.js'
import { parseUpstream, type Upstream } from '../../sidecars/git-gate/upstream-url.js'
import type { GitRemote } from '../spec/generated/spec-types.js'
import { slotFor, type SecretRequirement } from './secret-slots.js'

/** A file the controller copies into the gate's config folder. */
export interface GitGateFileCopy {
  remote: string
  /** The user's file, `~/` expanded against `homeDir`. Read by the controller only. */
  source: string
  /** Relative to the gate's config folder. */
  target: string
  mode: 0o600
}

export interface RenderedGitGate {
  config: GitGateConfigInput
  /** known_hosts content ('' when no remote uses ssh). */
  knownHosts: string
  identityFiles: GitGateFileCopy[]
  /** Secrets the gate needs in its secrets.json (https tokens), by slot. */
  secrets: SecretRequirement[]
}

export interface RenderGitGateOptions {
  /** What `~/` in an identityFile means (the controller user's home). */
  homeDir: string
}

export const GIT_GATE_URL = `http://${GIT_GATE_HOST}:${GIT_GATE_PORT}`
export const KNOWN_HOSTS_FILE = 'known_hosts'

export class GitGateRenderError extends Error {
  override readonly name = 'GitGateRenderError'
}

/** The repository URL of a remote on the gate, as the agent uses it. */
export function gateRepositoryUrl(name: string): string {
  return `${GIT_GATE_URL}/${name}.git`
}

function upstreamOf(remote: GitRemote): Upstream {
  const upstream = parseUpstream(remote.upstream)
  // The spec loader has validated the URL; a failure here is a bug upstream of the plan.
  if (typeof upstream === 'string') throw new GitGateRenderError(`remote ${remote.name}: upstream ${upstream}`)
  return upstream
}

function expandHome(path: string, homeDir: string): string {
  if (path === '~') return homeDir
  if (path.startsWith('~/')) return `${homeDir.replace(/\/+$/, '')}/${path.slice(2)}`
  return path
}

/** `ssh-ed25519 AAAA... comment` -> `ssh-ed25519 AAAA...` (the comment is the user's, not the key's). */
function keyOnly(knownHostKey: string): string {
  const [type, key] = knownHostKey.trim().split(/\s+/)
  if (!type || !key) throw new GitGateRenderError(`knownHostKey must be "<type> <base64 key>"`)
  return `${type} ${key}`
}

export function renderGitGateConfig(remotes: readonly GitRemote[], options: RenderGitGateOptions): RenderedGitGate {
  const secrets: SecretRequirement[] = []
  const identityFiles: GitGateFileCopy[] = []
  const knownHostLines: string[] = []
  const configRemotes: GitGateRemoteInput[] = []

  for (const remote of remotes) {
    const upstream = upstreamOf(remote)
    const entry: GitGateRemoteInput = { name: remote.name, upstream: remote.upstream, protocol: upstream.protocol, allowStale: remote.allowStale ?? false }
    if (upstream.protocol === 'ssh') {
      if (!remote.identityFile) throw new GitGateRenderError(`remote ${remote.name}: an ssh upstream needs identityFile`)
      if (!remote.knownHostKey) throw new GitGateRenderError(`remote ${remote.name}: an ssh upstream needs knownHostKey`)
      const target = `keys/${remote.name}`
      identityFiles.push({ remote: remote.name, source: expandHome(remote.identityFile, options.homeDir), target, mode: 0o600 })
      entry.identityFile = target
      entry.knownHosts = KNOWN_HOSTS_FILE
      const line = `${upstream.knownHostsName} ${keyOnly(remote.knownHostKey)}`
      if (!knownHostLines.includes(line)) knownHostLines.push(line)
    } else if (remote.tokenRef) {
      const slot = slotFor(remote.tokenRef)
      if (!secrets.some((s) => s.slot === slot)) secrets.push({ slot, ref: remote.tokenRef, purpose: `git remote ${remote.name}` })
      entry.tokenSlot = slot
    }
    configRemotes.push(entry)
  }

  return {
    config: { version: 1, remotes: configRemotes, scan: { action: 'block' } },
    knownHosts: knownHostLines.length > 0 ? `${knownHostLines.join('\n')}\n` : '',
    identityFiles,
    secrets,
  }
}

/** The spellings of an upstream an agent may use for the same repository (git rewrites by longest prefix). */
export function upstreamSpellings(remote: GitRemote): string[] {
  const upstream = upstreamOf(remote)
  const url = new URL(remote.upstream)
  const path = decodeURIComponent(url.pathname).replace(/^\/+/, '')
  const bases = new Set<string>([remote.upstream])
  if (upstream.protocol === 'ssh') {
    const hostPart = upstream.host.includes(':') ? `[${upstream.host}]` : upstream.host
    bases.add(`ssh://${upstream.user}@${hostPart}:${upstream.port}/${path}`)
    if (upstream.port === 22) {
      bases.add(`ssh://${upstream.user}@${hostPart}/${path}`)
      bases.add(`${upstream.user}@${hostPart}:${path}`)
    }
  } else {
    const hostPart = upstream.host.includes(':') ? `[${upstream.host}]` : upstream.host
    bases.add(`https://${upstream.credentialHost}/${path}`)
    bases.add(`https://${hostPart}:${upstream.port}/${path}`)
  }
  // With and without ".git", so neither spelling is rewritten into "<name>.git.git".
  const all = new Set<string>()
  for (const base of bases) {
    const bare = base.replace(/\.git\/?$/, '').replace(/\/+$/, '')
    all.add(bare)
    all.add(`${bare}.git`)
  }
  return [...all].sort()
}

/** A git config value, quoted so that any character is safe in it. */
function gitValue(value: string): string {
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`
}

/**
 * Lines for the agent's ~/.gitconfig: every spelling of each upstream is
 * rewritten to the gate, so clone, fetch, pull and push of a declared remote
 * all go through it. The integrator appends this to renderGitconfig's text.
 */
export function renderGitGateInsteadOf(remotes: readonly GitRemote[]): string {
  const lines: string[] = []
  for (const remote of remotes) {
    lines.push(`[url ${gitValue(gateRepositoryUrl(remote.name))}]`)
    for (const spelling of upstreamSpellings(remote)) lines.push(`\tinsteadOf = ${gitValue(spelling)}`)
  }
  return lines.length > 0 ? `${lines.join('\n')}\n` : ''
}
