import fc from 'fast-check'
import { describe, expect, it, vi } from 'vitest'
import type { TextDocument } from '../../../../sidecars/dlp/inspect-document.js'
import { jsonDocument, lazyJsonDocument, stringTokens } from '../../../../sidecars/dlp/json-document.js'

const allSafe = () => true
const locateText = (raw: string, needle: string, isSafe: (n: string) => boolean = allSafe) => {
  const doc = jsonDocument(raw, 'body', isSafe)
  if (!doc) throw new Error('not JSON')
  return doc.locate([raw.indexOf(needle)])[0]
}

describe('jsonDocument', () => {
  it.each([
    { raw: '"NEEDLE"', want: 'body.json:$' },
    { raw: '{"a": "NEEDLE"}', want: 'body.json:$.a' },
    { raw: '{"NEEDLE": 1}', want: 'body.json:$.NEEDLE' },
    { raw: '{"a": {"b": ["x", "NEEDLE"]}}', want: 'body.json:$.a.b[1]' },
    { raw: '{"a": [1, {"b": 2}, {"c": "NEEDLE"}]}', want: 'body.json:$.a[2].c' },
    { raw: '[[1, 2], [3, "NEEDLE"]]', want: 'body.json:$[1][1]' },
    { raw: '{"a": 1, "b": "x", "c": "NEEDLE"}', want: 'body.json:$.c' },
    { raw: '{"content-type": "NEEDLE"}', want: 'body.json:$["content-type"]' },
    { raw: '{"a\\"b": 1, "c": "NEEDLE"}', want: 'body.json:$.c' },
    { raw: '{"a": "}{][,:", "c": "NEEDLE"}', want: 'body.json:$.c' },
    { raw: '{"n": 12345678901234567890, "m": "NEEDLE"}', want: 'body.json:$.m' },
  ])('locates the needle in $raw', ({ raw, want }) => {
    expect(locateText(raw, 'NEEDLE')).toBe(want)
  })

  it('locates a number value', () => {
    const raw = '{"a": {"n": 31415926535}}'
    expect(locateText(raw, '31415')).toBe('body.json:$.a.n')
  })

  it('withholds key names that fail the name check', () => {
    expect(locateText('{"ok": {"hidden-key": {"x": "NEEDLE"}}}', 'NEEDLE', (n) => n !== 'hidden-key')).toBe('body.json:$.ok[#0].x')
  })

  it.each([
    { name: 'no range and no escapes', raw: '{"a": "b", "c": ["d"]}', ranges: [], want: [] },
    { name: 'a range inside one value', raw: '{"a": "b", "c": ["ddd"]}', ranges: [[19, 20]], want: ['ddd'] },
    { name: 'an escaped value, whatever the ranges', raw: '{"a": "\\n", "c": "d"}', ranges: [], want: ['\n'] },
  ] as const)('builds only the parts needed: $name', ({ raw, ranges, want }) => {
    expect(jsonDocument(raw, 'body', allSafe)?.segmentsFor(ranges).map((s) => s.text)).toEqual(want)
  })

  it('is undefined for malformed JSON', () => {
    expect(jsonDocument('{"a": ', 'body', allSafe)).toBeUndefined()
  })

  it('decodes escaped strings and marks them as not covered by the raw text', () => {
    const raw = '{"k": "\\u0067hp"}'
    const doc = jsonDocument(raw, 'body', allSafe)
    expect(doc?.segmentsFor([[0, raw.length]]).map((s) => [s.text, s.rawCovered])).toEqual([
      ['k', true],
      ['ghp', false],
    ])
  })
})

describe('lazyJsonDocument', () => {
  const asText = (raw: string): TextDocument => ({ raw, segmentsFor: () => [{ text: raw, rawStart: 0, rawEnd: raw.length, rawCovered: true }], locate: (o) => o.map(() => 'body.text') })

  it('selects nothing and never parses a body without escapes or ranges', () => {
    const parse = vi.spyOn(JSON, 'parse')
    try {
      expect(lazyJsonDocument('{"a": "b"', 'body', allSafe, () => asText('{"a": "b"')).segmentsFor([])).toEqual([])
      expect(parse).not.toHaveBeenCalled()
    } finally {
      parse.mockRestore()
    }
  })

  it.each([
    { name: 'valid JSON locates by path', raw: '{"a": "NEEDLE"}', want: 'body.json:$.a' },
    { name: 'malformed JSON reads as text', raw: '{"a": "NEEDLE",', want: 'body.text' },
  ])('$name', ({ raw, want }) => {
    expect(lazyJsonDocument(raw, 'body', allSafe, () => asText(raw)).locate([raw.indexOf('NEEDLE')])).toEqual([want])
  })

  it('gives the escaped parts of valid JSON', () => {
    const raw = '{"k": "\\u0067hp"}'
    expect(lazyJsonDocument(raw, 'body', allSafe, () => asText(raw)).segmentsFor([]).map((s) => s.text)).toEqual(['ghp'])
  })
})

describe('string tokens', () => {
  // The definition: a JSON string literal found by a regex scan, left to right.
  const byRegex = (raw: string) =>
    [...raw.matchAll(/"[^"\\]*(?:\\.[^"\\]*)*"/g)].map((m) => ({ start: m.index, end: m.index + m[0].length, escaped: m[0].includes('\\') }))
  const pieces = ['"', '"', 'a', ' ', ':', ',', '{', '}', '[', ']', '\n', 'é', '\\', '\\"', '\\n', 'x"y']

  it('are what the regex finds, with or without backslashes', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...pieces), { maxLength: 40 }), (parts) => {
        const raw = parts.join('')
        expect(stringTokens(raw)).toEqual(byRegex(raw))
      }),
      { numRuns: 3000 },
    )
  })

  it('an unterminated literal is no token', () => {
    expect(stringTokens('{"a": "b')).toEqual([{ start: 1, end: 4, escaped: false }])
  })
})
