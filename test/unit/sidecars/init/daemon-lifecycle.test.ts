import { afterEach, describe, expect, it } from 'vitest'
import { DAEMON_ENV_DEFAULTS, DAEMON_NODE_OPTIONS } from '../../../../sidecars/init/daemon-process.js'
import { isEvent, startInit, type InitProcess, type LogLine } from './init-process.js'

let running: InitProcess[] = []

async function init(daemons: Record<string, string>, env: Record<string, string> = {}): Promise<InitProcess> {
  const started = await startInit(daemons, env)
  running.push(started)
  return started
}

afterEach(async () => {
  await Promise.all(running.map((proc) => proc.cleanup()))
  running = []
})

const fixtureLine = (daemon: string, event: string) => (line: LogLine) => line.fixture !== undefined && line.daemon === daemon && line.event === event

describe('init supervising daemons', () => {
  it('starts every daemon named in BOTTLE_DAEMONS', async () => {
    const proc = await init({ egress: 'forever', 'git-gate': 'forever', supervise: 'forever' })
    for (const daemon of ['egress', 'git-gate', 'supervise']) {
      await proc.waitFor(fixtureLine(daemon, 'ready'))
    }
    const started = proc.lines.filter(isEvent('daemon-started')).map((line) => line.daemon)
    expect(started.sort()).toEqual(['egress', 'git-gate', 'supervise'])
  })

  it('starts daemons with the node options and environment defaults of daemon-process.ts', async () => {
    const proc = await init({ egress: 'forever' })
    const ready = await proc.waitFor(fixtureLine('egress', 'ready'))
    expect(ready.execArgv).toEqual([...DAEMON_NODE_OPTIONS])
    expect(ready.mallocArenaMax).toBe(DAEMON_ENV_DEFAULTS.MALLOC_ARENA_MAX)
  })

  it("lets init's own environment override a daemon default", async () => {
    const proc = await init({ egress: 'forever' }, { MALLOC_ARENA_MAX: '4' })
    const ready = await proc.waitFor(fixtureLine('egress', 'ready'))
    expect(ready.mallocArenaMax).toBe('4')
  })

  it('forwards SIGHUP to every daemon', async () => {
    const proc = await init({ egress: 'forever', supervise: 'forever' })
    await proc.waitFor(isEvent('control-listening'))
    await proc.waitFor(fixtureLine('egress', 'ready'))
    await proc.waitFor(fixtureLine('supervise', 'ready'))
    proc.child.kill('SIGHUP')
    await proc.waitFor(fixtureLine('egress', 'hup'))
    await proc.waitFor(fixtureLine('supervise', 'hup'))
    expect(proc.lines.filter(isEvent('daemon-exited'))).toEqual([])
  })

  it('restarts a crashing daemon with doubling, capped delays and leaves the others running', async () => {
    const proc = await init({ egress: 'forever', flaky: 'crash' })
    const egressReady = await proc.waitFor(fixtureLine('egress', 'ready'))
    await proc.waitFor((line) => isEvent('restart-scheduled', { daemon: 'flaky', consecutiveFailures: 5 })(line))
    const delays = proc.lines.filter(isEvent('restart-scheduled', { daemon: 'flaky' })).map((line) => line.delayMs)
    expect(delays.slice(0, 5)).toEqual([20, 40, 80, 160, 160])
    expect(proc.lines.filter(fixtureLine('egress', 'ready'))).toHaveLength(1)
    const status = await proc.control(['status'])
    const egress = (JSON.parse(status.stdout) as { daemons: Array<{ name: string; pid?: number; restarts: number }> }).daemons.find(
      (daemon) => daemon.name === 'egress',
    )
    expect(egress).toMatchObject({ pid: egressReady.pid, restarts: 0 })
  })

  it('restarts one daemon on request without touching the others', async () => {
    const proc = await init({ egress: 'forever', supervise: 'forever' })
    await proc.waitFor(isEvent('control-listening'))
    const egressBefore = await proc.waitFor(fixtureLine('egress', 'ready'))
    const superviseBefore = await proc.waitFor(fixtureLine('supervise', 'ready'))
    const result = await proc.control(['restart', 'egress'])
    expect(result.code).toBe(0)
    const answer = JSON.parse(result.stdout) as { ok: boolean; daemons: Array<{ name: string; pid: number; restarts: number }> }
    const egressAfter = answer.daemons.find((daemon) => daemon.name === 'egress')
    const superviseAfter = answer.daemons.find((daemon) => daemon.name === 'supervise')
    expect(answer.ok).toBe(true)
    expect(egressAfter?.pid).not.toBe(egressBefore.pid)
    expect(egressAfter?.restarts).toBe(1)
    expect(superviseAfter?.pid).toBe(superviseBefore.pid)
    expect(proc.lines.filter(fixtureLine('egress', 'term'))).toHaveLength(1)
    expect(proc.lines.filter(fixtureLine('supervise', 'term'))).toHaveLength(0)
    // A daemon stopped on purpose is not a crash: no backoff was scheduled.
    expect(proc.lines.filter(isEvent('restart-scheduled'))).toEqual([])
  })

  it('starts a daemon waiting out a crash backoff at once when asked to restart it', async () => {
    const proc = await init({ flaky: 'crash' }, { BOTTLE_RESTART_BACKOFF_MS: '60000', BOTTLE_RESTART_BACKOFF_MAX_MS: '60000' })
    await proc.waitFor(isEvent('control-listening'))
    await proc.waitFor(isEvent('restart-scheduled', { daemon: 'flaky' }))
    const result = await proc.control(['restart', 'flaky'])
    expect(result.code).toBe(0)
    expect(proc.lines.filter(isEvent('daemon-started', { daemon: 'flaky' }))).toHaveLength(2)
  })

  const refusals = [
    { name: 'an unknown daemon', args: ['restart', 'nope'], code: 1, output: /no daemon named "nope"/ },
    { name: 'a missing daemon argument', args: ['restart'], code: 2, output: /usage: init\.mjs/ },
    { name: 'an unknown command', args: ['reboot'], code: 2, output: /usage: init\.mjs/ },
  ]
  it.each(refusals)('refuses $name with a clear message', async ({ args, code, output }) => {
    const proc = await init({ egress: 'forever' })
    await proc.waitFor(isEvent('control-listening'))
    const result = await proc.control(args)
    expect(result.code).toBe(code)
    expect(result.stdout + result.stderr).toMatch(output)
    expect(proc.child.exitCode).toBeNull()
  })

  it('stops every daemon on SIGTERM and exits 0 when all stopped in time', async () => {
    const proc = await init({ egress: 'forever', supervise: 'forever' })
    await proc.waitFor(fixtureLine('egress', 'ready'))
    await proc.waitFor(fixtureLine('supervise', 'ready'))
    proc.child.kill('SIGTERM')
    expect(await proc.exited).toBe(0)
    expect(proc.lines.filter((line) => line.fixture !== undefined && line.event === 'term')).toHaveLength(2)
    expect(proc.lines.find(isEvent('shutdown-complete'))).toMatchObject({ clean: true })
  })

  it('kills a daemon that ignores SIGTERM after the grace period and exits 1', async () => {
    const proc = await init({ egress: 'forever', stuck: 'stubborn' })
    await proc.waitFor(fixtureLine('stuck', 'ready'))
    await proc.waitFor(fixtureLine('egress', 'ready'))
    proc.child.kill('SIGTERM')
    expect(await proc.exited).toBe(1)
    expect(proc.lines.find(isEvent('daemon-killed'))).toMatchObject({ daemon: 'stuck' })
    expect(proc.lines.find(isEvent('daemon-exited', { daemon: 'stuck' }))).toMatchObject({ signal: 'SIGKILL' })
    expect(proc.lines.find(isEvent('shutdown-complete'))).toMatchObject({ clean: false })
  })

  it('stops a daemon waiting out a crash backoff from starting again during shutdown', async () => {
    const proc = await init({ flaky: 'crash' }, { BOTTLE_RESTART_BACKOFF_MS: '5000', BOTTLE_RESTART_BACKOFF_MAX_MS: '5000' })
    await proc.waitFor(isEvent('restart-scheduled', { daemon: 'flaky' }))
    proc.child.kill('SIGTERM')
    expect(await proc.exited).toBe(0)
    expect(proc.lines.filter(isEvent('daemon-started'))).toHaveLength(1)
  })

  const badConfigs: Array<{ name: string; env: Record<string, string>; error: RegExp }> = [
    { name: 'no daemons', env: { BOTTLE_DAEMONS: '' }, error: /BOTTLE_DAEMONS is empty/ },
    { name: 'a daemon missing from the image', env: { BOTTLE_DAEMONS: 'egress,ghost' }, error: /not in this image: .*ghost\.mjs/ },
    { name: 'a malformed grace period', env: { BOTTLE_STOP_GRACE_MS: 'soon' }, error: /BOTTLE_STOP_GRACE_MS must be a whole number/ },
  ]
  it.each(badConfigs)('refuses to start with $name (exit 2, one line)', async ({ env, error }) => {
    const proc = await init({ egress: 'forever' }, env)
    expect(await proc.exited).toBe(2)
    const fatal = proc.lines.find(isEvent('config-invalid'))
    expect(String(fatal?.error)).toMatch(error)
    expect(proc.lines.filter(isEvent('daemon-started'))).toEqual([])
  })
})
