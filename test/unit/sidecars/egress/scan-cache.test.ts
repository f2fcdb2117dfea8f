import { describe, expect, it } from 'vitest'
import type { DlpScanner } from '../../../../sidecars/dlp/types.js'
import { withScanCache } from '../../../../sidecars/egress/scan-cache.js'

function countingScanner(): { scanner: DlpScanner; calls: { text: number; host: number; url: number; body: number; joined: number } } {
  const calls = { text: 0, host: 0, url: 0, body: 0, joined: 0 }
  const finding = (text: string, location: string) => (text.includes('SECRET') ? [{ rule: 'known-secret', location }] : [])
  return {
    calls,
    scanner: {
      scanText: (text, location) => (calls.text++, finding(text, location)),
      scanHost: (host, location = 'host') => (calls.host++, finding(host, location)),
      scanUrl: (url, location = 'url') => (calls.url++, finding(url.href, `${location}.path`)),
      scanBody: (input) => (calls.body++, { ok: true, findings: [] }),
      scanJoined: (fields, location) => (calls.joined++, finding(fields.join(''), location)),
    },
  }
}

describe('withScanCache', () => {
  it('answers repeated header values, hosts and URLs from the memo with the same findings', () => {
    const { scanner, calls } = countingScanner()
    const cached = withScanCache(scanner)
    for (let i = 0; i < 3; i++) {
      expect(cached.scanText('curl/8.0', 'header:user-agent')).toEqual([])
      expect(cached.scanText('x SECRET y', 'header:x-note')).toEqual([{ rule: 'known-secret', location: 'header:x-note' }])
      expect(cached.scanHost('api.example.com', 'host')).toEqual([])
      expect(cached.scanUrl(new URL('https://a.example/SECRET'), 'url')).toEqual([{ rule: 'known-secret', location: 'url.path' }])
      expect(cached.scanJoined(['SEC', 'RET'], 'header(joined)')).toEqual([{ rule: 'known-secret', location: 'header(joined)' }])
      // The same characters cut at another boundary are another join.
      expect(cached.scanJoined(['SE', 'CRET'], 'header(joined)')).toEqual([{ rule: 'known-secret', location: 'header(joined)' }])
    }
    expect(calls).toEqual({ text: 2, host: 1, url: 1, body: 0, joined: 2 })
  })

  it('keeps locations apart: the same value under another header is scanned again', () => {
    const { scanner, calls } = countingScanner()
    const cached = withScanCache(scanner)
    cached.scanText('SECRET', 'header:a')
    expect(cached.scanText('SECRET', 'header:b')).toEqual([{ rule: 'known-secret', location: 'header:b' }])
    expect(calls.text).toBe(2)
  })

  it('never memoizes bodies or long inputs', () => {
    const { scanner, calls } = countingScanner()
    const cached = withScanCache(scanner, { maxInputLength: 10 })
    for (let i = 0; i < 2; i++) {
      cached.scanText('a value longer than ten', 'header:x')
      cached.scanBody({ contentType: 'text/plain', contentEncoding: undefined, body: new Uint8Array(1) })
    }
    expect(calls).toMatchObject({ text: 2, body: 2 })
  })

  it('hands out copies, so a caller cannot corrupt the memo', () => {
    const { scanner } = countingScanner()
    const cached = withScanCache(scanner)
    const first = cached.scanText('SECRET', 'header:x')
    ;(first[0] as { rule: string }).rule = 'changed'
    expect(cached.scanText('SECRET', 'header:x')[0]?.rule).toBe('known-secret')
  })

  it('stays within maxEntries', () => {
    const { scanner, calls } = countingScanner()
    const cached = withScanCache(scanner, { maxEntries: 2 })
    for (const value of ['a', 'b', 'c', 'a']) cached.scanText(value, 'header:x')
    expect(calls.text).toBe(4)
  })
})
