import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { gateRepositoryUrl, GitGateRenderError, renderGitGateConfig, renderGitGateInsteadOf } from '../../../../controller/plan/render-git-gate-config.js'
import type { GitRemote } from '../../../../controller/spec/generated/spec-types.js'
import { runGitOk, gitRunner } from '../../../../sidecars/git-gate/run-git.js'
import { validateGitGateConfig } from '../../../../sidecars/git-gate/config.js'

const HOST_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl'
const ssh22: GitRemote = { name: 'app', upstream: 'ssh://git@github.com/me/app.git', identityFile: '~/.ssh/id_ed25519', knownHostKey: `${HOST_KEY} me@laptop` }
const ssh2222: GitRemote = { name: 'infra', upstream: 'ssh://deploy@git.example.com:2222/srv/infra.git', identityFile: '/keys/infra', knownHostKey: HOST_KEY, allowStale: true }
const https: GitRemote = { name: 'lib', upstream: 'https://gitlab.example.com/me/lib', tokenRef: { env: 'GITLAB_TOKEN' } }
const anon: GitRemote = { name: 'pub', upstream: 'https://example.com/pub.git' }

describe('renderGitGateConfig', () => {
  it('renders a config the gate accepts, with key copies, pinned host keys and token slots', () => {
    const got = renderGitGateConfig([ssh22, ssh2222, https, anon], { homeDir: '/home/me' })
    expect(got.config).toEqual({
      version: 1,
      remotes: [
        { name: 'app', upstream: 'ssh://git@github.com/me/app.git', protocol: 'ssh', allowStale: false, identityFile: 'keys/app', knownHosts: 'known_hosts' },
        { name: 'infra', upstream: 'ssh://deploy@git.example.com:2222/srv/infra.git', protocol: 'ssh', allowStale: true, identityFile: 'keys/infra', knownHosts: 'known_hosts' },
        { name: 'lib', upstream: 'https://gitlab.example.com/me/lib', protocol: 'https', allowStale: false, tokenSlot: 'env.GITLAB_TOKEN' },
        { name: 'pub', upstream: 'https://example.com/pub.git', protocol: 'https', allowStale: false },
      ],
      scan: { action: 'block' },
    })
    expect(validateGitGateConfig(got.config).ok).toBe(true)
    expect(got.knownHosts).toBe(`github.com ${HOST_KEY}\n[git.example.com]:2222 ${HOST_KEY}\n`)
    expect(got.identityFiles).toEqual([
      { remote: 'app', source: '/home/me/.ssh/id_ed25519', target: 'keys/app', mode: 0o600 },
      { remote: 'infra', source: '/keys/infra', target: 'keys/infra', mode: 0o600 },
    ])
    expect(got.secrets).toEqual([{ slot: 'env.GITLAB_TOKEN', ref: { env: 'GITLAB_TOKEN' }, purpose: 'git remote lib' }])
  })

  it('is empty for no remotes', () => {
    expect(renderGitGateConfig([], { homeDir: '/h' })).toEqual({ config: { version: 1, remotes: [], scan: { action: 'block' } }, knownHosts: '', identityFiles: [], secrets: [] })
  })

  it('one known_hosts line per distinct pin', () => {
    const got = renderGitGateConfig([ssh22, { ...ssh22, name: 'app2', upstream: 'ssh://git@github.com/me/app2.git' }], { homeDir: '/h' })
    expect(got.knownHosts).toBe(`github.com ${HOST_KEY}\n`)
  })

  const invalid: Array<{ name: string; remote: GitRemote; want: RegExp }> = [
    { name: 'ssh without identity', remote: { ...ssh22, identityFile: undefined }, want: /needs identityFile/ },
    { name: 'ssh without host key', remote: { ...ssh22, knownHostKey: undefined }, want: /needs knownHostKey/ },
    { name: 'a bad upstream', remote: { ...ssh22, upstream: 'git://x/y' }, want: /only ssh:\/\/ and https:\/\// },
  ]
  it.each(invalid)('throws for $name', ({ remote, want }) => {
    expect(() => renderGitGateConfig([remote], { homeDir: '/h' })).toThrow(GitGateRenderError)
    expect(() => renderGitGateConfig([remote], { homeDir: '/h' })).toThrow(want)
  })
})

describe('renderGitGateInsteadOf, as git reads it', () => {
  let dir: string
  let resolveUrl: (url: string) => Promise<string>

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bottle-insteadof-'))
    await writeFile(join(dir, 'gitconfig'), renderGitGateInsteadOf([ssh22, ssh2222, https]))
    const git = gitRunner(dir, { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir, GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: join(dir, 'gitconfig') })
    resolveUrl = async (url) => (await runGitOk(git, ['ls-remote', '--get-url', url])).toString('utf8').trim()
  })
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  const cases = [
    { url: 'ssh://git@github.com/me/app.git', want: gateRepositoryUrl('app') },
    { url: 'ssh://git@github.com/me/app', want: gateRepositoryUrl('app') },
    { url: 'ssh://git@github.com:22/me/app.git', want: gateRepositoryUrl('app') },
    { url: 'git@github.com:me/app.git', want: gateRepositoryUrl('app') },
    { url: 'git@github.com:me/app', want: gateRepositoryUrl('app') },
    { url: 'ssh://deploy@git.example.com:2222/srv/infra.git', want: 'http://git-gate:9420/infra.git' },
    { url: 'https://gitlab.example.com/me/lib', want: 'http://git-gate:9420/lib.git' },
    { url: 'https://gitlab.example.com/me/lib.git', want: 'http://git-gate:9420/lib.git' },
    { url: 'https://gitlab.example.com:443/me/lib.git', want: 'http://git-gate:9420/lib.git' },
    // git rewrites by prefix: an undeclared sibling lands on the gate, which refuses it (no such repository).
    { url: 'https://gitlab.example.com/me/lib-other', want: 'http://git-gate:9420/lib.git-other' },
    { url: 'ssh://git@github.com/me/other.git', want: 'ssh://git@github.com/me/other.git' },
  ]
  it.each(cases)('$url -> $want', async ({ url, want }) => {
    expect(await resolveUrl(url)).toBe(want)
  })
})
