import { describe, expect, it } from 'vitest'
import { canonicalPath, isCanonicalPath } from '../../../../sidecars/egress/canonical-path.js'
import { pathAllowed } from '../../../../sidecars/egress/route-match.js'

/** What the proxy sees: the WHATWG parser has already run on the request target. */
const parsed = (raw: string) => new URL(`https://api.example.com${raw}`).pathname

describe('canonicalPath', () => {
  const cases = [
    { raw: '/repos/me/app', want: '/repos/me/app' },
    { raw: '/repos/me/', want: '/repos/me/' },
    { raw: '/', want: '/' },
    { raw: '/repos/me/..%2Fother', want: '/repos/other' },
    { raw: '/repos/me/..%2fother', want: '/repos/other' },
    { raw: '/repos/me/%2E%2E/other', want: '/repos/other' },
    { raw: '/repos/me/%2e%2e%2fother', want: '/repos/other' },
    { raw: '/repos/me/..%5Cother', want: '/repos/other' },
    { raw: '/repos/me/..%255Cother', want: '/repos/other' },
    { raw: '/repos/me/%252e%252e%252fother', want: '/repos/other' },
    { raw: '/repos/me;x=1/../other', want: '/repos/other' },
    { raw: '/repos/me/..;/other', want: '/repos/other' },
    { raw: '/repos//me/app', want: '/repos/me/app' },
    { raw: '/repos/me/app;jsessionid=1', want: '/repos/me/app' },
    { raw: '/a/b/../../../../etc', want: '/etc' },
    { raw: '/a/b/.', want: '/a/b/' },
    { raw: '/a%20b/c', want: '/a%20b/c' },
    { raw: '/a/%41', want: '/a/%41' },
  ]
  it.each(cases)('$raw -> $want', ({ raw, want }) => {
    expect(canonicalPath(raw)).toBe(want)
    expect(canonicalPath(want)).toBe(want)
  })
})

describe('every encoded way out of a prefix is refused, and paths inside it pass', () => {
  const prefix = ['/repos/me/']
  /** The policy's rule: canonical, then inside a prefix. */
  const allowed = (raw: string) => {
    const path = parsed(raw)
    return isCanonicalPath(path) && pathAllowed(prefix, path)
  }
  const escapes = [
    '/repos/me/..%2Fother/x',
    '/repos/me/..%2fother/x',
    '/repos/me/%2e%2e/other',
    '/repos/me/%2E%2E%2Fother',
    '/repos/me/..%5Cother',
    '/repos/me/..%5cother',
    '/repos/me/..%255Cother',
    '/repos/me/%252E%252E%252Fother',
    '/repos/me/..;/other',
    '/repos/me;/../other',
    '/repos/me//..//other',
    '/repos/me/.%2e/other',
    '/repos/me\\..\\other',
    '/repos/me/%2e%2e%5cother',
    '/repos/me%2F..%2Fother',
  ]
  it.each(escapes)('%s is refused', (raw) => {
    expect(allowed(raw)).toBe(false)
  })
  const inside = ['/repos/me/app', '/repos/me/app/issues/12', '/repos/me/', '/repos/me/a%20b', '/repos/me/x.y/z']
  it.each(inside)('%s is allowed (near miss: looks like the escapes but stays inside)', (raw) => {
    expect(allowed(raw)).toBe(true)
  })
})
