import { readFile } from 'node:fs/promises'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createGateReloader, type GateReloader } from '../../../../sidecars/git-gate/reload.js'
import { StatusFile, type GitGateStatus } from '../../../../sidecars/git-gate/status-file.js'
import { captureLog } from '../../../helpers/log-capture.js'
import { configFolder, HTTPS_REMOTE, SSH_REMOTE, type ConfigFolder } from './support/config-folder.js'

let folder: ConfigFolder
let stateDir: string
let reloader: GateReloader | undefined

beforeEach(async () => {
  folder = await configFolder({ remotes: [SSH_REMOTE] })
  stateDir = await mkdtemp(join(tmpdir(), 'bottle-git-gate-state-'))
})

afterEach(async () => {
  await reloader?.close()
  reloader = undefined
  await folder.dispose()
  await rm(stateDir, { recursive: true, force: true })
})

async function status(): Promise<GitGateStatus> {
  return JSON.parse(await readFile(join(stateDir, 'status.json'), 'utf8')) as GitGateStatus
}

async function until(check: () => boolean | Promise<boolean>): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (await check()) return
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error('condition not reached')
}

describe('createGateReloader', () => {
  it('keeps the config in force when a new one is invalid, and says why', async () => {
    const { log, text } = captureLog()
    const applied: string[][] = []
    reloader = createGateReloader({ configDir: folder.dir, status: new StatusFile(join(stateDir, 'status.json')), log, onApplied: (l) => applied.push([...l.remotes.keys()]) })
    await reloader.reload('start')
    expect([...(reloader.current()?.remotes.keys() ?? [])]).toEqual(['app'])

    await folder.write('config.json', JSON.stringify({ version: 1, remotes: [{ ...SSH_REMOTE, upstream: 'git://nope' }] }))
    await reloader.reload('signal')
    expect([...(reloader.current()?.remotes.keys() ?? [])]).toEqual(['app'])
    expect(reloader.error()).toContain('remotes[0].upstream: uses git://')
    expect((await status()).configError).toContain('remotes[0].upstream: uses git://')
    expect(text()).toContain('"event":"config.rejected"')
    expect(applied).toEqual([['app']])
  })

  it('applies a folder change after a quiet period, without a signal', async () => {
    const { log } = captureLog()
    reloader = createGateReloader({ configDir: folder.dir, status: new StatusFile(join(stateDir, 'status.json')), log, debounceMs: 50 })
    await reloader.reload('start')
    await reloader.watch()
    await folder.write('config.json', JSON.stringify({ version: 1, remotes: [SSH_REMOTE, HTTPS_REMOTE] }))
    await until(() => reloader?.current()?.remotes.has('lib') === true)
    await until(async () => Object.keys((await status()).remotes).length === 2)
    expect(Object.keys((await status()).remotes).sort()).toEqual(['app', 'lib'])
  })

  it('does not re-apply an unchanged folder', async () => {
    const { log } = captureLog()
    let applied = 0
    reloader = createGateReloader({ configDir: folder.dir, status: new StatusFile(join(stateDir, 'status.json')), log, onApplied: () => applied++ })
    await reloader.reload('start')
    await reloader.reload('signal')
    await reloader.reload('signal')
    expect(applied).toBe(1)
  })
})
