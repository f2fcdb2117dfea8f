/**
 * When the steady-state phase stops warming a proxy up: once a batch costs
 * about what the one before did, or after a bounded number of batches.
 */
import { describe, expect, it } from 'vitest'
import { MAX_WARMUP_BATCHES, warmedUp } from '../../../bench/egress/steady-state.js'

describe('warmedUp', () => {
  it.each([
    { name: 'one batch is never enough', costs: [200], want: false },
    { name: 'still falling by more than 5%', costs: [600, 458], want: false },
    { name: 'the JIT still paying off after four batches', costs: [600, 458, 378, 340], want: false },
    { name: 'flat', costs: [600, 198, 203], want: true },
    { name: 'a little cheaper, within 5%', costs: [600, 200, 192], want: true },
    { name: 'dearer (host noise), which is not falling', costs: [600, 190, 260], want: true },
  ])('$name', ({ costs, want }) => {
    expect(warmedUp(costs)).toBe(want)
  })

  it('stops at the bound however the costs move', () => {
    const falling = Array.from({ length: MAX_WARMUP_BATCHES }, (_, i) => 1000 / (i + 1))
    expect(warmedUp(falling.slice(0, -1))).toBe(false)
    expect(warmedUp(falling)).toBe(true)
  })
})
