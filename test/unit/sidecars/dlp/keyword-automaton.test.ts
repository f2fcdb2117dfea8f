import { Buffer } from 'node:buffer'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { compileKeywordAutomaton } from '../../../../sidecars/dlp/keyword-automaton.js'

const KEYWORDS = new Map<string, number[]>([
  ['api-key', [0]],
  ['key-', [1]],
  ['ghp_', [2]],
  ['sk-ant-', [3]],
  ['sk-', [4]],
  ['password', [5]],
  ['pass', [6]],
])
const automaton = compileKeywordAutomaton(KEYWORDS)
const owners = (text: string) => {
  const found = new Set<number>()
  automaton.scan(text, (ids) => ids.forEach((id) => found.add(id)))
  return [...found].sort((a, b) => a - b)
}

describe('keyword automaton', () => {
  it.each([
    { name: 'nothing', text: 'hello world', want: [] },
    { name: 'one keyword', text: 'x ghp_y', want: [2] },
    { name: 'a keyword starting inside another', text: 'api-key-1', want: [0, 1] },
    { name: 'a keyword that is a suffix of another', text: 'sk-ant-x', want: [3, 4] },
    { name: 'a keyword inside another', text: 'password', want: [5, 6] },
    { name: 'any case', text: 'PassWord GHP_', want: [2, 5, 6] },
    { name: 'non-ASCII between letters', text: 'pa\u00e9ss ghp\u200b_', want: [] },
    { name: 'at the very end', text: 'xxsk-', want: [4] },
  ])('finds $name', ({ text, want }) => {
    expect(owners(text)).toEqual(want)
  })

  it('reports each keyword once per scan, however often it occurs', () => {
    let calls = 0
    automaton.scan('ghp_ ghp_ ghp_', () => calls++)
    expect(calls).toBe(1)
    automaton.scan('ghp_', () => calls++)
    expect(calls).toBe(2)
  })

  it('finds exactly the keywords a substring search finds', () => {
    const pieces = ['api', '-', 'key', 'ghp', '_', 'sk', 'ant', 'pass', 'word', 'PASS', 'x', ' ', 'é']
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...pieces), { maxLength: 12 }), (parts) => {
        const text = parts.join('')
        const naive = [...KEYWORDS].filter(([k]) => text.toLowerCase().includes(k)).flatMap(([, ids]) => ids)
        expect(owners(text)).toEqual(naive.sort((a, b) => a - b))
      }),
      { numRuns: 500 },
    )
  })

  it('refuses keywords it cannot index', () => {
    expect(() => compileKeywordAutomaton(new Map([['clé', [0]]]))).toThrow(/not ASCII/)
  })
})

describe('keyword automaton over bytes and keyword starts', () => {
  const tracked = compileKeywordAutomaton(KEYWORDS, new Set([5, 6]))
  const pieces = ['api', '-', 'key', 'ghp', '_', 'sk', 'ant', 'pass', 'word', 'PASS', 'x', ' ']

  it('finds the same keywords in a text and in its bytes', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...pieces, 'é', '\u200b'), { maxLength: 12 }), (parts) => {
        const text = parts.join('')
        const viaBytes = new Set<number>()
        automaton.scan(new Uint8Array(Buffer.from(text, 'utf8')), (ids) => ids.forEach((id) => viaBytes.add(id)))
        expect([...viaBytes].sort((a, b) => a - b)).toEqual(owners(text))
      }),
      { numRuns: 500 },
    )
  })

  it('reports where every occurrence of a tracked keyword starts', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...pieces), { maxLength: 12 }), (parts) => {
        const text = parts.join('')
        const lower = text.toLowerCase()
        const naive: string[] = []
        for (const [keyword, ids] of KEYWORDS) {
          for (const id of ids.filter((i) => i === 5 || i === 6)) {
            for (let at = lower.indexOf(keyword); at >= 0; at = lower.indexOf(keyword, at + 1)) naive.push(`${id}@${at}`)
          }
        }
        for (const input of [text, new Uint8Array(Buffer.from(text, 'latin1'))]) {
          const found: string[] = []
          tracked.scan(input, () => {}, (owner, start) => found.push(`${owner}@${start}`))
          expect(found.sort()).toEqual([...naive].sort())
        }
      }),
      { numRuns: 500 },
    )
  })
})

describe('keyword automaton skipping bytes at the root', () => {
  // Two-letter keywords, keywords sharing their first pair, and a pair that begins keywords only as a prefix.
  const keywords = new Map<string, number[]>([
    ['sk', [0]],
    ['q~', [1]],
    ['ska', [2]],
    ['pass', [3]],
    ['pat', [4]],
    ['-us', [5]],
  ])
  const skipping = compileKeywordAutomaton(keywords)
  const pieces = ['s', 'k', 'a', 'p', 'S', 'K', 'A', 'P', 't', 'q', '~', '-', 'u', 'us', 'pa', 'ss', ' ', 'x', 'é']

  it('finds in bytes exactly the keywords a substring search finds', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...pieces), { maxLength: 16 }), (parts) => {
        const text = parts.join('')
        const lower = text.toLowerCase()
        const naive = [...keywords].filter(([k]) => lower.includes(k)).flatMap(([, ids]) => ids)
        const found = new Set<number>()
        skipping.scan(new Uint8Array(Buffer.from(text, 'utf8')), (ids) => ids.forEach((id) => found.add(id)))
        expect([...found].sort((a, b) => a - b)).toEqual(naive.sort((a, b) => a - b))
      }),
      { numRuns: 1000 },
    )
  })
})
