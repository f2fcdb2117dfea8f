import { describe, expect, it } from 'vitest'
import {
  formatHostHeader,
  injectAuthorization,
  limitAcceptEncoding,
  stripRequestHeaders,
  stripResponseHeaders,
  withContentLength,
} from '../../../../sidecars/egress/rewrite-headers.js'

const PLACEHOLDER = 'egress-placeholder-token'

function pairs(flat: readonly string[]): string[] {
  const out: string[] = []
  for (let i = 0; i < flat.length; i += 2) out.push(`${flat[i]}: ${flat[i + 1]}`)
  return out
}

describe('stripRequestHeaders', () => {
  const base = { hostHeader: 'api.github.com', stripAuthorization: false, placeholders: [PLACEHOLDER] }
  const cases: Array<{ name: string; raw: string[]; options?: Partial<typeof base> & { upgrade?: string }; want: string[]; dropped?: string[] }> = [
    { name: 'Host is rebuilt and comes first', raw: ['Accept', '*/*', 'Host', 'evil.example'], want: ['Host: api.github.com', 'Accept: */*'] },
    { name: 'hop-by-hop headers go', raw: ['Connection', 'keep-alive', 'Keep-Alive', 'timeout=5', 'Proxy-Connection', 'keep-alive', 'TE', 'trailers', 'Transfer-Encoding', 'chunked', 'Trailer', 'x', 'Upgrade', 'h2c'], want: ['Host: api.github.com'] },
    { name: 'headers named by Connection go', raw: ['Connection', 'close, X-Internal', 'X-Internal', '1', 'X-Other', '2'], want: ['Host: api.github.com', 'X-Other: 2'] },
    { name: 'Proxy-Authorization always goes', raw: ['Proxy-Authorization', 'Basic abc'], want: ['Host: api.github.com'] },
    { name: 'Expect goes (the proxy answers it)', raw: ['Expect', '100-continue', 'Content-Length', '5'], want: ['Host: api.github.com', 'Content-Length: 5'] },
    { name: 'Authorization kept on a route without auth', raw: ['Authorization', 'Basic dXNlcg=='], want: ['Host: api.github.com', 'Authorization: Basic dXNlcg=='] },
    {
      name: 'every Authorization goes on a route with auth',
      raw: ['Authorization', 'Bearer agent-token', 'authorization', 'token other', 'Accept', 'json'],
      options: { stripAuthorization: true },
      want: ['Host: api.github.com', 'Accept: json'],
      dropped: ['authorization', 'authorization'],
    },
    {
      name: 'a header carrying the placeholder goes, whatever its name',
      raw: ['X-Api-Key', PLACEHOLDER, 'Cookie', `session=${PLACEHOLDER}; a=b`, 'Accept', 'json'],
      want: ['Host: api.github.com', 'Accept: json'],
      dropped: ['x-api-key', 'cookie'],
    },
    { name: 'placeholder check is per value, case-sensitive', raw: ['X-Note', PLACEHOLDER.toUpperCase()], want: ['Host: api.github.com', `X-Note: ${PLACEHOLDER.toUpperCase()}`] },
    { name: 'duplicates keep their order', raw: ['X-A', '1', 'X-B', '2', 'X-A', '3'], want: ['Host: api.github.com', 'X-A: 1', 'X-B: 2', 'X-A: 3'] },
    {
      name: 'a WebSocket handshake keeps Connection and Upgrade, rebuilt',
      raw: ['Connection', 'Upgrade', 'Upgrade', 'websocket', 'Sec-WebSocket-Key', 'abc=='],
      options: { upgrade: 'websocket' },
      want: ['Host: api.github.com', 'Sec-WebSocket-Key: abc==', 'Connection: Upgrade', 'Upgrade: websocket'],
    },
  ]
  it.each(cases)('$name', ({ raw, options, want, dropped }) => {
    const got = stripRequestHeaders(raw, { ...base, ...options })
    expect(pairs(got.headers)).toEqual(want)
    expect(got.droppedCredentials).toEqual(dropped ?? [])
  })
})

