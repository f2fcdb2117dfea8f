import { describe, expect, it } from 'vitest'
import { parseUpstream } from '../../../../sidecars/git-gate/upstream-url.js'

describe('parseUpstream', () => {
  const cases = [
    { input: 'ssh://git@github.com/me/app.git', want: { protocol: 'ssh', host: 'github.com', port: 22, user: 'git', knownHostsName: 'github.com', credentialHost: 'github.com' } },
    { input: 'ssh://git@Git.Example.com:2222/srv/app.git', want: { protocol: 'ssh', host: 'git.example.com', port: 2222, user: 'git', knownHostsName: '[git.example.com]:2222', credentialHost: 'git.example.com:2222' } },
    { input: 'ssh://deploy@10.0.0.5:22/app.git', want: { protocol: 'ssh', host: '10.0.0.5', port: 22, user: 'deploy', knownHostsName: '10.0.0.5' } },
    { input: 'ssh://git@[fd00::5]:2222/app.git', want: { protocol: 'ssh', host: 'fd00::5', port: 2222, knownHostsName: '[fd00::5]:2222', credentialHost: '[fd00::5]:2222' } },
    { input: 'https://github.com/me/app.git', want: { protocol: 'https', host: 'github.com', port: 443, knownHostsName: '[github.com]:443', credentialHost: 'github.com' } },
    { input: 'https://localhost:8443/app.git', want: { protocol: 'https', host: 'localhost', port: 8443, credentialHost: 'localhost:8443' } },
  ]
  it.each(cases)('reads $input', ({ input, want }) => {
    const got = parseUpstream(input)
    expect(got).toMatchObject({ ...want, url: input })
  })

  const refused = [
    { input: 'git@github.com:me/app.git', want: 'must be ssh://user@host[:port]/path or https://host[:port]/path' },
    { input: 'http://example.com/app.git', want: 'uses http://; only ssh:// and https:// upstreams are supported' },
    { input: 'ext::sh -c touch% /tmp/x', want: 'must not contain whitespace or control characters' },
    { input: 'ssh://github.com/me/app.git', want: 'needs a login user, e.g. ssh://git@host/owner/repo.git' },
    { input: 'ssh://-oProxyCommand=x@host/app.git', want: 'needs a login user, e.g. ssh://git@host/owner/repo.git' },
    { input: 'ssh://-oProxyCommand@host/app.git', want: 'needs a login user, e.g. ssh://git@host/owner/repo.git' },
    { input: 'ssh://git@-oProxyCommand=x/app.git', want: 'needs a host name or IP address' },
    { input: 'ssh://git:pw@host/app.git', want: 'must not carry a password' },
    { input: 'https://token@github.com/me/app.git', want: 'must not carry a user name (the token comes from secrets.json)' },
    { input: 'https://github.com/', want: 'needs a repository path' },
    { input: 'https://github.com/me/app.git?x=1', want: 'must not have a query or fragment' },
  ]
  it.each(refused)('refuses $input', ({ input, want }) => {
    expect(parseUpstream(input)).toBe(want)
  })
})
