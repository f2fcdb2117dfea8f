import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { gatePaths, gitEnvironment } from '../../../../sidecars/git-gate/git-environment.js'
import { installGateHome } from '../../../../sidecars/git-gate/hook-scripts.js'
import type { GateRemote } from '../../../../sidecars/git-gate/load-config.js'
import { MirrorStore } from '../../../../sidecars/git-gate/mirror.js'
import { parseUpstream, type Upstream } from '../../../../sidecars/git-gate/upstream-url.js'

let dir: string
let mirrors: MirrorStore

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bottle-git-gate-mirror-'))
  const paths = gatePaths(join(dir, 'config'), join(dir, 'state'))
  await installGateHome(paths, process.execPath, 'file:///nonexistent.mjs')
  mirrors = new MirrorStore({ paths, baseEnv: gitEnvironment(paths, process.env) })
})

afterEach(async () => {
  await rm(dir, { recursive: true, force: true })
})

const remote = (url: string): GateRemote => ({
  name: 'app',
  config: { name: 'app', upstream: url, protocol: 'https', tokenUsername: 'x-access-token', allowStale: false },
  upstream: parseUpstream(url) as Upstream,
})

describe('MirrorStore.exclusive', () => {
  it('runs work on one remote one at a time, in order, and other remotes alongside', async () => {
    const events: string[] = []
    const task = (name: string, ms: number) => async () => {
      events.push(`start ${name}`)
      // Work that lasts: what overlaps and what waits is the scenario under test.
      await new Promise((r) => setTimeout(r, ms))
      events.push(`end ${name}`)
    }
    await Promise.all([mirrors.exclusive('app', task('a1', 40)), mirrors.exclusive('app', task('a2', 5)), mirrors.exclusive('lib', task('b1', 5))])
    expect(events.indexOf('end a1')).toBeLessThan(events.indexOf('start a2'))
    expect(events.indexOf('start b1')).toBeLessThan(events.indexOf('end a1'))
  })

  it('a failed task does not block the next', async () => {
    await expect(mirrors.exclusive('app', () => Promise.reject(new Error('boom')))).rejects.toThrow('boom')
    expect(await mirrors.exclusive('app', async () => 'next')).toBe('next')
  })
})

describe('MirrorStore.refresh', () => {
  it('fails closed with a one-line reason when upstream is unreachable, and creates the mirror', async () => {
    const outcome = await mirrors.refresh(remote('https://127.0.0.1:9/me/app.git'), 10_000)
    expect(outcome.ok).toBe(false)
    expect(!outcome.ok && outcome.reason).toMatch(/^fatal: unable to access 'https:\/\/127\.0\.0\.1:9\/me\/app\.git\/': [^\n]*(Connection refused|Failed to connect)/)
    expect(await mirrors.exists('app')).toBe(true)
    expect(await mirrors.hasRefs('app')).toBe(false)
  })

  it('shares one refresh among concurrent callers', async () => {
    const target = remote('https://127.0.0.1:9/me/app.git')
    const [a, b] = [mirrors.refresh(target, 10_000), mirrors.refresh(target, 10_000)]
    expect(a).toBe(b)
    await a
  })

  it('refuses transports other than ssh and https even if asked', async () => {
    const outcome = await mirrors.refresh({ ...remote('https://h/x.git'), upstream: { ...(parseUpstream('https://h/x.git') as Upstream), url: `file://${dir}` } }, 10_000)
    expect(outcome.ok).toBe(false)
    expect(!outcome.ok && outcome.reason).toMatch(/transport 'file' not allowed/)
  })
})
