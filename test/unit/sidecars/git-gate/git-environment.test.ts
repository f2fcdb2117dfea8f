import { describe, expect, it } from 'vitest'
import { gatePaths, gitEnvironment, sshCommand, upstreamEnvironment } from '../../../../sidecars/git-gate/git-environment.js'
import type { GateRemote } from '../../../../sidecars/git-gate/load-config.js'
import { parseUpstream, type Upstream } from '../../../../sidecars/git-gate/upstream-url.js'

const paths = gatePaths('/etc/bottle/git-gate', '/var/lib/bottle/git-gate')

describe('gitEnvironment', () => {
  it('gives git its own home and config and nothing of the daemon but PATH and TLS trust', () => {
    const env = gitEnvironment(paths, {
      PATH: '/usr/bin:/bin',
      HOME: '/home/controller',
      SSH_AUTH_SOCK: '/tmp/agent.sock',
      GIT_DIR: '/elsewhere',
      GIT_SSH_COMMAND: 'ssh -i /home/controller/.ssh/id_rsa',
      GH_TOKEN: 'ghp_x',
      SSL_CERT_FILE: '/etc/ssl/corp.pem',
    })
    expect(env).toEqual({
      PATH: '/usr/bin:/bin',
      HOME: '/var/lib/bottle/git-gate/.home',
      XDG_CONFIG_HOME: '/var/lib/bottle/git-gate/.home/.config',
      GIT_CONFIG_GLOBAL: '/var/lib/bottle/git-gate/.home/gitconfig',
      GIT_CONFIG_NOSYSTEM: '1',
      GIT_TERMINAL_PROMPT: '0',
      LC_ALL: 'C',
      LANG: 'C',
      BOTTLE_GIT_GATE_CONFIG_DIR: '/etc/bottle/git-gate',
      BOTTLE_GIT_GATE_STATE_DIR: '/var/lib/bottle/git-gate',
      SSL_CERT_FILE: '/etc/ssl/corp.pem',
    })
  })

  it('works with HOME and PATH unset', () => {
    const env = gitEnvironment(paths, {})
    expect(env.HOME).toBe('/var/lib/bottle/git-gate/.home')
    expect(env.PATH).toContain('/usr/bin')
  })
})

describe('upstreamEnvironment', () => {
  const remote = (url: string, extra: Partial<GateRemote> = {}): GateRemote => ({
    name: 'app',
    config: { name: 'app', upstream: url, protocol: url.startsWith('ssh') ? 'ssh' : 'https', tokenUsername: 'x-access-token', allowStale: false },
    upstream: parseUpstream(url) as Upstream,
    ...extra,
  })

  it('ssh: the pinned command with paths only', () => {
    const env = upstreamEnvironment({}, remote('ssh://git@h/app.git', { identityPath: '/etc/bottle/git-gate/keys/app', knownHostsPath: '/etc/bottle/git-gate/known_hosts' }))
    expect(env.BOTTLE_GIT_GATE_REMOTE).toBe('app')
    expect(env.GIT_SSH_COMMAND).toContain('-i /etc/bottle/git-gate/keys/app')
    expect(env.GIT_SSH_COMMAND).toContain('-o UserKnownHostsFile=/etc/bottle/git-gate/known_hosts')
  })

  it('https: only the remote name, for the credential helper', () => {
    expect(upstreamEnvironment({ PATH: '/bin' }, remote('https://h/app.git'))).toEqual({ PATH: '/bin', BOTTLE_GIT_GATE_REMOTE: 'app' })
  })
})

describe('sshCommand', () => {
  it('pins the host key, uses only the given identity, never prompts and reads no ssh config', () => {
    const command = sshCommand('/etc/bottle/git-gate/keys/app', '/etc/bottle/git-gate/known_hosts')
    for (const option of ['-F /dev/null', '-o IdentitiesOnly=yes', '-o IdentityAgent=none', '-o BatchMode=yes', '-o StrictHostKeyChecking=yes', '-o GlobalKnownHostsFile=/dev/null', '-o UpdateHostKeys=no']) {
      expect(command).toContain(option)
    }
  })

  const unsafe = ['/etc/bottle/my keys/app', '/etc/$(id)/k', 'relative/k', '/etc/k;rm']
  it.each(unsafe)('refuses the path %j rather than quote it', (path) => {
    expect(() => sshCommand(path, '/etc/known_hosts')).toThrow(/unsafe in GIT_SSH_COMMAND/)
  })
})
