import { describe, expect, it } from 'vitest'
import { BundleLogFollower, type BundleLogs } from '../../../../controller/reconcile/bundle-log-follower.js'
import type { LogOptions } from '../../../../controller/runtime/driver.js'
import { captureLog } from '../../../helpers/log-capture.js'

const until = async (check: () => boolean, ms = 2000) => {
  const deadline = Date.now() + ms
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition never held')
    await new Promise((r) => setTimeout(r, 5))
  }
}

describe('BundleLogFollower', () => {
  it('hands on every line, reopens an ended stream asking for new lines only, and stops', async () => {
    const opened: { agent: string; options: LogOptions }[] = []
    const streams: string[][] = [['a1', 'a2'], ['a3']]
    const logs: BundleLogs = async function* (agent, options) {
      opened.push({ agent, options: { follow: options.follow, tail: options.tail } })
      const lines = streams.shift()
      if (!lines) {
        // a stream that stays open until stopped, as docker's follow does
        await new Promise<void>((r) => options.signal?.addEventListener('abort', () => r(), { once: true }))
        return
      }
      yield* lines
    }
    const seen: string[] = []
    const follower = new BundleLogFollower({ logs, log: captureLog().log, onLine: (agent, line) => seen.push(`${agent}:${line}`), retryMs: 1, initialTail: 50 })
    follower.follow(['impl'])
    await until(() => opened.length === 3)
    expect(seen).toEqual(['impl:a1', 'impl:a2', 'impl:a3'])
    // the first open may show history; reopens never count a line twice
    expect(opened.map((o) => o.options.tail)).toEqual([50, 0, 0])
    follower.stop()
  })

  it('a failing stream is retried; an agent no longer followed is let go', async () => {
    let calls = 0
    const logs: BundleLogs = async function* (_agent, options) {
      calls++
      if (calls === 1) throw new Error('no such part')
      yield 'up'
      await new Promise<void>((r) => options.signal?.addEventListener('abort', () => r(), { once: true }))
    }
    const seen: string[] = []
    const logger = captureLog()
    const follower = new BundleLogFollower({ logs, log: logger.log, onLine: (_a, line) => seen.push(line), retryMs: 1 })
    follower.follow(['impl'])
    await until(() => seen.length === 1)
    expect(logger.text()).toContain('bundle-log.lost')
    follower.follow([])
    const after = calls
    await new Promise((r) => setTimeout(r, 20))
    expect(calls).toBe(after)
  })
})
