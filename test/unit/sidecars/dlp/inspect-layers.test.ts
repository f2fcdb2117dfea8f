import { Buffer } from 'node:buffer'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { findCredentials } from '../../../../sidecars/dlp/credential-patterns.js'
import { inspectBelowSurface, MAX_DECODE_DEPTH, SCAN_LIMIT_RULE } from '../../../../sidecars/dlp/inspect-layers.js'
import { compileKnownSecrets } from '../../../../sidecars/dlp/known-secrets.js'
import { createScanner } from '../../../../sidecars/dlp/scanner.js'
import { FakeRandom, githubStyleToken } from '../../../helpers/fake-credentials.js'

const rng = new FakeRandom(99)
const secret = rng.mixed(24)
const token = githubStyleToken(rng, 'ghp_')
const scanner = createScanner({ knownSecrets: [secret] })

const b64 = (s: string) => Buffer.from(s).toString('base64')
const hex = (s: string) => Buffer.from(s).toString('hex')
const pct = (s: string) => [...Buffer.from(s)].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('')
const zw = (s: string) => [...s].join('\u200b')
const utf16 = (s: string) => Buffer.from(s, 'utf16le').toString('base64')

const encodingOf = (text: string, rule: string) => scanner.scanText(text, 'x').find((f) => f.rule === rule)?.encoding ?? 'none'

describe('layered detection', () => {
  it.each([
    { name: 'as is', text: `key ${secret}`, want: 'none' },
    { name: 'percent-encoded', text: pct(secret), want: 'url-encoded' },
    { name: 'zero-width padded', text: zw(secret), want: 'zero-width' },
    { name: 'base64', text: b64(secret), want: 'base64' },
    { name: 'hex', text: hex(secret), want: 'hex' },
    { name: 'hex of base64', text: hex(b64(secret)), want: 'hex+base64' },
    { name: 'base64 of hex', text: b64(hex(secret)), want: 'base64+hex' },
    { name: 'percent-encoded base64 of hex', text: pct(b64(hex(secret))), want: 'url-encoded+base64+hex' },
    { name: 'base64 of percent-encoding', text: b64(pct(secret)), want: 'base64+url-encoded' },
    { name: 'base64 of zero-width padding', text: b64(zw(secret)), want: 'base64+zero-width' },
    { name: 'base64 of UTF-16', text: utf16(secret), want: 'base64+utf-16le' },
  ])('finds a known secret $name', ({ text, want }) => {
    expect(encodingOf(text, 'known-secret')).toBe(want)
  })

  it.each([
    { name: 'in JavaScript escapes', text: `"${token.replace(/./g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)}"`, want: 'escaped' },
    { name: 'in fullwidth forms', text: [...token].map((c) => String.fromCharCode(c.charCodeAt(0) + 0xfee0)).join(''), want: 'unicode' },
    { name: 'behind a Cyrillic look-alike', text: token.replace('p', 'р'), want: 'confusable' },
    { name: 'inside longer base64 at alignment 1', text: b64(`x=${token};`), want: 'base64' },
    { name: 'inside longer base64 at alignment 2', text: b64(`xy=${token};`), want: 'base64' },
    { name: 'four layers deep', text: b64(hex(b64(hex(token)))), want: 'base64+hex+base64+hex' },
  ])('finds a credential $name', ({ text, want }) => {
    expect(encodingOf(text, 'github-pat')).toBe(want)
  })

  const filler = (n: number) => 'lorem ipsum dolor sit amet, '.repeat(Math.ceil(n / 28)).slice(0, n)
  it.each([
    { name: 'zero-width padding deep inside long text', text: `${filler(9000)} ${zw(token)} ${filler(9000)}`, want: 'zero-width' },
    { name: 'fullwidth forms at the end of long text', text: `${filler(20000)} ${[...token].map((c) => String.fromCharCode(c.charCodeAt(0) + 0xfee0)).join('')}`, want: 'unicode' },
    { name: 'base64 split by a zero-width space in long text', text: `${filler(6000)}${b64(`k=${token}`).replace(/^(.{20})/, '$1\u200b')}${filler(6000)}`, want: 'zero-width+base64' },
    { name: 'base64 in long text with unrelated non-ASCII', text: `é ${filler(9000)} ${b64(token)} ${filler(9000)} é`, want: 'base64' },
  ])('finds a credential hidden by $name', ({ text, want }) => {
    expect(encodingOf(text, 'github-pat')).toBe(want)
  })

  it(`reads ${MAX_DECODE_DEPTH} decoded layers, and reports a text that still decodes past them (fail closed)`, () => {
    const deep = b64(hex(b64(hex(b64(token)))))
    expect(encodingOf(deep, 'github-pat')).toBe('none')
    const limit = scanner.scanText(deep, 'x').find((f) => f.rule === SCAN_LIMIT_RULE)
    expect(limit?.encoding).toMatch(/beyond depth 4/)
    // Near miss: four layers over plain words are read through, and nothing is left to decode.
    expect(scanner.scanText(b64(hex(b64(hex('plain words, nothing secret')))), 'x')).toEqual([])
  })

  it('reports a spent decode budget as a finding, so callers can fail closed', () => {
    const rules: string[] = []
    const detectors = { findCredentials, knownSecrets: compileKnownSecrets([]) }
    inspectBelowSurface(b64(b64(b64(token))), [], 0, detectors, { remaining: 20, exceeded: false }, (rule) => rules.push(rule))
    expect(rules).toContain(SCAN_LIMIT_RULE)
  })

  it('never puts the value in a finding', () => {
    const findings = [
      ...scanner.scanText(`${secret} ${b64(token)}`, 'header:x-debug'),
      ...scanner.scanText(`password=${secret}`, 'body.text'),
    ]
    expect(findings.length).toBeGreaterThan(0)
    const serialized = JSON.stringify(findings)
    expect(serialized).not.toContain(secret)
    expect(serialized).not.toContain(token)
  })
})

