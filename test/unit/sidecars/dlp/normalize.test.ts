import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { foldConfusables } from '../../../../sidecars/dlp/confusables.js'
import { MAX_NORMALIZATION_ROUNDS, normalize, normalizeDetailed, percentDecodeFully } from '../../../../sidecars/dlp/normalize.js'

const tag = (ascii: string) => [...ascii].map((c) => String.fromCodePoint(0xe0000 + c.charCodeAt(0))).join('')

describe('normalize', () => {
  it.each([
    // percent-decoding, to a fixpoint
    { name: 'percent-encoded letters', input: '%67hp_', want: 'ghp_' },
    { name: 'double percent-encoding', input: '%2567hp_', want: 'ghp_' },
    { name: 'five layers', input: '%2525252567', want: 'g' },
    { name: 'a triple completed by decoding', input: '%%34%31', want: 'A' },
    { name: 'a triple split by an escaped digit', input: '%4%31', want: 'A' },
    { name: 'a lone percent', input: '100% sure', want: '100% sure' },
    { name: 'a non-hex escape', input: '%zz%4', want: '%zz%4' },
    { name: 'UTF-8 escapes', input: '%E2%82%AC', want: '€' },
    { name: 'plus is not a space', input: 'a+b', want: 'a+b' },
    // invisible characters
    { name: 'zero-width joiners', input: 'g\u200bh\u200cp\u200d_\u2060x', want: 'ghp_x' },
    { name: 'a byte-order mark', input: '\ufeffabc', want: 'abc' },
    { name: 'exotic spaces', input: 'a\u00a0b\u2009c\u3000d\u202fe', want: 'abcde' },
    { name: 'C0 and C1 controls', input: 'a\u0000b\u0007c\u0085d\u007fe', want: 'abcde' },
    { name: 'bidi controls', input: 'a\u202eb\u2066c\u200fd', want: 'abcd' },
    { name: 'a soft hyphen', input: 'AK\u00adIA', want: 'AKIA' },
    { name: 'variation selectors', input: 'a\ufe0fb', want: 'ab' },
    { name: 'tab, newline and CR stay', input: 'a\tb\nc\r\n', want: 'a\tb\nc\r\n' },
    { name: 'Unicode tag characters spell ASCII', input: `x${tag('ghp')}y`, want: 'xghpy' },
    // NFKC and combining marks
    { name: 'fullwidth forms', input: 'ｇｈｐ＿ＡＢＣ１２３', want: 'ghp_ABC123' },
    { name: 'mathematical bold', input: '𝐀𝐊𝐈𝐀', want: 'AKIA' },
    { name: 'circled letters', input: 'ⓐⓑ', want: 'ab' },
    { name: 'superscripts', input: 'x²', want: 'x2' },
    { name: 'combining accents', input: 'g\u0301h\u0308p', want: 'ghp' },
    { name: 'precomposed accents', input: 'café', want: 'cafe' },
    // confusables
    { name: 'Cyrillic capitals', input: 'АКІА', want: 'AKIA' },
    { name: 'Greek capitals', input: 'ΑΚΙΑ', want: 'AKIA' },
    { name: 'one Cyrillic letter', input: 'ghр_', want: 'ghp_' },
    { name: 'dashes for hyphens', input: 'sk\u2013ant\u2014api03\u2212x\u2010y\u2011z', want: 'sk-ant-api03-x-y-z' },
    { name: 'slashes and a colon', input: 'https\u2236\u2215\u2215host\u2044p', want: 'https://host/p' },
    { name: 'letters with a stroke', input: 'sk_live_x9dQø2ŁħŦ7ƀƵ4ŧĸm8Wǥ3Rŋ5Đ', want: 'sk_live_x9dQo2LhT7bZ4tkm8Wg3Rn5D' },
    { name: 'dots for a JWT', input: 'eyJa\u00B7eyJb\u2027c\u30FBd\u22C5e', want: 'eyJa.eyJb.c.d.e' },
    { name: 'underscores', input: 'sk\u02CDlive\u2017x', want: 'sk_live_x' },
    { name: 'an underline under the character before', input: 'sk\u0332live', want: 'sk_live' },
    // steps feeding each other
    { name: 'fullwidth percent', input: '％６７hp', want: 'ghp' },
    { name: 'a zero-width character inside an escape', input: '%6\u200b7hp', want: 'ghp' },
    { name: 'an escaped fullwidth percent', input: '%EF%BC%8567hp', want: 'ghp' },
    { name: 'plain ASCII', input: 'GET /v1/messages HTTP/1.1', want: 'GET /v1/messages HTTP/1.1' },
  ])('$name', ({ input, want }) => {
    expect(normalize(input)).toBe(want)
  })

  it.each([
    { input: 'ghp_', steps: [] },
    { input: '%67', steps: ['url-encoded'] },
    { input: 'g\u200bh', steps: ['zero-width'] },
    { input: `a${tag('b')}`, steps: ['unicode-tags'] },
    { input: 'ｇ', steps: ['unicode'] },
    { input: 'АКІА', steps: ['confusable'] },
    { input: '%EF%BC%8567', steps: ['url-encoded', 'unicode'] },
  ])('reports the steps that changed $input', ({ input, steps }) => {
    expect(normalizeDetailed(input).steps).toEqual(steps)
  })

  it('decodes any depth of percent-encoding in one linear pass', () => {
    let text = 'g'
    for (let i = 0; i < 200; i++) text = text.replace(/%/g, '%25').replace(/^g$/, '%67')
    expect(percentDecodeFully(text)).toBe('g')
  })

  // One more round needs each `%` hidden as an escaped fullwidth `%` (`%EF%BC%85`), tripling the input.
  const nested = (rounds: number) => {
    let text = '%67'
    for (let i = 1; i < rounds; i++) text = text.replace(/%/g, '%EF%BC%85')
    return text
  }

  it.each([1, 2, 3, 4, 5])('settles an input that needs %i rounds', (rounds) => {
    const result = normalizeDetailed(nested(rounds), rounds + 1)
    expect(result).toMatchObject({ text: 'g', exhausted: false })
  })

  it('reports an input that does not settle within the round cap', () => {
    expect(normalizeDetailed(nested(5), 3)).toMatchObject({ exhausted: true })
    expect(normalizeDetailed(nested(5)).exhausted).toBe(false)
    expect(MAX_NORMALIZATION_ROUNDS).toBeGreaterThanOrEqual(8)
  })
})

