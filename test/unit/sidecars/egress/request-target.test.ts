import type { IncomingMessage } from 'node:http'
import { describe, expect, it } from 'vitest'
import { parseProxyRequest, parseTunnelRequest, rawRequestPath, type TargetParse } from '../../../../sidecars/egress/request-target.js'
import { canonicalHost } from '../../../../sidecars/egress/route-match.js'

const request = (url: string) => ({ url, method: 'GET', rawHeaders: [], headers: {} }) as unknown as IncomingMessage

function summary(parsed: TargetParse): string {
  if (!parsed.ok) return `deny ${parsed.denial.rule}`
  const t = parsed.target
  return `${t.scheme} ${t.host.kind}:${t.host.host} ${t.port} ${t.url.pathname}${t.url.search}`
}

describe('parseProxyRequest', () => {
  const cases = [
    { url: 'http://api.example.com/a?b=1', want: 'http name:api.example.com 80 /a?b=1' },
    { url: 'http://API.Example.COM.:8080/x', want: 'http name:api.example.com 8080 /x' },
    { url: 'https://api.example.com/x', want: 'https name:api.example.com 443 /x' },
    { url: 'ws://chat.example.com/socket', want: 'http name:chat.example.com 80 /socket' },
    { url: 'http://[2001:db8::1]:81/', want: 'http ipv6:2001:db8::1 81 /' },
    { url: 'http://0x7f.1/', want: 'http ipv4:127.0.0.1 80 /' },
    { url: 'http://a.example.com/x/../y/./z', want: 'http name:a.example.com 80 /y/z' },
    { url: 'http://a.example.com/x#frag', want: 'http name:a.example.com 80 /x' },
    { url: 'http://user:pw@a.example.com/', want: 'http name:a.example.com 80 /' },
    { url: '/relative', want: 'deny malformed-request' },
    { url: 'ftp://a.example.com/', want: 'deny unsupported-scheme' },
    { url: 'file:///etc/passwd', want: 'deny unsupported-scheme' },
    { url: 'http://exa mple.com/', want: 'deny malformed-request' },
    { url: 'http:///nohost', want: 'http name:nohost 80 /' },
  ]
  it.each(cases)('$url -> $want', ({ url, want }) => {
    expect(summary(parseProxyRequest(request(url)))).toBe(want)
  })
})

describe('parseTunnelRequest', () => {
  const host = canonicalHost('api.example.com')
  if (!host.ok) throw new Error('bad test host')
  const tunnel = { host: host.value, port: 443 }
  const cases = [
    { url: '/repos/me', want: 'https name:api.example.com 443 /repos/me' },
    { url: '//evil.example/x', want: 'https name:api.example.com 443 //evil.example/x' },
    { url: '/a/%2e%2e/b', want: 'https name:api.example.com 443 /b' },
    { url: 'https://api.example.com/abs', want: 'https name:api.example.com 443 /abs' },
    { url: 'https://API.example.com:443/abs', want: 'https name:api.example.com 443 /abs' },
    { url: 'https://evil.example/abs', want: 'deny host-mismatch' },
    { url: 'https://api.example.com:8443/abs', want: 'deny host-mismatch' },
    { url: '*', want: 'deny malformed-request' },
    { url: 'api.example.com:443', want: 'deny malformed-request' },
  ]
  it.each(cases)('$url -> $want', ({ url, want }) => {
    expect(summary(parseTunnelRequest(request(url), tunnel))).toBe(want)
  })
})

describe('rawRequestPath: the path as sent, before the parser resolves it', () => {
  const cases = [
    { target: 'http://api.example.com/repos/me/../x?q=1', want: '/repos/me/../x' },
    { target: 'http://api.example.com', want: '/' },
    { target: 'https://api.example.com:8443/a%2e%2e/b#frag', want: '/a%2e%2e/b' },
    { target: '/repos\\me\\x?y', want: '/repos\\me\\x' },
    { target: '/plain/path', want: '/plain/path' },
  ]
  it.each(cases)('$target -> $want', ({ target, want }) => {
    expect(rawRequestPath(target)).toBe(want)
  })
})
