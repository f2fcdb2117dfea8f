import { Buffer } from 'node:buffer'
import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { charBytesOf, decodeEscapes, decodeVariants, findEncodedRuns, type DecodeBudget } from '../../../../sidecars/dlp/decode-variants.js'

const plenty = (): DecodeBudget => ({ remaining: 1_000_000, exceeded: false })
const decodedTexts = (text: string, budget = plenty()) => [...decodeVariants(text, budget)].map((v) => ('problem' in v ? `${v.kind}:${v.problem}` : `${v.kind}:${v.text}`))
const b64 = (text: string) => Buffer.from(text).toString('base64')
const payload = 'the value is s3cr3t-payload-2024'

describe('findEncodedRuns', () => {
  it.each([
    { name: 'base64 between quotes', text: `"${b64(payload)}"`, want: ['base64'] },
    { name: 'hex after a colon', text: `id:${Buffer.from(payload).toString('hex')}`, want: ['hex'] },
    { name: 'upper-case hex', text: Buffer.from(payload).toString('hex').toUpperCase(), want: ['hex'] },
    { name: 'mixed-case hex (also tried as base64)', text: '7a3F9b1C8d2E4f6A0b5c', want: ['hex', 'base64'] },
    { name: 'base64 of base64 (mostly upper case)', text: 'UVVGQlFVRkJRVUZC', want: ['base64'] },
    { name: 'a camelCase identifier', text: 'createScannerWithOptions', want: [] },
    { name: 'a short base64 word', text: 'aGVsbG8=', want: [] },
    { name: 'a short hex number', text: 'deadbeef', want: [] },
    { name: 'prose', text: 'the quick brown fox jumps over the lazy dog', want: [] },
  ])('$name', ({ text, want }) => {
    expect(findEncodedRuns(text).map((r) => r.kind)).toEqual(want)
  })
})

describe('decodeVariants', () => {
  it.each([
    { name: 'standard base64', text: b64(payload) },
    { name: 'base64 without padding', text: b64(payload).replace(/=+$/, '') },
    { name: 'url-safe base64', text: Buffer.from(`??>>${payload}`).toString('base64url') },
    { name: 'base64 behind one stray character', text: `x${b64(payload)}` },
    { name: 'base64 behind two stray characters', text: `xy${b64(payload)}` },
    { name: 'base64 behind three stray characters', text: `xyz${b64(payload)}` },
    { name: 'lower-case hex', text: Buffer.from(payload).toString('hex') },
    { name: 'hex behind a stray digit', text: `7${Buffer.from(payload).toString('hex')}` },
  ])('reveals the payload in $name', ({ text }) => {
    expect(decodedTexts(text).some((t) => t.includes('s3cr3t-payload-2024'))).toBe(true)
  })

  it.each([0, 1, 2])('finds a value at byte alignment %i inside longer base64', (align) => {
    const text = b64(`${'#'.repeat(align)}${payload}${'!'.repeat(5)}`)
    expect(decodedTexts(text).some((t) => t.includes('s3cr3t-payload-2024'))).toBe(true)
  })

  it('skips binary decodings that cannot hold 8 printable characters in a row', () => {
    const noise = Buffer.from(Array.from({ length: 64 }, (_, i) => 0x80 + ((i * 37) % 128))).toString('base64')
    expect([...decodeVariants(noise, plenty())]).toEqual([])
  })

  it.each([
    { name: 'ASCII inside binary', bytes: Buffer.concat([Buffer.from([0xff, 0xfe, 0x80]), Buffer.from('printable-run-here'), Buffer.from([0x90, 0x91])]) },
    { name: 'UTF-16 inside binary', bytes: Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('printable', 'utf16le'), Buffer.from([0x90])]) },
  ])('keeps $name, marked not printable', ({ bytes }) => {
    const variants = [...decodeVariants(bytes.toString('base64'), plenty())]
    expect(variants.some((v) => !('problem' in v) && !v.printable && v.text.replace(/\0/g, '').includes('printable'))).toBe(true)
  })

  it('stops when the budget is spent and says so', () => {
    const budget: DecodeBudget = { remaining: 10, exceeded: false }
    expect(decodedTexts(b64(payload), budget)).toEqual([])
    expect(budget.exceeded).toBe(true)
  })
})

describe('decodeEscapes', () => {
  it.each([
    { input: '\\x67\\x68\\x70_', want: 'ghp_' },
    { input: '\\u0067hp_', want: 'ghp_' },
    { input: '\\u{67}hp_', want: 'ghp_' },
    { input: '&#x67;&#104;p_', want: 'ghp_' },
    { input: '&#103hp_', want: 'ghp_' },
    { input: '\\147\\150\\160_', want: 'ghp_' },
    { input: '\\303\\251t\\303\\251', want: 'été' },
    { input: 'C:\\users\\x', want: undefined },
    { input: 'C:\\8am\\19\\477', want: undefined },
    { input: 'no escapes', want: undefined },
  ])('$input', ({ input, want }) => {
    expect(decodeEscapes(input)).toBe(want)
  })
})

