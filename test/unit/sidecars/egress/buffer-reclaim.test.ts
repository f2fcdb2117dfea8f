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
    const streamed = createBufferReclaimer(() => collections++, every)
    for (const chunk of chunks) streamed(chunk)
    expect(collections).toBe(want)
  })

  it('is a no-op without a collector', () => {
    expect(() => createBufferReclaimer(undefined, 1)(10)).not.toThrow()
  })
})

describe('youngGenerationCollector', () => {
  it('finds a collector in this Node process and runs it', () => {
    const collect = youngGenerationCollector()
    expect(typeof collect).toBe('function')
    expect(() => collect?.()).not.toThrow()
  })
})
