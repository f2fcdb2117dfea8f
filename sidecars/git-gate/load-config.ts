/**
 * Reading the config folder (see config.ts for its files). A load either
 * yields everything the gate needs, with each remote's files resolved to
 * absolute paths and checked, or one line saying what is wrong; the daemon
 * keeps the previous config on failure. Errors name files, fields and slots,
 * never secret values.
 */
import { createHash } from 'node:crypto'
import { readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { CONFIG_FILE, SECRETS_FILE } from '../shared/bundle-contract.js'
import { oneLine, readConfigAndSecrets, readOptional } from '../shared/read-config-folder.js'
import { parseGitGateConfig, type GitGateConfig, type GitGateRemoteConfig } from './config.js'
import { parseUpstream, type Upstream } from './upstream-url.js'

export { CONFIG_FILE, SECRETS_FILE }

export interface GateRemote {
  name: string
  config: GitGateRemoteConfig
  upstream: Upstream
  /** ssh: absolute paths of the identity file and the pinned known_hosts file. */
  identityPath?: string
  knownHostsPath?: string
}

export interface LoadedGateConfig {
  configDir: string
  config: GitGateConfig
  remotes: ReadonlyMap<string, GateRemote>
  /** Slot to value. Only the credential helper hands a value to anyone (git, over a pipe). */
  secrets: ReadonlyMap<string, string>
  /** `sha256:<hex>` of config.json's bytes: the controller computes the same over what it wrote. */
  configHash: string
  /** Covers config.json, secrets.json and each referenced file; only compared, never shown. */
  fingerprint: string
}

export type LoadResult = { ok: true; loaded: LoadedGateConfig } | { ok: false; error: string; configHash: string | null }

export async function loadGateFolder(configDir: string): Promise<LoadResult> {
  const read = await readConfigAndSecrets(configDir, parseGitGateConfig)
  if (!read.ok) return read
  const { configText, configHash, config, secretsText, secrets } = read.value
  const fail = (errors: string[]): LoadResult => ({ ok: false, error: oneLine(errors), configHash })

  const fingerprint = createHash('sha256').update(configText).update('\0').update(secretsText ?? '')
  const errors: string[] = []
  const remotes = new Map<string, GateRemote>()
  for (const [i, remote] of config.remotes.entries()) {
    const at = `remotes[${i}]`
    const upstream = parseUpstream(remote.upstream) as Upstream // validated by the schema
    const resolved: GateRemote = { name: remote.name, config: remote, upstream }
    if (remote.tokenSlot !== undefined && !secrets.has(remote.tokenSlot)) errors.push(`${at}.tokenSlot: ${remote.tokenSlot} is not in ${SECRETS_FILE}`)
    if (remote.identityFile !== undefined) {
      resolved.identityPath = join(configDir, remote.identityFile)
      const problem = await privateFileProblem(resolved.identityPath)
      if (problem) errors.push(`${at}.identityFile: ${remote.identityFile} ${problem}`)
      else fingerprint.update('\0').update(await readFile(resolved.identityPath))
    }
    if (remote.knownHosts !== undefined) {
      resolved.knownHostsPath = join(configDir, remote.knownHosts)
      const text = await readOptional(resolved.knownHostsPath)
      if (text === undefined) errors.push(`${at}.knownHosts: ${remote.knownHosts} is missing`)
      else if (!pinsHost(text, upstream.knownHostsName)) errors.push(`${at}.knownHosts: ${remote.knownHosts} has no key for ${upstream.knownHostsName}`)
      else fingerprint.update('\0').update(text)
    }
    remotes.set(remote.name, resolved)
  }
  if (errors.length > 0) return fail(errors)
  return { ok: true, loaded: { configDir, config, remotes, secrets, configHash, fingerprint: fingerprint.digest('hex') } }
}

/** ssh refuses a private key others can read; say so at load time rather than on the first fetch. */
async function privateFileProblem(path: string): Promise<string | undefined> {
  try {
    const info = await stat(path)
    if (!info.isFile()) return 'is not a file'
    if ((info.mode & 0o077) !== 0) return `must be mode 0600 (is ${(info.mode & 0o777).toString(8).padStart(4, '0')})`
    return undefined
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    return code === 'ENOENT' ? 'is missing' : `cannot be read (${code ?? 'error'})`
  }
}

/**
 * Whether a known_hosts text has a key line for `name` (`host` or `[host]:port`).
 * Hashed entries cannot be matched here; ssh checks them when it connects.
 */
export function pinsHost(text: string, name: string): boolean {
  for (const raw of text.split('\n')) {
    const line = raw.trim()
    if (line === '' || line.startsWith('#')) continue
    const fields = line.split(/\s+/)
    const hosts = (fields[0] === '@cert-authority' || fields[0] === '@revoked' ? fields[1] : fields[0]) ?? ''
    if (fields[0] === '@revoked') continue
    if (hosts.startsWith('|1|')) return true
    if (hosts.split(',').some((h) => h.toLowerCase() === name.toLowerCase())) return true
  }
  return false
}
