import { execFileSync } from 'node:child_process'
import { Buffer } from 'node:buffer'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { byteClass, classRuns, encodingRuns } from '../../../../sidecars/dlp/byte-scan.js'
import { duringScan } from '../../../../sidecars/dlp/scan-arena.js'
import { compileKeywordAutomaton } from '../../../../sidecars/dlp/keyword-automaton.js'

/** Maximal runs of at least `min` members, the obvious way. */
function naiveRuns(bytes: Uint8Array, member: (c: number) => boolean, min: number): [number, number][] {
  const runs: [number, number][] = []
  let start = -1
  for (let i = 0; i <= bytes.length; i++) {
    const inside = i < bytes.length && (bytes[i] as number) > 0 && (bytes[i] as number) < 128 && member(bytes[i] as number)
    if (inside && start < 0) start = i
    if (!inside && start >= 0) {
      if (i - start >= min) runs.push([start, i])
      start = -1
    }
  }
  return runs
}

function runsOf(bytes: Uint8Array, member: (c: number) => boolean, min: number): [number, number][] {
  const out: [number, number][] = []
  classRuns(bytes, byteClass(member), min, (start, end) => void out.push([start, end]))
  return out
}

const alnum = (c: number) => /[A-Za-z0-9]/.test(String.fromCharCode(c))

describe('byte-scan module', () => {
  it('is the assembly of byte-scan.wat as committed', () => {
    // The committed base64 must be what the source assembles to, or the engine runs code nobody reviewed.
    expect(() => execFileSync(process.execPath, ['scripts/build-byte-scan-wasm.mjs', '--check'], { stdio: 'pipe' })).not.toThrow()
  })

  it('finds the same class runs as a byte-by-byte search', () => {
    const pieces = ['a', 'Z9', 'abcdefghijklmnop', 'x'.repeat(70), ' ', '-', '\u00e9', '\n', '0123456789ab']
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...pieces), { maxLength: 40 }), fc.integer({ min: 2, max: 64 }), (parts, min) => {
        const bytes = new Uint8Array(Buffer.from(parts.join(''), 'utf8'))
        expect(runsOf(bytes, alnum, min)).toEqual(naiveRuns(bytes, alnum, min))
      }),
      { numRuns: 400 },
    )
  })

  it('joins runs across the 64 KiB chunks the module reads', () => {
    for (const at of [65536 - 40, 65536 - 1, 65536, 65536 * 2 - 5]) {
      const bytes = new Uint8Array(65536 * 2 + 100).fill(0x20)
      bytes.fill(0x61, at, at + 50)
      bytes.fill(0x62, 65536 * 2 + 60, 65536 * 2 + 100)
      expect(runsOf(bytes, alnum, 12)).toEqual(naiveRuns(bytes, alnum, 12))
      expect(runsOf(bytes, alnum, 12)).toContainEqual([at, at + 50])
    }
    // One run over the whole of several chunks, ending with the text.
    const whole = new Uint8Array(65536 * 3).fill(0x41)
    expect(runsOf(whole, alnum, 24)).toEqual([[0, whole.length]])
  })

  it('stops at the first run when asked to', () => {
    const bytes = new Uint8Array(Buffer.from(`${'a'.repeat(20)} ${'b'.repeat(20)}`))
    const seen: number[] = []
    classRuns(bytes, byteClass(alnum), 12, (start) => {
      seen.push(start)
      return true
    })
    expect(seen).toEqual([0])
  })

  it('refuses run lengths the module cannot test', () => {
    expect(() => classRuns(new Uint8Array(8), byteClass(alnum), 65, () => {})).toThrow(/2\.\.64/)
  })

  it('finds keywords straddling the chunks the module reads, in bytes as in text', () => {
    const keywords = new Map<string, number[]>([
      ['password', [0]],
      ['pass', [1]],
      ['sk', [2]],
      ['ghp_', [3]],
    ])
    const automaton = compileKeywordAutomaton(keywords, new Set([0, 1, 2, 3]))
    for (const at of [65536 - 3, 65536 - 1, 65536, 65536 * 2 - 2]) {
      const filler = Buffer.alloc(65536 * 2 + 50, 'the quick brown fox ')
      Buffer.from('PassWord').copy(filler, at)
      filler.write('ghp_', filler.length - 4, 'latin1')
      const text = filler.toString('latin1')
      const collect = (input: string | Uint8Array) => {
        const owners = new Set<number>()
        const starts: string[] = []
        automaton.scan(input, (ids) => ids.forEach((id) => owners.add(id)), (owner, start) => starts.push(`${owner}@${start}`))
        return { owners: [...owners].sort(), starts: starts.sort() }
      }
      const viaBytes = collect(new Uint8Array(filler))
      expect(viaBytes).toEqual(collect(text))
      expect(viaBytes.starts).toEqual(expect.arrayContaining([`0@${at}`, `1@${at}`, `3@${filler.length - 4}`]))
    }
  })
})

describe('encodingRuns', () => {
  const encoding = (c: number) => /[A-Za-z0-9+/_-]/.test(String.fromCharCode(c))
  const pairs = (flat: readonly number[]) => Array.from({ length: flat.length / 2 }, (_, k) => [flat[2 * k], flat[2 * k + 1]])

  it('is every run of 12 or more base64 or base64url characters', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 3000 }).map((raw) => raw.map((b) => [65, 43, 95, 32, 46, 10][b % 6] as number)), (bytes) => {
        expect(pairs(encodingRuns(bytes))).toEqual(naiveRuns(bytes, encoding, 12))
      }),
    )
  })

  it('is read once per view during a scan, and again in the next scan or outside one', () => {
    const bytes = new Uint8Array(Buffer.from(`${'x'.repeat(30)} ${'y'.repeat(5)}`))
    duringScan(() => {
      const first = encodingRuns(bytes)
      expect(pairs(first)).toEqual([[0, 30]])
      expect(encodingRuns(bytes) === first).toBe(true)
    })
    // A view written again between scans (the arena reuses its memory) is read again.
    bytes.fill(32, 0, 10)
    duringScan(() => expect(pairs(encodingRuns(bytes))).toEqual([[10, 30]]))
    // Outside a scan nothing is kept.
    expect(pairs(encodingRuns(bytes))).toEqual([[10, 30]])
    bytes.fill(120)
    expect(pairs(encodingRuns(bytes))).toEqual([[0, 36]])
  })
})
