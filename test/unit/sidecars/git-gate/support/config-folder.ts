/**
 * A gate config folder in a temp directory: config.json, secrets.json,
 * keys/ and known_hosts, with modes as the controller writes them.
 */
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'

export const SSH_REMOTE = { name: 'app', upstream: 'ssh://git@git.example.com:2222/me/app.git', protocol: 'ssh', identityFile: 'keys/app', knownHosts: 'known_hosts' }
export const HTTPS_REMOTE = { name: 'lib', upstream: 'https://forge.example.com/me/lib.git', protocol: 'https', tokenSlot: 'env.FORGE_TOKEN' }
export const HOST_KEY_LINE = '[git.example.com]:2222 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl'

export interface ConfigFolder {
  dir: string
  write(path: string, content: string, mode?: number): Promise<void>
  dispose(): Promise<void>
}

export async function configFolder(options: { remotes?: unknown[]; secrets?: Record<string, string>; extra?: Record<string, unknown> } = {}): Promise<ConfigFolder> {
  const dir = await mkdtemp(join(tmpdir(), 'bottle-git-gate-config-'))
  const write = async (path: string, content: string, mode = 0o600) => {
    const abs = join(dir, path)
    await mkdir(dirname(abs), { recursive: true })
    await writeFile(abs, content)
    await chmod(abs, mode)
  }
  await write('config.json', JSON.stringify({ version: 1, remotes: options.remotes ?? [SSH_REMOTE, HTTPS_REMOTE], ...options.extra }))
  await write('secrets.json', JSON.stringify(options.secrets ?? { 'env.FORGE_TOKEN': 'forge-token-value-123' }))
  await write('keys/app', '-----BEGIN OPENSSH PRIVATE KEY-----\nnot a real key\n-----END OPENSSH PRIVATE KEY-----\n')
  await write('known_hosts', `${HOST_KEY_LINE}\n`, 0o644)
  return { dir, write, dispose: () => rm(dir, { recursive: true, force: true }) }
}
