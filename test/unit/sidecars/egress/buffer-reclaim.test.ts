import { describe, expect, it } from 'vitest'
import { createBufferReclaimer, youngGenerationCollector } from '../../../../sidecars/egress/buffer-reclaim.js'

describe('createBufferReclaimer', () => {
  const cases = [
    { name: 'nothing below the threshold', chunks: [100, 200, 300], every: 1000, want: 0 },
    { name: 'once at the threshold', chunks: [600, 400], every: 1000, want: 1 },
    { name: 'once per threshold crossed', chunks: [999, 1, 1000, 2500], every: 1000, want: 3 },
  ]
  it.each(cases)('collects $name', ({ chunks, every, want }) => {
    let collections = 0
    const streamed = createBufferReclaimer(() => collections++, { everyBytes: every, externalFloorBytes: 0 })
    for (const chunk of chunks) streamed(chunk)
    expect(collections).toBe(want)
  })

  it('skips a check while external memory is under the floor, and reads it only at checks', () => {
    let collections = 0
    let reads = 0
    let external = 5
    const streamed = createBufferReclaimer(() => collections++, {
      everyBytes: 1000,
      externalFloorBytes: 10,
      externalBytes: () => (reads++, external),
    })
    streamed(999)
    expect(reads).toBe(0)
    streamed(1)
    expect({ reads, collections }).toEqual({ reads: 1, collections: 0 })
    external = 10
    streamed(1000)
    expect({ reads, collections }).toEqual({ reads: 2, collections: 1 })
  })

  it('reads the runtime external memory by default: a check collects while 32 MiB of buffers are held', () => {
    let collections = 0
    const streamed = createBufferReclaimer(() => collections++, { everyBytes: 1 })
    const held = Buffer.alloc(32 * 1024 * 1024)
    streamed(1)
    expect(held.length).toBe(32 * 1024 * 1024)
    expect(collections).toBe(1)
  })

  it('is a no-op without a collector', () => {
    expect(() => createBufferReclaimer(undefined, { everyBytes: 1 })(10)).not.toThrow()
  })
})

describe('youngGenerationCollector', () => {
  it('finds a collector in this runtime and runs it', () => {
    const collect = youngGenerationCollector()
    expect(typeof collect).toBe('function')
    expect(() => collect?.()).not.toThrow()
  })
})
