import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'

const MiB = 1024 * 1024

type Arena = typeof import('../../../../sidecars/dlp/scan-arena.js')
let duringScan: Arena['duringScan']
let scanBytes: Arena['scanBytes']
let ARENA_MAX_BYTES: number

// Buffers are compared by identity into a boolean: a failing toBe would print megabytes of bytes.

/** Fills each view with its own byte and checks, at the end, that none was written over by another. */
function distinctViews(lengths: readonly number[]): Buffer[] {
  const views = lengths.map((length, i) => scanBytes(length).fill(i + 1))
  views.forEach((view, i) => expect(view.every((b) => b === i + 1)).toBe(true))
  return views
}

describe('scan arena', () => {
  // The arena is module state: every test starts from a fresh module, with clocks it controls.
  beforeEach(async () => {
    vi.useFakeTimers()
    vi.resetModules()
    ;({ duringScan, scanBytes, ARENA_MAX_BYTES } = await import('../../../../sidecars/dlp/scan-arena.js'))
  })
  afterEach(() => {
    vi.useRealTimers()
  })

  it('hands out views that never overlap within a scan, nested scans included', () => {
    duringScan(() => {
      const outer = scanBytes(1000).fill(0xaa)
      const inner = duringScan(() => distinctViews([1, 7, 8, 4096, 3]))
      const after = scanBytes(5000).fill(0xbb)
      expect(outer.every((b) => b === 0xaa)).toBe(true)
      inner.forEach((view, i) => expect(view.every((b) => b === i + 1)).toBe(true))
      expect(after.every((b) => b === 0xbb)).toBe(true)
    })
  })

  it('reuses the same memory for the next scan', () => {
    const first = duringScan(() => scanBytes(64 * 1024))
    const second = duringScan(() => scanBytes(64 * 1024))
    expect(second.buffer === first.buffer).toBe(true)
    expect(second.byteOffset).toBe(first.byteOffset)
  })

  it('gives fresh memory outside a scan', () => {
    const a = scanBytes(4096)
    const b = scanBytes(4096)
    expect(a.buffer === b.buffer).toBe(false)
  })

  it('gives fresh memory past its bound', () => {
    const [inside, past] = duringScan(() => [scanBytes(16), scanBytes(ARENA_MAX_BYTES + 1)])
    expect(past?.buffer === inside?.buffer).toBe(false)
    expect(past?.length).toBe(ARENA_MAX_BYTES + 1)
  })

  it('makes room for a second view as long as the first, whatever the lengths', () => {
    const [first, second] = duringScan(() => distinctViews([1_000_001, 1_000_001]))
    expect(second?.buffer === first?.buffer).toBe(true)
  })

  it('sizes the next arena for everything the last scan asked for', () => {
    const [small, large] = duringScan(() => [scanBytes(2 * MiB), scanBytes(10 * MiB)])
    // The arena made for the first view holds 4 MiB: the second could not fit after it.
    expect(large?.buffer === small?.buffer).toBe(false)
    const [again, fits] = duringScan(() => distinctViews([2 * MiB, 10 * MiB]))
    expect(fits?.buffer === again?.buffer).toBe(true)
  })

  it('lets a large arena go once idle, and keeps a small one', () => {
    const large = duringScan(() => scanBytes(4 * MiB))
    vi.advanceTimersByTime(29_000)
    expect(duringScan(() => scanBytes(4 * MiB)).buffer === large.buffer).toBe(true)
    vi.advanceTimersByTime(31_000)
    const replaced = duringScan(() => scanBytes(4 * MiB))
    expect(replaced.buffer === large.buffer).toBe(false)

    // Once the scans ask for little, the arena made for them is small, and stays.
    vi.advanceTimersByTime(31_000)
    duringScan(() => scanBytes(1024))
    vi.advanceTimersByTime(31_000)
    const small = duringScan(() => scanBytes(1024))
    vi.advanceTimersByTime(120_000)
    expect(duringScan(() => scanBytes(1024)).buffer === small.buffer).toBe(true)
  })

  it('keeps a scan\'s byte views intact while it runs, and findings the same when scans share memory', async () => {
    const { createScanner } = await import('../../../../sidecars/dlp/index.js')
    const scanner = createScanner()
    // An AWS key id with an accented first letter: only the normalized text (and its byte view) holds it.
    const token = 'ÁKIAQ3EGRT5N7XKV4WZP'
    // Long prose with accents gets byte views of itself and of its normalization.
    const prose = 'Voilà une phrase déjà écrite — avec des accents. '.repeat(400)
    const body = (text: string) => ({ body: new TextEncoder().encode(text), contentType: 'text/plain', contentEncoding: undefined })
    const rules = (text: string) => {
      const verdict = scanner.scanBody(body(text), 'body')
      return verdict.ok ? verdict.findings.map((f) => f.rule) : [verdict.reason]
    }
    // A long text with one accent is normalized in a window, whose byte view is made after the raw text's;
    // the raw text's runs are decoded afterwards, with the raw view, which must still be intact.
    const encoded = Buffer.from('AKIAQ3EGRT5N7XKV4WZP').toString('base64')
    const filler = 'the quick brown fox jumps over the lazy dog '
    const windowed = `${filler.repeat(2)}${encoded} ${filler.repeat(70)}é${filler.repeat(200)}`
    expect(rules(windowed)).toEqual(['aws-access-key-id'])
    expect(rules(windowed.replace(encoded, encoded.slice(0, 8)))).toEqual([])
    const withToken = rules(`${prose}${token} ${prose}`)
    expect(withToken).toContain('aws-access-key-id')
    expect(rules(prose.repeat(2))).toEqual([])
    expect(rules(`${prose}${token} ${prose}`)).toEqual(withToken)
  })
})
