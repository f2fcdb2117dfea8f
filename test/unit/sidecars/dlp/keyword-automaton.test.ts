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