describe('findEncodedRuns on URL paths', () => {
  it.each([
    { name: 'a REST path', text: '/repos/me/app/pulls/12', want: [] },
    { name: 'a path after a host', text: 'api.example.com/v1/items/123', want: [] },
    { name: 'a path holding a base64 piece', text: `/v1/blob/${b64(payload)}/raw`, want: ['base64'] },
    { name: 'base64 with slashes in it', text: 'QUJD/RUZH/SElK/TE1OT1BRUlNUVVZXWFla', want: ['base64'] },
  ])('$name', ({ text, want }) => {
    expect(findEncodedRuns(text).map((r) => r.kind)).toEqual(want)
  })
})

describe('findEncodedRuns reads base64 in capitals and digits only', () => {
  // Base64 of base64 of upper-case text: no lower case at all, yet not hex and not a name.
  it.each(['UVVGSVFVOUJRVUZC', 'UVVGSVFVRXVRVUZC'])('%s', (run) => {
    expect(findEncodedRuns(`x ${run} y`).filter((r) => r.kind === 'base64')).toEqual([{ kind: 'base64', start: 2, end: 2 + run.length }])
  })
})

describe('findEncodedRuns skips identifiers', () => {
  it.each(['base64EncodeUtf8String', 'createScannerWithOptions', 'getElementById2024', 'aaaaaaaaaaaaaaaaaaaa', 'AWS_SECRET_ACCESS_KEY_ID', 'DEADBEEF0BADF00D1234', 'ABABABABABABABAB'])('%s', (identifier) => {
    expect(findEncodedRuns(identifier).filter((r) => r.kind === 'base64')).toEqual([])
  })
})

describe('findEncodedRuns reports what normalization acts on', () => {
  it.each([
    { name: 'plain ASCII', text: 'GET /v1/messages?a=1&b=2', want: [] },
    { name: 'a percent escape', text: 'a%41b', want: [[1, 2]] },
    { name: 'a backslash escape', text: 'x\\u0041', want: [[1, 2]] },
    { name: 'an HTML entity, not a bare ampersand', text: 'a&b&#65;', want: [[3, 4]] },
    { name: 'neighbouring non-ASCII characters as one range', text: 'ab\u200b\u200bcd é', want: [[2, 4], [7, 8]] },
    { name: 'controls but not tab or newline', text: 'a\tb\nc\u0000d', want: [[5, 6]] },
  ])('$name', ({ text, want }) => {
    const actedOn: [number, number][] = []
    findEncodedRuns(text, actedOn)
    expect(actedOn).toEqual(want)
  })
})

describe('findEncodedRuns over the text bytes', () => {
  // The byte path probes every 12th byte and finds acted-on bytes with memchr; it must find what the character loop finds.
  const pieces = ['a', 'Z', '0', '9', '+', '/', '_', '-', ' ', '.', '%', '\\', '&', '#', '&#', '\x01', '\x7f', '\t', '\n', 'QUJDREVGR0hJSktM', 'deadbeefcafe0123', 'createScannerWithOptions', 'src/app/items/12']
  const same = (text: string, bytes: Uint8Array) => {
    for (const gap of [0, 3]) {
      const viaChars: [number, number][] = []
      const viaBytes: [number, number][] = []
      expect(findEncodedRuns(text, viaBytes, bytes, gap)).toEqual(findEncodedRuns(text, viaChars, undefined, gap))
      expect(viaBytes).toEqual(viaChars)
    }
    expect(findEncodedRuns(text, undefined, bytes)).toEqual(findEncodedRuns(text))
  }

  it('finds the same runs and acted-on ranges in ASCII', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...pieces), { maxLength: 40 }), (parts) => {
        const text = parts.join('')
        same(text, new Uint8Array(Buffer.from(text, 'latin1')))
      }),
      { numRuns: 500 },
    )
  })

  it('finds the same runs and acted-on ranges in latin1 (binary) text', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.array(fc.constantFrom(...pieces), { maxLength: 10 }), (noise, parts) => {
        const bytes = new Uint8Array(Buffer.concat([Buffer.from(parts.join(''), 'latin1'), Buffer.from(noise)]))
        same(Buffer.from(bytes).toString('latin1'), bytes)
      }),
      { numRuns: 300 },
    )
  })

  it('finds the same runs and acted-on ranges in text with characters beyond ASCII, read as one byte each', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...pieces, '\u00e9', '\u2014', '\u65e5\u672c', '\u00a0'), { maxLength: 60 }), (parts) => {
        const text = parts.join('')
        same(text, charBytesOf(text))
      }),
      { numRuns: 500 },
    )
  })
})

describe('findEncodedRuns merges acted-on characters within a gap', () => {
  const escaped = `${'\\n'.repeat(300)}x`
  it.each([
    { name: 'apart by more than the gap', text: 'a%bcdef%g', gap: 3, want: [[1, 2], [7, 8]] },
    { name: 'apart by the gap', text: 'a%bcd%g', gap: 3, want: [[1, 6]] },
    { name: 'no gap: only neighbours merge', text: '%%a%', gap: 0, want: [[0, 2], [3, 4]] },
    // Dense escapes take the byte loop rather than one memchr call per hit.
    { name: 'hundreds of escapes', text: escaped, gap: 4, want: [[0, escaped.length - 2]] },
  ])('$name', ({ text, gap, want }) => {
    for (const bytes of [undefined, new Uint8Array(Buffer.from(text, 'latin1'))]) {
      const actedOn: [number, number][] = []
      findEncodedRuns(text, actedOn, bytes, gap)
      expect(actedOn).toEqual(want)
    }
  })
})