type Layer = 'url' | 'base64' | 'base64url' | 'hex' | 'HEX' | 'zero-width'
const wrap = (text: string, layer: Layer): string => {
  switch (layer) {
    case 'url':
      return pct(text)
    case 'base64':
      return b64(text)
    case 'base64url':
      return Buffer.from(text).toString('base64url')
    case 'hex':
      return hex(text)
    case 'HEX':
      return hex(text).toUpperCase()
    case 'zero-width':
      return zw(text)
  }
}

describe('a secret survives encoding', () => {
  // A failure prints its seed and counterexample; each one becomes a pinned case below.
  it('a known secret, in 1 to 3 random layers of URL, base64, hex or zero-width padding, inside other text', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~!*'), minLength: 8, maxLength: 40 }),
        fc.array(fc.constantFrom<Layer>('url', 'base64', 'base64url', 'hex', 'HEX', 'zero-width'), { minLength: 1, maxLength: 3 }),
        fc.string({ maxLength: 12 }),
        fc.string({ maxLength: 12 }),
        (value, layers, before, after) => {
          const wrapped = layers.reduce(wrap, value)
          const found = createScanner({ knownSecrets: [value] }).scanText(`${before} ${wrapped} ${after}`, 'x')
          expect(found.map((f) => f.rule)).toContain('known-secret')
        },
      ),
      { numRuns: 500 },
    )
  })

  it('a GitHub token (checksum intact), in 1 to 3 random layers', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 2 ** 31 - 1 }),
        fc.array(fc.constantFrom<Layer>('url', 'base64', 'base64url', 'hex', 'HEX', 'zero-width'), { minLength: 1, maxLength: 3 }),
        (seed, layers) => {
          const value = githubStyleToken(new FakeRandom(seed), 'ghp_')
          const found = scanner.scanText(` ${layers.reduce(wrap, value)} `, 'x')
          expect(found.map((f) => f.rule)).toContain('github-pat')
        },
      ),
      { numRuns: 300 },
    )
  })

  it.each([
    // Found by the property (seed -324876075): base64 of base64 of a repetitive value is all
    // letters, mostly upper case, and the camelCase filter used to skip it as an identifier.
    { value: 'AAAAAAAAA', layers: ['base64', 'base64url'] as Layer[] },
    // Found by the property (seed 1741342155): the same, under percent-encoding.
    { value: 'AAAAAAAA', layers: ['base64url', 'base64url', 'url'] as Layer[] },
    // Found by the property (a random seed): base64 of base64url of upper-case text has no lower case at all.
    { value: 'AAHAOAAAA', layers: ['base64url', 'base64'] as Layer[] },
    { value: 'AAHAA.AAA', layers: ['base64', 'base64'] as Layer[] },
  ])('pinned: $value in $layers', ({ value, layers }) => {
    const found = createScanner({ knownSecrets: [value] }).scanText(layers.reduce(wrap, value), 'x')
    expect(found.map((f) => f.rule)).toContain('known-secret')
  })
})

describe('long texts: normalized in windows when changes are few, whole when they are many', () => {
  const filler = (chars: number, accentEvery?: number) => {
    let out = ''
    for (let i = 0; out.length < chars; i++) out += accentEvery !== undefined && i % Math.max(1, Math.floor(accentEvery / 8)) === 0 ? 'caf\u00e9 ok ' : 'plain ok '
    return out.slice(0, chars)
  }
  const fullwidth = (s: string) => [...s].map((c) => (c >= '!' && c <= '~' ? String.fromCharCode(c.charCodeAt(0) + 0xfee0) : c)).join('')
  const bodyOf = (text: string) => ({ contentType: 'text/plain', contentEncoding: undefined, body: new Uint8Array(Buffer.from(text)) })
  const rulesOf = (text: string) => {
    const verdict = scanner.scanBody(bodyOf(text))
    if (!verdict.ok) throw new Error(verdict.reason)
    return verdict.findings.map((f) => `${f.rule}:${f.encoding ?? ''}`)
  }
  const shapes = [
    { name: 'one change in 40 KiB (windows)', before: filler(20_000), after: filler(20_000) },
    { name: 'an accent every 100 characters (whole)', before: filler(20_000, 100), after: filler(20_000, 100) },
  ]

  it.each(shapes)('$name: a fullwidth token is found', ({ before, after }) => {
    expect(rulesOf(`${before} ${fullwidth(token)} ${after}`)).toContain('github-pat:unicode')
  })

  it.each(shapes)('$name: a base64 secret far from any change is found', ({ before, after }) => {
    expect(rulesOf(`${before}\u00e9 ${after} ${b64(secret)} ${after}`).some((r) => r.startsWith('known-secret:') && r.includes('base64'))).toBe(true)
  })

  it.each(shapes)('$name: a near miss, fullwidth text and base64 of harmless words, finds nothing', ({ before, after }) => {
    expect(rulesOf(`${before} ${fullwidth('ghp_short')} ${after} ${b64('nothing to see in these words')} ${after}`)).toEqual([])
  })
})