const tricky = ['%', '2', '5', '6', '7', 'E', 'F', 'B', 'C', '8', 'A', 'g', '\u200b', '％', '６', 'е', 'А', '\u0301', '\u00a0', '\u0000', tag('Q'), 'é', 'ｇ']

describe('normalize is idempotent', () => {
  it('on arbitrary Unicode', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 40 }), (text) => {
        const once = normalize(text)
        expect(normalize(once)).toBe(once)
      }),
      { numRuns: 2000 },
    )
  })

  it('on strings built from escapes, invisibles, look-alikes and marks', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...tricky), { maxLength: 30 }), (parts) => {
        const once = normalize(parts.join(''))
        expect(normalize(once)).toBe(once)
      }),
      { numRuns: 3000 },
    )
  })
})

/**
 * The definition the engine's cluster-by-cluster round must agree with:
 * every step over the whole text at once.
 */
function wholeTextRound(text: string): string {
  const decoded = percentDecodeFully(text)
  const visible = decoded.replace(
    /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u00A0\u00AD\u034F\u061C\u115F\u1160\u1680\u17B4\u17B5\u180B-\u180F\u2000-\u200F\u2028-\u202F\u205F-\u206F\u3000\u3164\uFE00-\uFE0F\uFEFF\uFFA0]|\uDB40[\uDD00-\uDDEF]/g,
    '',
  )
  const untagged = visible.replace(/\uDB40[\uDC00-\uDC7F]/g, (pair) => {
    const code = pair.charCodeAt(1) - 0xdc00
    return code >= 0x20 && code <= 0x7e ? String.fromCharCode(code) : ''
  })
  return foldConfusables(foldConfusables(untagged).normalize('NFD').replace(/[\p{Mn}\p{Me}]/gu, '').normalize('NFKC'))
}

function wholeTextNormalize(text: string): string {
  let current = text
  for (let i = 0; i < MAX_NORMALIZATION_ROUNDS; i++) {
    const next = wholeTextRound(current)
    if (next === current) return current
    current = next
  }
  return current
}

// Characters whose normalization depends on their neighbours: combining marks, Hangul jamo that compose,
// spacing vowel signs that compose with the consonant before them (Tamil, Bengali), and the invisibles between.
const contextual = [
  'e', 'a', ' ', '\n', 'x', '%', '4', '1', '\u0301', '\u0308', '\u0327', '\u1100', '\u1161', '\u11a8', '\uac00', '\u0bc6', '\u0bbe', '\u09c7',
  '\u09be', '\u0b47', '\u0b3e', '\u200b', '\u00ad', '\u2014', 'é', 'ﬁ', '㎏', 'Å', '\u212b', 'ｇ', '％', tag('A'), '\ud800', '\udc00', 'р',
]

describe('the cluster-by-cluster round equals the whole-text definition', () => {
  it('on strings built from characters that compose with their neighbours', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...contextual, ...tricky), { maxLength: 40 }), (parts) => {
        const text = parts.join('')
        expect(normalize(text)).toBe(wholeTextNormalize(text))
      }),
      { numRuns: 5000 },
    )
  })

  it('on arbitrary Unicode', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 60 }), (text) => {
        expect(normalize(text)).toBe(wholeTextNormalize(text))
      }),
      { numRuns: 5000 },
    )
  })

  it('on long texts, which are rebuilt as one-byte strings when the fold fits them', () => {
    // Prose a few thousand characters long, with accents, dashes and, in some runs, a character past U+00FF that stays.
    const prose = ['the ', 'café ', 'naïve ', '— ', 'x\u2013y ', '£5 ', 'A\u0301 ', '%41 ', '\n']
    for (const pieces of [prose, [...prose, ...contextual]]) {
      fc.assert(
        fc.property(fc.array(fc.constantFrom(...pieces), { minLength: 900, maxLength: 1400 }), (parts) => {
          const text = parts.join('')
          expect(normalize(text)).toBe(wholeTextNormalize(text))
        }),
        // Shrinking a thousand-piece text takes minutes: the first failure is reported as found.
        { numRuns: 100, endOnFailure: true },
      )
    }
  })

  it('folds characters that compose with each other as one run', () => {
    expect(normalize('ca\u0301fe\u0301 x')).toBe('cafe x')
    expect(normalize('\u1100\u200b\u1161')).toBe('\uac00')
    expect(normalize(`a${tag('B')}c`)).toBe('aBc')
  })
})
