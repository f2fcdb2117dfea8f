import { execFileSync } from 'node:child_process'
import { describe, expect, it } from 'vitest'
import { YOUNG_GENERATION_FLAG } from '../../../../sidecars/egress/young-generation.js'

// The new space's size after churning through short-lived objects, in a fresh node with `setup` run first.
const newSpaceAfterChurn = (setup: string) =>
  Number(
    execFileSync(process.execPath, [
      '-e',
      `${setup}
      let keep = []
      for (let r = 0; r < 200; r++) { for (let i = 0; i < 20000; i++) keep.push({ i, s: 'x' + i }); keep = [] }
      process.stdout.write(String(require('node:v8').getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size))`,
    ]).toString(),
  )

describe('young generation', () => {
  it('stays at its initial size once the flag is set at run time', () => {
    const grown = newSpaceAfterChurn('')
    const kept = newSpaceAfterChurn(`require('node:v8').setFlagsFromString(${JSON.stringify(YOUNG_GENERATION_FLAG)})`)
    expect(kept).toBeLessThanOrEqual(4 * 1024 * 1024)
    expect(grown).toBeGreaterThan(kept)
  })
})
