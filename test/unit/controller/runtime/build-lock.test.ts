import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { hostname, tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { withBuildLock } from '../../../../controller/runtime/build-lock.js'

let dir: string
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'bottle-lock-'))
})
afterEach(() => rmSync(dir, { recursive: true, force: true }))

const fast = { pollMs: 10 }

describe('withBuildLock', () => {
  it('builds once when two callers want the same image at the same time', async () => {
    let built: string | undefined
    let builds = 0
    const existing = async () => built
    const build = async () => {
      builds += 1
      // A build that takes a while, so the other callers arrive while it runs: the scenario, not a wait.
      await new Promise((resolve) => setTimeout(resolve, 100))
      built = 'image:1'
      return built
    }
    const results = await Promise.all([
      withBuildLock(dir, 'image:1', existing, build, fast),
      withBuildLock(dir, 'image:1', existing, build, fast),
    ])
    expect(results).toEqual(['image:1', 'image:1'])
    expect(builds).toBe(1)
  })

  it('does not build what already exists', async () => {
    let builds = 0
    const result = await withBuildLock(dir, 'k', async () => 'there', async () => `built ${++builds}`, fast)
    expect(result).toBe('there')
    expect(builds).toBe(0)
  })

  const staleLocks = [
    { name: 'whose owner process is gone', owner: `${hostname()}:2147483646` },
    { name: 'older than the stale limit', owner: 'another-host:1', staleMs: 0 },
  ]
  it.each(staleLocks)('takes over a lock $name', async ({ owner, staleMs }) => {
    mkdirSync(join(dir, 'k.lock'))
    writeFileSync(join(dir, 'k.lock', 'owner'), owner)
    const result = await withBuildLock(dir, 'k', async () => undefined, async () => 'built', { ...fast, ...(staleMs !== undefined ? { staleMs } : {}) })
    expect(result).toBe('built')
  })

  it('releases the lock when the build fails', async () => {
    await expect(withBuildLock(dir, 'k', async () => undefined, async () => Promise.reject(new Error('boom')), fast)).rejects.toThrow('boom')
    expect(existsSync(join(dir, 'k.lock'))).toBe(false)
    expect(await withBuildLock(dir, 'k', async () => undefined, async () => 'second try', fast)).toBe('second try')
  })
})
