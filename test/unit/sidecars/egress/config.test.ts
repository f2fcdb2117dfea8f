import { describe, expect, it } from 'vitest'
import { DEFAULT_LIMITS, parseEgressConfig, validateEgressConfig } from '../../../../sidecars/egress/config.js'
import { mintCertificateAuthority } from '../../../../sidecars/egress/certificates.js'
import { parseSecretsFile } from '../../../../sidecars/shared/secrets-file.js'

describe('validateEgressConfig', () => {
  it('fills defaults for an empty config', () => {
    const got = validateEgressConfig({})
    expect(got).toEqual({
      ok: true,
      value: { version: 1, routes: [], dlp: { action: 'block' }, allowPrivate: [], limits: DEFAULT_LIMITS, upstreamCaCerts: [], placeholders: [] },
    })
  })

  it('fills route defaults', () => {
    const got = validateEgressConfig({ routes: [{ host: 'api.github.com' }] })
    expect(got.ok && got.value.routes[0]).toEqual({ host: 'api.github.com', tls: 'intercept', scan: { body: true } })
  })

  const valid = [
    { name: 'full route', input: { routes: [{ host: 'api.github.com', paths: ['/repos/me/'], auth: { scheme: 'Bearer', slot: 'github' }, ports: [443] }] } },
    { name: 'wildcard passthrough', input: { routes: [{ host: '*.githubusercontent.com', tls: 'passthrough' }] } },
    { name: 'upstream override', input: { routes: [{ host: 'internal.example.com', upstream: 'https://gateway.example.com:8443', scan: { body: false } }] } },
    { name: 'upstream with trailing slash', input: { routes: [{ host: 'a.example.com', upstream: 'http://10.0.0.5:8080/' }] } },
    { name: 'IPv4 route', input: { routes: [{ host: '203.0.113.7' }] } },
    { name: 'IPv6 route', input: { routes: [{ host: '2001:db8::7' }] } },
    { name: 'warn, allowPrivate, limits', input: { dlp: { action: 'warn' }, allowPrivate: ['100.78.141.42/32', 'fd12::/16', '10.0.0.1'], limits: { requestsPerMinute: 10 } } },
    { name: 'token scheme', input: { routes: [{ host: 'gitea.example.com', auth: { scheme: 'token', slot: 'gitea' } }] } },
  ]
  it.each(valid)('accepts $name', ({ input }) => {
    const got = validateEgressConfig(input)
    expect(got.ok ? 'ok' : got.errors.join(' | ')).toBe('ok')
  })

  const invalid: Array<{ name: string; input: unknown; want: string }> = [
    { name: 'not an object', input: [], want: 'config: expected object, received array' },
    { name: 'unknown top-level key', input: { route: [] }, want: 'config: unknown key "route"' },
    { name: 'unknown route key', input: { routes: [{ host: 'a.com', path: ['/x'] }] }, want: 'routes[0]: unknown key "path"' },
    { name: 'missing host', input: { routes: [{}] }, want: 'routes[0].host: expected string, received undefined' },
    { name: 'host with scheme', input: { routes: [{ host: 'https://a.com' }] }, want: 'routes[0].host: "https://a.com" must be a bare host (no scheme, port or path)' },
    { name: 'host with port', input: { routes: [{ host: 'a.com:443' }] }, want: 'routes[0].host: "a.com:443" must be a bare host (no scheme, port or path)' },
    { name: 'star inside a label', input: { routes: [{ host: 'a*.com' }] }, want: 'routes[0].host: "a*.com": "*" is only allowed as a leading "*." label' },
    { name: 'wildcard over a TLD', input: { routes: [{ host: '*.com' }] }, want: 'routes[0].host: "*.com": a wildcard over a top-level domain is too broad' },
    { name: 'wildcard over an IP', input: { routes: [{ host: '*.10.0.0.1' }] }, want: 'routes[0].host: "*.10.0.0.1": a wildcard needs a DNS suffix after "*."' },
    { name: 'duplicate host, other case', input: { routes: [{ host: 'A.com' }, { host: 'a.COM.' }] }, want: 'routes[1].host: duplicate host (also routes[0]); hosts must be unique' },
    { name: 'relative path', input: { routes: [{ host: 'a.com', paths: ['repos/'] }] }, want: 'routes[0].paths[0]: "repos/" must start with "/"' },
    { name: 'path with dot segment', input: { routes: [{ host: 'a.com', paths: ['/a/../b'] }] }, want: 'routes[0].paths[0]: "/a/../b" is not in normalized form (would be compared as "/b")' },
    { name: 'path with query', input: { routes: [{ host: 'a.com', paths: ['/a?x=1'] }] }, want: 'routes[0].paths[0]: "/a?x=1" must be a path without query or fragment' },
    { name: 'empty paths list', input: { routes: [{ host: 'a.com', paths: [] }] }, want: 'routes[0].paths: Too small: expected array to have >=1 items' },
    { name: 'paths on passthrough', input: { routes: [{ host: 'a.com', tls: 'passthrough', paths: ['/x'] }] }, want: 'routes[0].paths: paths need tls: intercept (a passthrough tunnel cannot see paths)' },
    { name: 'auth on passthrough', input: { routes: [{ host: 'a.com', tls: 'passthrough', auth: { scheme: 'Bearer', slot: 's' } }] }, want: 'routes[0].auth: auth needs tls: intercept (a passthrough tunnel cannot inject headers)' },
    { name: 'bad auth scheme', input: { routes: [{ host: 'a.com', auth: { scheme: 'bearer', slot: 's' } }] }, want: 'routes[0].auth.scheme: expected one of "Bearer"|"token"' },
    { name: 'auth without slot', input: { routes: [{ host: 'a.com', auth: { scheme: 'Bearer' } }] }, want: 'routes[0].auth.slot: expected string, received undefined' },
    { name: 'auth with a value instead of a slot', input: { routes: [{ host: 'a.com', auth: { scheme: 'Bearer', slot: 's', value: 'x' } }] }, want: 'routes[0].auth: unknown key "value"' },
    { name: 'slot that is not an identifier', input: { routes: [{ host: 'a.com', auth: { scheme: 'Bearer', slot: 'has space' } }] }, want: 'routes[0].auth.slot: must be an identifier (letters, digits, _ . -)' },
    { name: 'bad tls mode', input: { routes: [{ host: 'a.com', tls: 'none' }] }, want: 'routes[0].tls: expected one of "intercept"|"passthrough"' },
    { name: 'upstream with path', input: { routes: [{ host: 'a.com', upstream: 'https://b.com/api' }] }, want: 'routes[0].upstream: "https://b.com/api" must be an origin (no path, query or fragment)' },
    { name: 'upstream with credentials', input: { routes: [{ host: 'a.com', upstream: 'https://u:p@b.com' }] }, want: 'routes[0].upstream: must not carry credentials (use auth with a slot)' },
    { name: 'upstream of another scheme', input: { routes: [{ host: 'a.com', upstream: 'ftp://b.com' }] }, want: 'routes[0].upstream: "ftp://b.com" must be an http:// or https:// URL' },
    { name: 'upstream not a URL', input: { routes: [{ host: 'a.com', upstream: 'b.com' }] }, want: 'routes[0].upstream: "b.com" is not a URL' },
    { name: 'port out of range', input: { routes: [{ host: 'a.com', ports: [70000] }] }, want: 'routes[0].ports[0]: Too big: expected number to be <=65535' },
    { name: 'scan body not boolean', input: { routes: [{ host: 'a.com', scan: { body: 'no' } }] }, want: 'routes[0].scan.body: expected boolean, received string' },
    { name: 'bad dlp action', input: { dlp: { action: 'log' } }, want: 'dlp.action: expected one of "block"|"warn"' },
    { name: 'allowPrivate not a CIDR', input: { allowPrivate: ['10.0.0.0/33'] }, want: 'allowPrivate[0]: "10.0.0.0/33" is not an IP address or CIDR' },
    { name: 'allowPrivate a host name', input: { allowPrivate: ['db.internal'] }, want: 'allowPrivate[0]: "db.internal" is not an IP address or CIDR' },
    { name: 'allowPrivate too broad', input: { allowPrivate: ['0.0.0.0/0'] }, want: 'allowPrivate[0]: 0.0.0.0/0 is too broad (the prefix must be /8 or longer)' },
    { name: 'bytes limit too small', input: { limits: { bytesPerMinute: 10 } }, want: 'limits.bytesPerMinute: Too small: expected number to be >=1024' },
    { name: 'requests limit not an integer', input: { limits: { requestsPerMinute: 1.5 } }, want: 'limits.requestsPerMinute: expected int, received number' },
    { name: 'short placeholder', input: { placeholders: ['x'] }, want: 'placeholders[0]: must be at least 8 characters (shorter values would strip unrelated headers)' },
    { name: 'CA that is not PEM', input: { upstreamCaCerts: ['nope'] }, want: 'upstreamCaCerts[0]: is not a PEM certificate' },
    { name: 'wrong version', input: { version: 2 }, want: 'version: expected 1' },
  ]
  it.each(invalid)('refuses $name', ({ input, want }) => {
    const got = validateEgressConfig(input)
    expect(got.ok ? 'ok' : got.errors).toContain(want)
  })

  it('reports every error, one line each', () => {
    const got = validateEgressConfig({ routes: [{ host: 'a.com', tls: 'passthrough', paths: ['/x'], auth: { scheme: 'Bearer', slot: 's' } }], allowPrivate: ['x'] })
    expect(got.ok).toBe(false)
    if (got.ok) return
    expect(got.errors).toHaveLength(3)
    for (const error of got.errors) expect(error).not.toMatch(/\n/)
  })

  it('accepts a CA certificate among upstreamCaCerts', () => {
    const ca = mintCertificateAuthority({ commonName: 'upstream test CA' })
    expect(validateEgressConfig({ upstreamCaCerts: [ca.certPem] }).ok).toBe(true)
  })
})

