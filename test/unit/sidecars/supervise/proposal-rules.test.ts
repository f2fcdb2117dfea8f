import { describe, expect, it } from 'vitest'
import { FakeRandom, githubStyleToken } from '../../../helpers/fake-credentials.js'
import { coveringRoute, hostProblem, isPublicSuffix, pathProblem, proposalProblems } from '../../../../sidecars/supervise/proposal-rules.js'

describe('hostProblem', () => {
  const accepted = ['api.example.com', 'docs.python.org', 'API.Example.COM', 'example.com.', '*.example.com', '*.docs.example.co.uk', 'registry.npmjs.org', 'a-b.c-d.io']
  it.each(accepted)('accepts %s', (host) => {
    expect(hostProblem(host)).toBeUndefined()
  })

  const refused: { name: string; host: unknown; want: RegExp }[] = [
    { name: 'a lone star', host: '*', want: /every host/ },
    { name: 'a bare top-level domain', host: 'com', want: /bare top-level domain/ },
    { name: 'a wildcard over a TLD', host: '*.com', want: /wildcard over a top-level domain/ },
    { name: 'a wildcard over a ccTLD registry', host: '*.co.uk', want: /public suffix co\.uk/ },
    { name: 'a wildcard over a hosting suffix', host: '*.github.io', want: /public suffix github\.io/ },
    { name: 'a star inside a label', host: 'api*.example.com', want: /only allowed as a leading/ },
    { name: 'a star in the middle', host: 'api.*.example.com', want: /only allowed as a leading/ },
    { name: 'an IPv4 literal', host: '203.0.113.7', want: /IP literal/ },
    { name: 'an IPv4 literal in hex', host: '0x7f.1', want: /IP literal/ },
    { name: 'an IPv4 literal as a number', host: '2130706433', want: /IP literal/ },
    { name: 'an IPv6 literal', host: '[::1]', want: /IP literal/ },
    { name: 'a bare IPv6 literal', host: 'fd00::1', want: /IP literal/ },
    { name: 'a URL', host: 'https://example.com', want: /bare host name/ },
    { name: 'a host with a port', host: 'example.com:8443', want: /bare host name/ },
    { name: 'a host with a path', host: 'example.com/x', want: /bare host name/ },
    { name: 'localhost', host: 'localhost', want: /single-label/ },
    { name: 'a name under .internal', host: 'metadata.google.internal', want: /private infrastructure/ },
    { name: 'a name under .localhost', host: 'app.localhost', want: /private infrastructure/ },
    { name: 'an underscore label', host: 'a_b.example.com', want: /not a DNS host name/ },
    { name: 'an empty string', host: '', want: /non-empty/ },
    { name: 'a number', host: 42, want: /non-empty string/ },
    { name: 'an overlong name', host: `${'a'.repeat(250)}.com`, want: /longer than 253/ },
  ]
  it.each(refused)('refuses $name', ({ host, want }) => {
    expect(hostProblem(host)).toMatch(want)
  })
})

describe('isPublicSuffix', () => {
  const cases: { name: string; want: boolean }[] = [
    { name: 'com', want: true },
    { name: 'co.uk', want: true },
    { name: 'com.au', want: true },
    { name: 'github.io', want: true },
    { name: 'example.com', want: false },
    { name: 'bbc.co.uk', want: false },
    { name: 'co.example', want: false },
  ]
  it.each(cases)('$name is a public suffix: $want', ({ name, want }) => {
    expect(isPublicSuffix(name)).toBe(want)
  })
})

describe('pathProblem', () => {
  const cases: { path: unknown; want: RegExp | undefined }[] = [
    { path: '/v1/', want: undefined },
    { path: '/repos/me/app', want: undefined },
    { path: 'v1/', want: /must start with "\/"/ },
    { path: '/a/../b', want: /normalized form/ },
    { path: '/a/./b', want: /normalized form/ },
    { path: '/search?q=1', want: /without query or fragment/ },
    { path: '/a#b', want: /without query or fragment/ },
    { path: '/a b', want: /whitespace or a control character/ },
    { path: '/a\u0000', want: /control character/ },
    { path: `/${'a'.repeat(600)}`, want: /longer than 512/ },
    { path: 7, want: /must be a string/ },
  ]
  it.each(cases)('%j', ({ path, want }) => {
    const problem = pathProblem(path)
    if (want === undefined) expect(problem).toBeUndefined()
    else expect(problem).toMatch(want)
  })
})

describe('proposalProblems', () => {
  it('accepts a host with paths and a reason', () => {
    expect(proposalProblems({ host: 'docs.example.com', paths: ['/v1/', '/v2/'] }, 'the build reads the docs index')).toEqual([])
  })

  const cases: { name: string; route: { host: string; paths?: string[] }; reason: unknown; want: RegExp }[] = [
    { name: 'an empty path list', route: { host: 'a.example.com', paths: [] }, reason: 'r', want: /paths is empty/ },
    { name: 'a path listed twice', route: { host: 'a.example.com', paths: ['/x', '/x'] }, reason: 'r', want: /listed twice/ },
    { name: 'too many paths', route: { host: 'a.example.com', paths: Array.from({ length: 21 }, (_, i) => `/p${i}`) }, reason: 'r', want: /at most 20 paths/ },
    { name: 'a blank reason', route: { host: 'a.example.com' }, reason: '  ', want: /reason must say why/ },
    { name: 'a reason that is not text', route: { host: 'a.example.com' }, reason: 3, want: /reason must say why/ },
    { name: 'an overlong reason', route: { host: 'a.example.com' }, reason: 'x'.repeat(2001), want: /longer than 2000/ },
    // A proposal is committed to the spec repository, so a credential in it is a leak.
    { name: 'a credential in the reason', route: { host: 'a.example.com' }, reason: `use ${githubStyleToken(new FakeRandom(7), 'ghp_')}`, want: /shaped like a credential/ },
    { name: 'a credential in a path', route: { host: 'a.example.com', paths: [`/AKIAQ3XM7RZ2P6N4KW5B/`] }, reason: 'r', want: /shaped like a credential/ },
  ]
  it.each(cases)('refuses $name', ({ route, reason, want }) => {
    expect(proposalProblems(route, reason).join('; ')).toMatch(want)
  })
})

describe('coveringRoute', () => {
  const routes = [{ host: 'api.example.com' }, { host: '*.cdn.example.net' }, { host: 'Registry.NPMJS.org' }]
  const cases: { host: string; want: string | undefined }[] = [
    { host: 'api.example.com', want: 'api.example.com' },
    { host: 'API.example.com.', want: 'api.example.com' },
    { host: 'registry.npmjs.org', want: 'Registry.NPMJS.org' },
    { host: 'a.cdn.example.net', want: '*.cdn.example.net' },
    { host: '*.x.cdn.example.net', want: '*.cdn.example.net' },
    { host: 'cdn.example.net', want: undefined },
    { host: '*.example.com', want: undefined },
    { host: 'docs.example.com', want: undefined },
  ]
  it.each(cases)('$host is covered by $want', ({ host, want }) => {
    expect(coveringRoute(host, routes)).toBe(want)
  })
})
