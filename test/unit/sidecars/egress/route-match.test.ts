import { describe, expect, it } from 'vitest'
import { canonicalHost, compileRoutes, matchRoute, parseAuthority, pathAllowed, type RoutePattern } from '../../../../sidecars/egress/route-match.js'

const routes: RoutePattern[] = [
  { host: 'api.github.com', ports: [443] },
  { host: '*.githubusercontent.com', ports: [443] },
  { host: '*.raw.githubusercontent.com', ports: [443, 8443] },
  { host: 'registry.npmjs.org', ports: [80, 443] },
  { host: 'Mixed.Example.COM', ports: [443] },
  { host: 'trailing.example.org.', ports: [443] },
  { host: '203.0.113.7', ports: [443] },
  { host: '2001:db8::7', ports: [443] },
]
const table = compileRoutes(routes)

function match(rawHost: string, port = 443): string {
  const host = canonicalHost(rawHost)
  if (!host.ok) return `invalid: ${host.reason}`
  const found = matchRoute(table, host.value, port)
  return found.matched ? found.route.host : found.rule
}

describe('canonicalHost', () => {
  const cases: Array<{ name: string; input: string; want: string }> = [
    { name: 'lowercases', input: 'API.GitHub.COM', want: 'name api.github.com' },
    { name: 'drops one trailing dot', input: 'api.github.com.', want: 'name api.github.com' },
    { name: 'IPv4 stays dotted', input: '203.0.113.7', want: 'ipv4 203.0.113.7' },
    { name: 'decimal IPv4 becomes dotted', input: '2130706433', want: 'ipv4 127.0.0.1' },
    { name: 'hex and short IPv4 become dotted', input: '0x7f.1', want: 'ipv4 127.0.0.1' },
    { name: 'bracketed IPv6 loses brackets', input: '[2001:DB8::7]', want: 'ipv6 2001:db8::7' },
    { name: 'bare IPv6 is accepted', input: '::1', want: 'ipv6 ::1' },
    { name: 'IDN becomes punycode', input: 'bücher.example', want: 'name xn--bcher-kva.example' },
    { name: 'percent-encoded name is decoded', input: 'ex%61mple.com', want: 'name example.com' },
  ]
  it.each(cases)('$name', ({ input, want }) => {
    const got = canonicalHost(input)
    expect(got.ok ? `${got.value.kind} ${got.value.host}` : 'invalid').toBe(want)
  })

  const invalid = ['', 'a b.com', 'exa mple.com', 'example.com..', 'host/with/slash', 'user@host', '[::1', 'x'.repeat(400), '[fe80::1%25eth0]']
  it.each(invalid)('refuses %j', (input) => {
    expect(canonicalHost(input).ok).toBe(false)
  })
})

describe('parseAuthority', () => {
  const cases = [
    { input: 'api.github.com:443', want: 'api.github.com 443' },
    { input: 'API.GITHUB.COM.:443', want: 'api.github.com 443' },
    { input: '[2001:db8::7]:8443', want: '2001:db8::7 8443' },
    { input: '2130706433:443', want: '127.0.0.1 443' },
    { input: 'api.github.com', want: 'invalid' },
    { input: 'api.github.com:0', want: 'invalid' },
    { input: 'api.github.com:65536', want: 'invalid' },
    { input: 'api.github.com:443/x', want: 'invalid' },
    { input: 'user@api.github.com:443', want: 'invalid' },
    { input: '2001:db8::7:443', want: 'invalid' },
  ]
  it.each(cases)('$input -> $want', ({ input, want }) => {
    const got = parseAuthority(input)
    expect(got.ok ? `${got.value.host.host} ${got.value.port}` : 'invalid').toBe(want)
  })
})