describe('parseEgressConfig', () => {
  it('turns a JSON syntax error into one line', () => {
    const got = parseEgressConfig('{"routes": [\n')
    expect(got.ok).toBe(false)
    if (!got.ok) expect(got.errors[0]).toMatch(/^config\.json: invalid JSON: [^\n]+$/)
  })
})

describe('parseSecretsFile', () => {
  const secret = 'ghp_0123456789abcdefghijklmnopqrstuvwxyz'
  const cases = [
    { name: 'valid map', text: JSON.stringify({ github: secret, 'gitea.token': 'x' }), want: 'ok' },
    { name: 'not JSON', text: `{"github": "${secret}"`, want: 'secrets.json: invalid JSON' },
    { name: 'array', text: '[]', want: 'secrets.json: must be an object of slot to value' },
    { name: 'non-string value', text: JSON.stringify({ github: 42 }), want: 'secrets.json: slot github must be a non-empty string' },
    { name: 'empty value', text: JSON.stringify({ github: '' }), want: 'secrets.json: slot github must be a non-empty string' },
    { name: 'line break in value', text: JSON.stringify({ github: `${secret}\n` }), want: 'secrets.json: slot github contains a line break or NUL' },
    { name: 'bad slot name', text: JSON.stringify({ 'a b': secret }), want: 'secrets.json: slot name "a b" is not an identifier' },
  ]
  it.each(cases)('$name', ({ text, want }) => {
    const got = parseSecretsFile(text)
    const summary = got.ok ? 'ok' : got.errors.join(' | ')
    expect(summary).toBe(want)
    expect(summary).not.toContain(secret)
  })
})