describe('injectAuthorization', () => {
  const cases = [
    { scheme: 'Bearer' as const, want: 'Authorization: Bearer real-value' },
    { scheme: 'token' as const, want: 'Authorization: token real-value' },
  ]
  it.each(cases)('$scheme', ({ scheme, want }) => {
    const stripped = stripRequestHeaders(['Authorization', 'Bearer fake'], { hostHeader: 'h', stripAuthorization: true, placeholders: [] })
    const got = pairs(injectAuthorization(stripped.headers, scheme, 'real-value'))
    expect(got).toEqual(['Host: h', want])
  })
})

describe('formatHostHeader', () => {
  const cases: Array<[string, number, 'http' | 'https', string]> = [
    ['a.com', 443, 'https', 'a.com'],
    ['a.com', 80, 'http', 'a.com'],
    ['a.com', 443, 'http', 'a.com:443'],
    ['a.com', 8443, 'https', 'a.com:8443'],
    ['2001:db8::1', 443, 'https', '[2001:db8::1]'],
    ['2001:db8::1', 8080, 'http', '[2001:db8::1]:8080'],
  ]
  it.each(cases)('%s port %d over %s is %s', (host, port, scheme, want) => {
    expect(formatHostHeader(host, port, scheme)).toBe(want)
  })
})

describe('withContentLength', () => {
  it('replaces every Content-Length with the buffered length', () => {
    expect(pairs(withContentLength(['Host', 'h', 'Content-Length', '10', 'content-length', '10'], 4))).toEqual(['Host: h', 'Content-Length: 4'])
  })
})

describe('stripResponseHeaders', () => {
  it('drops hop-by-hop and Connection-listed headers, keeps the rest in order', () => {
    const got = stripResponseHeaders(['Content-Type', 'a', 'Connection', 'keep-alive, X-Hop', 'X-Hop', '1', 'Transfer-Encoding', 'chunked', 'Set-Cookie', 'a=1', 'Set-Cookie', 'b=2'])
    expect(pairs(got)).toEqual(['Content-Type: a', 'Set-Cookie: a=1', 'Set-Cookie: b=2'])
  })
})

describe('limitAcceptEncoding', () => {
  const decodable = ['gzip', 'deflate', 'br']
  const cases = [
    { name: 'drops codings the proxy cannot decode', raw: ['Accept-Encoding', 'gzip, deflate, br, zstd'], want: ['Accept-Encoding: gzip, deflate, br'] },
    { name: 'keeps q-values, identity and x-gzip', raw: ['accept-encoding', 'br;q=1.0, x-gzip;q=0.5, identity;q=0.1, compress'], want: ['accept-encoding: br;q=1.0, x-gzip;q=0.5, identity;q=0.1'] },
    { name: 'nothing decodable: identity', raw: ['Accept-Encoding', 'zstd'], want: ['Accept-Encoding: identity'] },
    { name: '* stands for the decodable codings not named', raw: ['Accept-Encoding', 'br, *;q=0.5'], want: ['Accept-Encoding: br, gzip;q=0.5, deflate;q=0.5'] },
    { name: '*;q=0 goes', raw: ['Accept-Encoding', 'gzip, *;q=0'], want: ['Accept-Encoding: gzip'] },
    { name: 'several headers become one, where the first was', raw: ['Accept-Encoding', 'zstd', 'X-A', '1', 'Accept-Encoding', 'gzip'], want: ['Accept-Encoding: gzip', 'X-A: 1'] },
  ]
  it.each(cases)('$name', ({ raw, want }) => {
    expect(pairs(limitAcceptEncoding(['Host', 'h', ...raw], decodable))).toEqual(['Host: h', ...want])
  })

  it('leaves a request without Accept-Encoding, or one already narrow, as it is (same array)', () => {
    const none = ['Host', 'h', 'Accept', '*/*']
    expect(limitAcceptEncoding(none, decodable)).toBe(none)
    const narrow = ['Host', 'h', 'Accept-Encoding', 'gzip, br']
    expect(limitAcceptEncoding(narrow, decodable)).toBe(narrow)
  })
})
