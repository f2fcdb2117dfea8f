import { describe, expect, it } from 'vitest'
import { createScanner } from '../../../../sidecars/dlp/scanner.js'
import { FragmentWindows, requestFragments, WINDOW_LIMITS } from '../../../../sidecars/egress/fragment-window.js'
import { BASE32_AWS, FakeRandom, githubStyleToken } from '../../../helpers/fake-credentials.js'

const rng = new FakeRandom(1408)
const token = githubStyleToken(rng, 'ghp_')
const aws = `AKIA${rng.string(BASE32_AWS, 16)}`
const scanner = createScanner({})
const HEADERS = ['Host', 'api.example.com', 'User-Agent', 'curl/8', 'Accept', '*/*']

function pieces(value: string, n: number): string[] {
  const size = Math.ceil(value.length / n)
  return Array.from({ length: n }, (_, i) => value.slice(i * size, (i + 1) * size))
}

/** Send requests through one window; the rules found in the joins of the last one. */
function send(windows: FragmentWindows, requests: { url: string; headers?: string[]; subdomain?: string }[]): string[] {
  let rules: string[] = []
  for (const r of requests) {
    const { joins, commit } = windows.preview('example.com', requestFragments(r.subdomain ?? '', new URL(r.url), r.headers ?? HEADERS))
    rules = joins.flatMap((j) => scanner.scanJoined(j.values, `recent-requests:${j.channel}`)).map((f) => f.rule)
    if (rules.length === 0) commit()
  }
  return rules
}

describe('secrets split across requests to one base domain', () => {
  it.each([2, 3, 5])('a query value, %i requests', (n) => {
    expect(send(new FragmentWindows(), pieces(token, n).map((p) => ({ url: `https://api.example.com/search?q=${p}` })))).toContain('github-pat')
  })
  it('a path segment', () => {
    expect(send(new FragmentWindows(), pieces(aws, 3).map((p) => ({ url: `https://api.example.com/upload/${p}` })))).toContain('aws-access-key-id')
  })
  it('a header value', () => {
    expect(send(new FragmentWindows(), pieces(token, 3).map((p) => ({ url: 'https://api.example.com/', headers: [...HEADERS, 'X-Note', p] })))).toContain('github-pat')
  })
  it('one subdomain label per tunnel (DNS), lower-cased as DNS has it', () => {
    expect(send(new FragmentWindows(), pieces(aws, 4).map((p) => ({ url: 'https://x.files.example.com/', subdomain: p.toLowerCase() })))).toContain('aws-access-key-id')
  })
  it('pieces moved between parameter names (the any channel)', () => {
    expect(send(new FragmentWindows(), pieces(token, 3).map((p, i) => ({ url: `https://api.example.com/?k${i}=${p}` })))).toContain('github-pat')
  })
  it('constant headers of ordinary traffic add nothing to scan', () => {
    const windows = new FragmentWindows()
    windows.record('example.com', requestFragments('', new URL('https://api.example.com/v1/messages'), HEADERS))
    expect(windows.preview('example.com', requestFragments('', new URL('https://api.example.com/v1/messages'), HEADERS)).joins).toEqual([])
  })

  it('a refused request is not remembered: the traffic after it is not joined to its pieces', () => {
    const windows = new FragmentWindows()
    const [a, b] = pieces(token, 2) as [string, string]
    expect(send(windows, [{ url: `https://api.example.com/?q=${a}` }, { url: `https://api.example.com/?q=${b}` }])).toContain('github-pat')
    // The second piece was refused and not recorded: ordinary values after it join the first piece alone.
    expect(send(windows, [{ url: 'https://api.example.com/?q=hello' }, { url: 'https://api.example.com/?q=world&page=2' }])).toEqual([])
  })

  describe('near misses', () => {
    it('ordinary paging through results', () => {
      expect(send(new FragmentWindows(), [1, 2, 3, 4].map((page) => ({ url: `https://api.example.com/v1/items?page=${page}&per_page=50` })))).toEqual([])
    })
    it('pieces sent to different base domains are not joined', () => {
      const windows = new FragmentWindows()
      const [a, b] = pieces(token, 2) as [string, string]
      windows.record('one.com', requestFragments('', new URL(`https://one.com/?q=${a}`), HEADERS))
      const { joins } = windows.preview('two.com', requestFragments('', new URL(`https://two.com/?q=${b}`), HEADERS))
      expect(joins.flatMap((j) => scanner.scanJoined(j.values, 'x'))).toEqual([])
    })
  })
})

describe('memory bound', () => {
  it('keeps at most the documented domains, channels and values', () => {
    const windows = new FragmentWindows()
    for (let d = 0; d < WINDOW_LIMITS.domains * 2; d++) {
      for (let r = 0; r < WINDOW_LIMITS.values * 2; r++) {
        const params = Array.from({ length: WINDOW_LIMITS.channels * 2 }, (_, c) => `p${c}=${'v'.repeat(WINDOW_LIMITS.valueChars * 2)}${r}`).join('&')
        windows.record(`d${d}.com`, requestFragments('', new URL(`https://d${d}.com/?${params}`), []))
      }
    }
    const state = (windows as unknown as { domains: Map<string, Map<string, { values: string[] }>> }).domains
    expect(state.size).toBe(WINDOW_LIMITS.domains)
    for (const channels of state.values()) {
      expect(channels.size).toBeLessThanOrEqual(WINDOW_LIMITS.channels)
      for (const channel of channels.values()) {
        expect(channel.values.length).toBeLessThanOrEqual(WINDOW_LIMITS.values)
        for (const value of channel.values) expect(value.length).toBeLessThanOrEqual(WINDOW_LIMITS.valueChars)
      }
    }
  })
})
