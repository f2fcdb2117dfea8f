import { describe, expect, it } from 'vitest'
import { coalescingRunner } from '../../../../sidecars/shared/coalescing-runner.js'

describe('coalescingRunner', () => {
  it('never overlaps runs and turns a burst during a run into one more run, with the latest reason', async () => {
    const log: string[] = []
    let active = 0
    let release: () => void = () => undefined
    const runner = coalescingRunner(async (reason) => {
      active++
      expect(active).toBe(1)
      log.push(reason)
      if (log.length === 1) await new Promise<void>((r) => (release = r))
      active--
    })
    const first = runner.run('start')
    const burst = [runner.run('change'), runner.run('SIGHUP'), runner.run('change-2')]
    release()
    await Promise.all([first, ...burst])
    expect(log).toEqual(['start', 'change-2'])
  })

  it('runs again after it has gone idle', async () => {
    const log: string[] = []
    const runner = coalescingRunner(async (reason) => {
      log.push(reason)
    })
    await runner.run('a')
    await runner.run('b')
    await runner.idle()
    expect(log).toEqual(['a', 'b'])
  })

  it('a failing run rejects its callers and does not wedge the runner', async () => {
    let fail = true
    const runner = coalescingRunner(async () => {
      if (fail) throw new Error('boom')
    })
    await expect(runner.run('x')).rejects.toThrow('boom')
    fail = false
    await expect(runner.run('y')).resolves.toBeUndefined()
  })
})
