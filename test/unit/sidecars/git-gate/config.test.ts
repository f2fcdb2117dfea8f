import { describe, expect, it } from 'vitest'
import { DEFAULT_LIMITS, DEFAULT_SCAN, parseGitGateConfig, validateGitGateConfig } from '../../../../sidecars/git-gate/config.js'
import { parseSecretsFile } from '../../../../sidecars/shared/secrets-file.js'

const ssh = { name: 'app', upstream: 'ssh://git@git.example.com/me/app.git', protocol: 'ssh', identityFile: 'keys/app', knownHosts: 'known_hosts' }
const https = { name: 'lib', upstream: 'https://github.com/me/lib.git', protocol: 'https', tokenSlot: 'env.GH_TOKEN' }

describe('validateGitGateConfig', () => {
  it('fills defaults for what the controller writes', () => {
    const got = validateGitGateConfig({ version: 1, remotes: [ssh], scan: { action: 'block' } })
    expect(got).toEqual({
      ok: true,
      value: {
        version: 1,
        remotes: [{ ...ssh, tokenUsername: 'x-access-token', allowStale: false }],
        scan: { ...DEFAULT_SCAN },
        limits: { ...DEFAULT_LIMITS },
      },
    })
  })

  const valid = [
    { name: 'ssh and https remotes', input: { version: 1, remotes: [ssh, https] } },
    { name: 'anonymous https', input: { version: 1, remotes: [{ name: 'pub', upstream: 'https://example.com/pub.git', protocol: 'https' }] } },
    { name: 'no remotes', input: { version: 1, remotes: [] } },
    { name: 'allowStale and caps', input: { version: 1, remotes: [{ ...ssh, allowStale: true }], scan: { maxFileBytes: 4096, oversized: 'allow' }, limits: { maxRequestBytes: 1048576 } } },
    { name: 'a dotted name and key file', input: { version: 1, remotes: [{ ...ssh, name: '.hidden', identityFile: 'keys/.hidden' }] } },
    { name: 'ssh on another port', input: { version: 1, remotes: [{ ...ssh, upstream: 'ssh://git@10.0.0.5:2222/srv/app.git' }] } },
  ]
  it.each(valid)('accepts $name', ({ input }) => {
    const got = validateGitGateConfig(input)
    expect(got.ok ? 'ok' : got.errors.join(' | ')).toBe('ok')
  })

  const invalid: Array<{ name: string; input: unknown; want: string }> = [
    { name: 'no version', input: { remotes: [] }, want: 'version: expected 1' },
    { name: 'an unknown key', input: { version: 1, remotes: [], scans: {} }, want: 'config: unknown key "scans"' },
    { name: 'an unknown remote key', input: { version: 1, remotes: [{ ...ssh, token: 'x' }] }, want: 'remotes[0]: unknown key "token"' },
    { name: 'a name with a slash', input: { version: 1, remotes: [{ ...ssh, name: 'a/b' }] }, want: 'remotes[0].name: must be 1-100 of A-Z a-z 0-9 . _ -' },
    { name: 'duplicate names', input: { version: 1, remotes: [ssh, { ...ssh }] }, want: 'remotes[1].name: duplicate name (also remotes[0]); each remote is its own repository' },
    { name: 'a file:// upstream', input: { version: 1, remotes: [{ ...ssh, upstream: 'file:///srv/app.git' }] }, want: 'remotes[0].upstream: uses file://; only ssh:// and https:// upstreams are supported' },
    { name: 'an option-looking upstream', input: { version: 1, remotes: [{ ...ssh, upstream: '--upload-pack=touch /x' }] }, want: 'remotes[0].upstream: must not contain whitespace or control characters' },
    { name: 'credentials in an https URL', input: { version: 1, remotes: [{ ...https, upstream: 'https://me:pw@github.com/me/lib.git' }] }, want: 'remotes[0].upstream: must not carry a password' },
    { name: 'protocol not matching the URL', input: { version: 1, remotes: [{ ...https, protocol: 'ssh' }] }, want: 'remotes[0].protocol: is ssh but upstream is an https:// URL' },
    { name: 'ssh without an identity', input: { version: 1, remotes: [{ ...ssh, identityFile: undefined }] }, want: 'remotes[0]: an ssh remote needs identityFile' },
    { name: 'ssh without a pinned host key', input: { version: 1, remotes: [{ ...ssh, knownHosts: undefined }] }, want: 'remotes[0]: an ssh remote needs knownHosts (the host key is pinned, never learned on first use)' },
    { name: 'a token on ssh', input: { version: 1, remotes: [{ ...ssh, tokenSlot: 'x' }] }, want: 'remotes[0].tokenSlot: is for https remotes' },
    { name: 'a key on https', input: { version: 1, remotes: [{ ...https, identityFile: 'keys/x' }] }, want: 'remotes[0].identityFile: is for ssh remotes' },
    { name: 'a key file outside the folder', input: { version: 1, remotes: [{ ...ssh, identityFile: '../id_rsa' }] }, want: 'remotes[0].identityFile: must be a relative path inside the config folder, e.g. keys/app' },
    { name: 'an absolute key file', input: { version: 1, remotes: [{ ...ssh, identityFile: '/home/me/.ssh/id_rsa' }] }, want: 'remotes[0].identityFile: must be a relative path inside the config folder, e.g. keys/app' },
    { name: 'a warn action', input: { version: 1, remotes: [], scan: { action: 'warn' } }, want: 'scan.action: expected "block"' },
  ]
  it.each(invalid)('refuses $name', ({ input, want }) => {
    const got = validateGitGateConfig(input)
    expect(got.ok ? [] : got.errors).toContain(want)
  })
})

describe('parseGitGateConfig', () => {
  it('says the JSON is invalid in one line', () => {
    const got = parseGitGateConfig('{"version": 1,')
    expect(got.ok).toBe(false)
    expect(!got.ok && got.errors[0]).toMatch(/^config\.json: invalid JSON: [^\n]+$/)
  })
})

describe('parseSecretsFile', () => {
  it('reads slots', () => {
    expect(parseSecretsFile('{"env.GH_TOKEN":"ghp_value"}')).toEqual({ ok: true, value: new Map([['env.GH_TOKEN', 'ghp_value']]) })
  })
  const invalid = [
    { name: 'invalid JSON never quotes the text', text: '{"a": "secret-value', want: 'secrets.json: invalid JSON' },
    { name: 'an array', text: '[]', want: 'secrets.json: must be an object of slot to value' },
    { name: 'an empty value', text: '{"a":""}', want: 'secrets.json: slot a must be a non-empty string' },
    { name: 'a line break', text: '{"a":"x\\ny"}', want: 'secrets.json: slot a contains a line break or NUL' },
    { name: 'a bad slot name', text: '{"a b":"x"}', want: 'secrets.json: slot name "a b" is not an identifier' },
  ]
  it.each(invalid)('refuses $name', ({ text, want }) => {
    const got = parseSecretsFile(text)
    expect(got.ok ? [] : got.errors).toEqual([want])
    expect(JSON.stringify(got)).not.toContain('secret-value')
  })
})
