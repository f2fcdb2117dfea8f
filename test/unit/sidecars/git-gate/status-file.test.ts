import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { StatusFile, type GitGateStatus } from '../../../../sidecars/git-gate/status-file.js'

let dir: string
let clock: number
const now = () => new Date(Date.UTC(2026, 0, 1, 0, 0, clock++))

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bottle-git-gate-status-'))
  clock = 0
})
afterEach(async () => {
  await rm(dir, { recursive: true, force: true })
})

async function read(): Promise<GitGateStatus> {
  return JSON.parse(await readFile(join(dir, 'status.json'), 'utf8')) as GitGateStatus
}

describe('StatusFile', () => {
  it('records refreshes and pushes per configured remote', async () => {
    const status = new StatusFile(join(dir, 'status.json'), now)
    await status.setConfig('sha256:abc', undefined, new Map([['app', 'ssh://git@h/app.git']]))
    await status.recordRefresh('app', { at: 't1', result: 'ok', message: 'mirror matches upstream', durationMs: 5 })
    await status.recordRefresh('app', { at: 't2', result: 'failed', message: 'cannot reach ssh://git@h/app.git: Connection refused', durationMs: 9 })
    await status.recordPush('app', { at: 't3', result: 'refused', message: 'secret scan: a.ts:1: github-pat' })
    await status.recordPush('unknown', { at: 't4', result: 'forwarded', message: 'x' })
    expect(await read()).toEqual({
      version: 1,
      updatedAt: expect.stringMatching(/^2026-01-01T00:00:\d\d\.000Z$/) as unknown as string,
      configHash: 'sha256:abc',
      remotes: {
        app: {
          upstream: 'ssh://git@h/app.git',
          lastRefresh: { at: 't2', result: 'failed', message: 'cannot reach ssh://git@h/app.git: Connection refused', durationMs: 9 },
          lastSuccessfulRefreshAt: 't1',
          lastPush: { at: 't3', result: 'refused', message: 'secret scan: a.ts:1: github-pat' },
        },
      },
    })
  })

  it('keeps what it knew of remotes that stay, drops removed ones, and shows a config error', async () => {
    const status = new StatusFile(join(dir, 'status.json'), now)
    await status.setConfig('sha256:1', undefined, new Map([['a', 'ssh://git@h/a.git'], ['b', 'ssh://git@h/b.git']]))
    await status.recordRefresh('a', { at: 't1', result: 'ok', message: 'ok', durationMs: 1 })
    await status.setConfig('sha256:1', 'remotes[0].upstream: needs a host', new Map([['a', 'ssh://git@h/a.git']]))
    const got = await read()
    expect(Object.keys(got.remotes)).toEqual(['a'])
    expect(got.remotes.a?.lastRefresh?.at).toBe('t1')
    expect(got.configError).toBe('remotes[0].upstream: needs a host')
    await status.setConfig('sha256:2', undefined, new Map([['a', 'ssh://git@h/a.git']]))
    expect((await read()).configError).toBeUndefined()
  })

  it('lands the last state when writes overlap, leaving no temporary file', async () => {
    const status = new StatusFile(join(dir, 'status.json'), now)
    await status.setConfig(null, undefined, new Map([['app', 'u']]))
    await Promise.all(Array.from({ length: 20 }, (_, i) => status.recordPush('app', { at: `t${i}`, result: 'forwarded', message: `${i}` })))
    expect((await read()).remotes.app?.lastPush?.at).toBe('t19')
    expect(await readdir(dir)).toEqual(['status.json'])
  })
})
