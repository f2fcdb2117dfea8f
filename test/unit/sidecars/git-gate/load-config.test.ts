import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { loadGateFolder, pinsHost } from '../../../../sidecars/git-gate/load-config.js'
import { configFolder, HOST_KEY_LINE, HTTPS_REMOTE, SSH_REMOTE, type ConfigFolder } from './support/config-folder.js'

let folder: ConfigFolder | undefined

afterEach(async () => {
  await folder?.dispose()
  folder = undefined
})

describe('loadGateFolder', () => {
  it('resolves each remote with absolute paths and its parsed upstream', async () => {
    folder = await configFolder()
    const got = await loadGateFolder(folder.dir)
    expect(got.ok).toBe(true)
    if (!got.ok) return
    const app = got.loaded.remotes.get('app')
    expect(app?.identityPath).toBe(join(folder.dir, 'keys/app'))
    expect(app?.knownHostsPath).toBe(join(folder.dir, 'known_hosts'))
    expect(app?.upstream).toMatchObject({ protocol: 'ssh', host: 'git.example.com', port: 2222 })
    expect(got.loaded.secrets.get('env.FORGE_TOKEN')).toBe('forge-token-value-123')
    expect(got.loaded.configHash).toMatch(/^sha256:[0-9a-f]{64}$/)
  })

  const broken: Array<{ name: string; change: (f: ConfigFolder) => Promise<void>; want: string }> = [
    { name: 'a missing config.json', change: async (f) => f.write('config.json', '', 0o600).then(() => import('node:fs/promises').then((fs) => fs.rm(join(f.dir, 'config.json')))), want: 'config.json: missing in' },
    { name: 'a key readable by others', change: (f) => f.write('keys/app', 'key', 0o644), want: 'remotes[0].identityFile: keys/app must be mode 0600 (is 0644)' },
    { name: 'a missing key', change: (f) => import('node:fs/promises').then((fs) => fs.rm(join(f.dir, 'keys/app'))), want: 'remotes[0].identityFile: keys/app is missing' },
    { name: 'a known_hosts without the host', change: (f) => f.write('known_hosts', 'other.example.com ssh-ed25519 AAAA\n', 0o644), want: 'remotes[0].knownHosts: known_hosts has no key for [git.example.com]:2222' },
    { name: 'a token slot missing from secrets.json', change: (f) => f.write('secrets.json', '{}'), want: 'remotes[1].tokenSlot: env.FORGE_TOKEN is not in secrets.json' },
    { name: 'an invalid config', change: (f) => f.write('config.json', JSON.stringify({ version: 1, remotes: [{ ...SSH_REMOTE, protocol: 'git' }] })), want: 'remotes[0].protocol:' },
  ]
  it.each(broken)('refuses $name in one line', async ({ change, want }) => {
    folder = await configFolder()
    await change(folder)
    const got = await loadGateFolder(folder.dir)
    expect(got.ok).toBe(false)
    if (got.ok) return
    expect(got.error).toContain(want)
    expect(got.error).not.toContain('\n')
    expect(got.error).not.toContain('forge-token-value-123')
  })

  it('changes its fingerprint when a key or a secret changes, not its config hash', async () => {
    folder = await configFolder({ remotes: [SSH_REMOTE, HTTPS_REMOTE] })
    const first = await loadGateFolder(folder.dir)
    await folder.write('secrets.json', JSON.stringify({ 'env.FORGE_TOKEN': 'rotated' }))
    const second = await loadGateFolder(folder.dir)
    await folder.write('keys/app', 'another key')
    const third = await loadGateFolder(folder.dir)
    if (!first.ok || !second.ok || !third.ok) throw new Error('load failed')
    expect(new Set([first.loaded.fingerprint, second.loaded.fingerprint, third.loaded.fingerprint]).size).toBe(3)
    expect(second.loaded.configHash).toBe(first.loaded.configHash)
  })
})

describe('pinsHost', () => {
  const cases = [
    { name: 'the bracketed host and port', text: HOST_KEY_LINE, host: '[git.example.com]:2222', want: true },
    { name: 'a list of names', text: 'a.example.com,[git.example.com]:2222 ssh-ed25519 AAAA', host: '[git.example.com]:2222', want: true },
    { name: 'the bare host when the port differs', text: 'git.example.com ssh-ed25519 AAAA', host: '[git.example.com]:2222', want: false },
    { name: 'a comment only', text: '# [git.example.com]:2222 ssh-ed25519 AAAA', host: '[git.example.com]:2222', want: false },
    { name: 'a revoked key', text: '@revoked [git.example.com]:2222 ssh-ed25519 AAAA', host: '[git.example.com]:2222', want: false },
    { name: 'a hashed entry (ssh decides)', text: '|1|abc=|def= ssh-ed25519 AAAA', host: 'x', want: true },
  ]
  it.each(cases)('$name: $want', ({ text, host, want }) => {
    expect(pinsHost(text, host)).toBe(want)
  })
})
