import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { LineSplitter } from '../../../../sidecars/git-gate/line-splitter.js'

function split(chunks: Buffer[], max: number): Array<[string, number]> {
  const lines: Array<[string, number]> = []
  const splitter = new LineSplitter((text, bytes) => lines.push([text, bytes]), max)
  for (const chunk of chunks) splitter.push(chunk)
  splitter.end()
  return lines
}

describe('LineSplitter', () => {
  const cases = [
    { name: 'lines across chunks', chunks: ['ab', 'c\nde', 'f\n'], max: 100, want: [['abc', 3], ['def', 3]] },
    { name: 'a last line without newline', chunks: ['a\nb'], max: 100, want: [['a', 1], ['b', 1]] },
    { name: 'empty lines', chunks: ['\n\n'], max: 100, want: [['', 0], ['', 0]] },
    { name: 'a long line kept to the cap, counted whole', chunks: ['0123456789', '0123456789\nx\n'], max: 4, want: [['0123', 20], ['x', 1]] },
  ]
  it.each(cases)('$name', ({ chunks, max, want }) => {
    expect(split(chunks.map((c) => Buffer.from(c)), max)).toEqual(want)
  })

  it('splits the same way however the bytes are chunked (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ unit: fc.constantFrom('a', 'b', '\n', 'é') }), { maxLength: 20 }), fc.integer({ min: 1, max: 7 }), (parts, size) => {
        const text = Buffer.from(parts.join(''))
        const chunks: Buffer[] = []
        for (let i = 0; i < text.length; i += size) chunks.push(text.subarray(i, i + size))
        expect(split(chunks, 1000)).toEqual(split([text], 1000))
      }),
    )
  })
})
