import { describe, expect, it } from 'vitest'
import { restartDelayMs } from '../../../../sidecars/init/backoff.js'

describe('restartDelayMs', () => {
  const cases = [
    { failures: 1, want: 500 },
    { failures: 2, want: 1000 },
    { failures: 3, want: 2000 },
    { failures: 7, want: 30000 },
    { failures: 1000, want: 30000 },
    // A count of 0 cannot happen after a failure; it must still not go below the first delay.
    { failures: 0, want: 500 },
  ]
  it.each(cases)('waits $want ms after $failures consecutive failures', ({ failures, want }) => {
    expect(restartDelayMs(failures, 500, 30000)).toBe(want)
  })
})
