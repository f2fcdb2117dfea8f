import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { execa } from 'execa'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { launchArgv, parseCount, prepareArgv, resolvePartCommand, shellWord } from '../../../../controller/runtime/guest-part.js'

const image = { env: { PATH: '/usr/bin:/bin', LANG: 'C' }, workdir: '/home/agent', user: 'agent', entrypoint: ['/init'], cmd: ['idle'] }

describe('resolvePartCommand: what docker run would run', () => {
  it('keeps the entrypoint and replaces the command; the part\'s env wins', () => {
    expect(resolvePartCommand(image, { command: ['sh', '-c', 'x'], env: { LANG: 'C.UTF-8', A: '1' } })).toEqual({
      argv: ['/init', 'sh', '-c', 'x'],
      env: { PATH: '/usr/bin:/bin', LANG: 'C.UTF-8', A: '1' },
      user: 'agent',
      workdir: '/home/agent',
    })
  })

  it('runs the image\'s command when the part names none, as the part\'s user in the part\'s folder', () => {
    expect(resolvePartCommand(image, { env: {}, user: '0:0', workdir: '/tmp' })).toMatchObject({ argv: ['/init', 'idle'], user: '0:0', workdir: '/tmp' })
  })

  it('refuses a part with nothing to run', () => {
    expect(() => resolvePartCommand({ env: {}, entrypoint: [], cmd: [] }, { env: {} })).toThrow(/no command/)
  })
})

describe('shellWord', () => {
  it('passes any value through sh as one word, unread', async () => {
    for (const value of ["it's", '$(id)', 'a b', '`x`', "'", '']) {
      expect((await execa('sh', ['-c', `printf %s ${shellWord(value)}`])).stdout).toBe(value)
    }
  })
})

describe('parseCount', () => {
  it('reads what the runner wrote, and nothing else', () => {
    expect(parseCount('143\n')).toBe(143)
    expect(parseCount('')).toBeUndefined()
    expect(parseCount('12a')).toBeUndefined()
    expect(parseCount(undefined)).toBeUndefined()
  })
})

describe('the runner, run by this host\'s sh', () => {
  let dir: string
  beforeEach(() => {
    dir = join(mkdtempSync(join(tmpdir(), 'bottle-part-')), 'part')
  })
  afterEach(() => rmSync(join(dir, '..'), { recursive: true, force: true }))

  const run = async (argv: string[], restarts: number): Promise<void> => {
    const prepare = prepareArgv(undefined, dir)
    await execa(prepare[0]!, prepare.slice(1))
    const launch = launchArgv({ argv, env: {} }, restarts, dir)
    // Returns at once: the runner is detached.
    const started = Date.now()
    await execa(launch[0]!, launch.slice(1))
    expect(Date.now() - started).toBeLessThan(2000)
  }
  const waitFor = async (file: string): Promise<string> => {
    const deadline = Date.now() + 10_000
    while (!existsSync(join(dir, file))) {
      if (Date.now() > deadline) throw new Error(`${file} never appeared`)
      await new Promise((r) => setTimeout(r, 20))
    }
    return readFileSync(join(dir, file), 'utf8')
  }

  it('keeps the output and the exit code of a command that succeeds, with no restart', async () => {
    await run(['sh', '-c', 'echo out; echo err >&2'], 3)
    expect(await waitFor('exit')).toBe('0\n')
    expect(readFileSync(join(dir, 'output'), 'utf8')).toBe('out\nerr\n')
    expect(existsSync(join(dir, 'restarts'))).toBe(false)
  })

  it('restarts a failing command as often as allowed, then keeps its last exit code', async () => {
    await run(['sh', '-c', 'echo try; exit 3'], 1)
    expect(await waitFor('exit')).toBe('3\n')
    expect(readFileSync(join(dir, 'output'), 'utf8')).toBe('try\ntry\n')
    expect(readFileSync(join(dir, 'restarts'), 'utf8')).toBe('1\n')
  })

  it('writes the pid of the command itself, which a signal ends', async () => {
    await run(['sleep', '30'], 0)
    const pid = Number(await waitFor('pid'))
    expect(readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0]).toBe('sleep')
    process.kill(pid, 'SIGTERM')
    expect(await waitFor('exit')).toBe('143\n')
  })
})
