import { describe, expect, it } from 'vitest'
import { inForm, spellingsOf } from '../../../../sidecars/shared/secret-forms.js'

describe('spellingsOf', () => {
  it('has nothing for a value too short to redact', () => {
    expect(spellingsOf('short')).toEqual([])
  })

  it('lists each spelling once, longest first', () => {
    const value = 'abc/def+ghi"é-0123'
    const texts = spellingsOf(value).map((s) => s.text)
    expect(new Set(texts).size).toBe(texts.length)
    expect([...texts].sort((a, b) => b.length - a.length)).toEqual(texts)
    expect(texts).toEqual(
      expect.arrayContaining([
        value,
        encodeURIComponent(value),
        encodeURIComponent(value).replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase()),
        JSON.stringify(value).slice(1, -1),
        JSON.stringify(value).slice(1, -1).replaceAll('/', '\\/'),
        'abc/def+ghi\\"\\u00e9-0123',
      ]),
    )
  })

  it('finds the value inside base64 at every alignment, in both alphabets', () => {
    const value = 'tok_0123456789-secret?>>'
    const spellings = spellingsOf(value).filter((s) => s.form === 'base64')
    for (const prefix of ['', 'a', 'ab', 'user:', 'x-access-token:']) {
      for (const alphabet of ['base64', 'base64url'] as const) {
        const encoded = Buffer.from(`${prefix}${value}!`).toString(alphabet)
        expect(spellings.some((s) => encoded.includes(s.text))).toBe(true)
      }
    }
  })
})

describe('inForm', () => {
  it('writes a replacement the way the form spells text', () => {
    expect(inForm('as-is', 'a/b "c"')).toBe('a/b "c"')
    expect(inForm('percent-encoded', 'a/b "c"')).toBe('a%2Fb%20%22c%22')
    expect(inForm('json-escaped', 'a/b "c"')).toBe('a/b \\"c\\"')
  })
})
