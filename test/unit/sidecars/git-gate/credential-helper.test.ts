import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { answerCredentialRequest, parseCredentialRequest } from '../../../../sidecars/git-gate/credential-helper.js'
import { configFolder, HTTPS_REMOTE, SSH_REMOTE, type ConfigFolder } from './support/config-folder.js'

let folder: ConfigFolder

beforeEach(async () => {
  folder = await configFolder({ remotes: [SSH_REMOTE, HTTPS_REMOTE, { name: 'bb', upstream: 'https://bitbucket.example.com:8443/x.git', protocol: 'https', tokenSlot: 'bb', tokenUsername: 'x-token-auth' }, { name: 'anon', upstream: 'https://forge.example.com/pub.git', protocol: 'https' }], secrets: { 'env.FORGE_TOKEN': 'forge-token-value-123', bb: 'bb-token-value-456' } })
})

afterEach(async () => {
  await folder.dispose()
})

const env = (remote: string | undefined) => ({ BOTTLE_GIT_GATE_CONFIG_DIR: folder.dir, ...(remote ? { BOTTLE_GIT_GATE_REMOTE: remote } : {}) })

describe('answerCredentialRequest', () => {
  const cases: Array<{ name: string; op: string; remote?: string; request: string; want: string }> = [
    { name: 'answers its own upstream host', op: 'get', remote: 'lib', request: 'protocol=https\nhost=forge.example.com\n\n', want: 'username=x-access-token\npassword=forge-token-value-123\n' },
    { name: 'answers a host with port and a custom user name', op: 'get', remote: 'bb', request: 'protocol=https\nhost=bitbucket.example.com:8443\npath=x.git\n\n', want: 'username=x-token-auth\npassword=bb-token-value-456\n' },
    { name: 'ignores host case', op: 'get', remote: 'lib', request: 'protocol=https\nhost=FORGE.example.com\n', want: 'username=x-access-token\npassword=forge-token-value-123\n' },
    { name: 'refuses another host (a redirect)', op: 'get', remote: 'lib', request: 'protocol=https\nhost=evil.example.com\n', want: '' },
    { name: 'refuses the right host on another port', op: 'get', remote: 'lib', request: 'protocol=https\nhost=forge.example.com:444\n', want: '' },
    { name: 'refuses plain http', op: 'get', remote: 'lib', request: 'protocol=http\nhost=forge.example.com\n', want: '' },
    { name: 'refuses without a remote in the environment', op: 'get', request: 'protocol=https\nhost=forge.example.com\n', want: '' },
    { name: 'refuses an unknown remote', op: 'get', remote: 'nope', request: 'protocol=https\nhost=forge.example.com\n', want: '' },
    { name: 'gives nothing to an ssh remote', op: 'get', remote: 'app', request: 'protocol=https\nhost=git.example.com\n', want: '' },
    { name: 'gives nothing to an anonymous remote', op: 'get', remote: 'anon', request: 'protocol=https\nhost=forge.example.com\n', want: '' },
    { name: 'ignores store', op: 'store', remote: 'lib', request: 'protocol=https\nhost=forge.example.com\nusername=u\npassword=p\n', want: '' },
    { name: 'ignores erase', op: 'erase', remote: 'lib', request: 'protocol=https\nhost=forge.example.com\n', want: '' },
  ]
  it.each(cases)('$name', async ({ op, remote, request, want }) => {
    expect(await answerCredentialRequest(op, request, env(remote))).toBe(want)
  })

  it('reads the token when asked, so a rotated token is used at once', async () => {
    await folder.write('secrets.json', JSON.stringify({ 'env.FORGE_TOKEN': 'rotated-token-789', bb: 'x' }))
    expect(await answerCredentialRequest('get', 'protocol=https\nhost=forge.example.com\n', env('lib'))).toContain('password=rotated-token-789\n')
  })
})

describe('parseCredentialRequest', () => {
  it('reads key=value lines up to the blank line', () => {
    expect(parseCredentialRequest('protocol=https\nhost=a=b\n\npath=ignored\n')).toEqual(new Map([['protocol', 'https'], ['host', 'a=b']]))
  })
})