describe('matchRoute', () => {
  const cases = [
    { name: 'exact host', host: 'api.github.com', port: 443, want: 'api.github.com' },
    { name: 'exact host, other case', host: 'API.GITHUB.COM', port: 443, want: 'api.github.com' },
    { name: 'exact host with trailing dot', host: 'api.github.com.', port: 443, want: 'api.github.com' },
    { name: 'route written with mixed case', host: 'mixed.example.com', port: 443, want: 'Mixed.Example.COM' },
    { name: 'route written with trailing dot', host: 'trailing.example.org', port: 443, want: 'trailing.example.org.' },
    { name: 'exact does not cover subdomains', host: 'x.api.github.com', port: 443, want: 'no-route' },
    { name: 'exact does not cover parents', host: 'github.com', port: 443, want: 'no-route' },
    { name: 'lookalike suffix is another host', host: 'api.github.com.evil.net', port: 443, want: 'no-route' },
    { name: 'wildcard matches a subdomain', host: 'objects.githubusercontent.com', port: 443, want: '*.githubusercontent.com' },
    { name: 'wildcard matches deeper subdomains', host: 'a.b.githubusercontent.com', port: 443, want: '*.githubusercontent.com' },
    { name: 'wildcard never matches its own apex', host: 'githubusercontent.com', port: 443, want: 'no-route' },
    { name: 'wildcard needs a label boundary', host: 'evilgithubusercontent.com', port: 443, want: 'no-route' },
    { name: 'longer wildcard wins', host: 'x.raw.githubusercontent.com', port: 8443, want: '*.raw.githubusercontent.com' },
    { name: 'shorter wildcard applies to its own ports', host: 'objects.githubusercontent.com', port: 8443, want: 'port-not-allowed' },
    { name: 'port outside the route', host: 'api.github.com', port: 22, want: 'port-not-allowed' },
    { name: 'second listed port', host: 'registry.npmjs.org', port: 80, want: 'registry.npmjs.org' },
    { name: 'listed IPv4 literal', host: '203.0.113.7', port: 443, want: '203.0.113.7' },
    { name: 'unlisted IPv4 literal', host: '198.51.100.1', port: 443, want: 'ip-literal' },
    { name: 'IPv4 literal in decimal form is the same address', host: '3405803783', port: 443, want: '203.0.113.7' },
    { name: 'listed IPv6 literal', host: '[2001:db8:0:0::7]', port: 443, want: '2001:db8::7' },
    { name: 'unlisted IPv6 literal', host: '[2001:db8::8]', port: 443, want: 'ip-literal' },
    { name: 'IPv4-mapped form of a listed IPv4 is not listed', host: '[::ffff:203.0.113.7]', port: 443, want: 'ip-literal' },
  ]
  it.each(cases)('$name', ({ host, port, want }) => {
    expect(match(host, port)).toBe(want)
  })
})

describe('pathAllowed', () => {
  const cases = [
    { name: 'absent list allows everything', prefixes: undefined, path: '/anything', want: true },
    { name: 'slash-terminated prefix allows children', prefixes: ['/repos/me/'], path: '/repos/me/app', want: true },
    { name: 'slash-terminated prefix allows itself', prefixes: ['/repos/me/'], path: '/repos/me/', want: true },
    { name: 'slash-terminated prefix does not allow the bare folder', prefixes: ['/repos/me/'], path: '/repos/me', want: false },
    { name: 'slash-terminated prefix stops at the segment', prefixes: ['/repos/me/'], path: '/repos/mex/app', want: false },
    { name: 'bare prefix allows itself', prefixes: ['/repos/me'], path: '/repos/me', want: true },
    { name: 'bare prefix allows children', prefixes: ['/repos/me'], path: '/repos/me/app', want: true },
    { name: 'bare prefix is a segment boundary, not a string prefix', prefixes: ['/repos/me'], path: '/repos/mex', want: false },
    { name: 'bare prefix refuses a longer segment with a dash', prefixes: ['/repos/me'], path: '/repos/me-too/x', want: false },
    { name: 'root allows everything', prefixes: ['/'], path: '/x/y', want: true },
    { name: 'case-sensitive', prefixes: ['/repos/me/'], path: '/repos/ME/app', want: false },
    { name: 'encoded slash does not end a segment', prefixes: ['/repos/me'], path: '/repos/me%2Fother', want: false },
    { name: 'any of several prefixes', prefixes: ['/a/', '/b/'], path: '/b/c', want: true },
    { name: 'none of several prefixes', prefixes: ['/a/', '/b/'], path: '/c/a/', want: false },
  ]
  it.each(cases)('$name', ({ prefixes, path, want }) => {
    expect(pathAllowed(prefixes, path)).toBe(want)
  })

  // Paths reach pathAllowed only after the WHATWG parser resolved dot segments.
  const traversal = [
    { raw: '/repos/me/../other/x', want: false },
    { raw: '/repos/me/%2e%2e/other', want: false },
    { raw: '/repos/me/./app', want: true },
    { raw: '/repos\\me\\app', want: true },
  ]
  it.each(traversal)('dot segments in $raw are resolved before matching', ({ raw, want }) => {
    expect(pathAllowed(['/repos/me/'], new URL(`https://h${raw}`).pathname)).toBe(want)
  })
})
