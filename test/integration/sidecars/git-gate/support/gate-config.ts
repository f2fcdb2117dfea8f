/**
 * Writes a gate config folder the way the controller does: from the Bottle's
 * remotes through renderGitGateConfig, copying identity files 0600 into
 * keys/, known_hosts, and secrets.json (0600) from the values given by slot.
 */
import { execFileSync } from 'node:child_process'
import { chmodSync, copyFileSync, mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { renderGitGateConfig, renderGitGateInsteadOf, type RenderedGitGate } from '../../../../../controller/plan/render-git-gate-config.js'
import type { GitRemote } from '../../../../../controller/spec/generated/spec-types.js'

export function writeGateConfig(
  configDir: string,
  remotes: GitRemote[],
  options: { homeDir: string; secrets?: Record<string, string>; owner?: string; patch?: (config: RenderedGitGate['config']) => void },
): { rendered: RenderedGitGate; agentGitconfig: string } {
  const rendered = renderGitGateConfig(remotes, { homeDir: options.homeDir })
  options.patch?.(rendered.config)
  mkdirSync(configDir, { recursive: true })
  writeFileSync(join(configDir, 'config.json'), `${JSON.stringify(rendered.config, null, 2)}\n`, { mode: 0o600 })
  if (rendered.knownHosts !== '') writeFileSync(join(configDir, 'known_hosts'), rendered.knownHosts, { mode: 0o644 })
  for (const copy of rendered.identityFiles) {
    const target = join(configDir, copy.target)
    mkdirSync(dirname(target), { recursive: true })
    copyFileSync(copy.source, target)
    chmodSync(target, copy.mode)
  }
  const values: Record<string, string> = {}
  for (const requirement of rendered.secrets) {
    const value = options.secrets?.[requirement.slot]
    if (value !== undefined) values[requirement.slot] = value
  }
  writeFileSync(join(configDir, 'secrets.json'), `${JSON.stringify(values)}\n`, { mode: 0o600 })
  if (options.owner) execFileSync('chown', ['-R', options.owner, configDir])
  return { rendered, agentGitconfig: renderGitGateInsteadOf(remotes) }
}

/** A fresh ed25519 key pair made by ssh-keygen; returns the private key path and the public key line. */
export function generateIdentity(dir: string, name = 'id_ed25519'): { privateKey: string; publicKey: string } {
  mkdirSync(dir, { recursive: true })
  const path = join(dir, name)
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'bottle-git-gate-test', '-f', path])
  return { privateKey: path, publicKey: execFileSync('cat', [`${path}.pub`]).toString('utf8').trim() }
}
