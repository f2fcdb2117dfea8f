import { stat } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { agentLayout } from '../../../../controller/plan/agent-layout.js'
import { FakeDriver } from '../../../../controller/runtime/fake/fake-driver.js'
import { agentSpec, BOTTLE_DEV, startFakeController } from '../../../helpers/fake-controller.js'
import { condition, statusOf } from '../../../helpers/status-of.js'
import { TempFolder } from '../../../helpers/temp-folder.js'

// A value shaped like nothing the DLP patterns know, so only the exact-match canary checks see it.
const CANARY = 'canary-token-7f3a9c2e51d84b6f'

describe('Controller with the in-memory driver', () => {
  let specs: TempFolder
  let running: Awaited<ReturnType<typeof startFakeController>> | undefined

  beforeEach(async () => {
    specs = await TempFolder.create()
    await specs.write('bottles/dev.yaml', BOTTLE_DEV)
    await specs.write('agents/impl.yaml', agentSpec('impl'))
  })

  afterEach(async () => {
    await running?.stop()
    await running?.state.dispose()
    await specs.dispose()
    running = undefined
  })

  it('creates the bundle and the agent and reports Ready in a status file beside the spec', async () => {
    running = await startFakeController({ specs, env: { GH_TOKEN: CANARY } })
    const { driver } = running
    expect(driver.partSpec('impl', 'sidecars')).toBeDefined()
    expect(driver.partSpec('impl', 'agent')?.env.HTTPS_PROXY).toBe('http://egress:8888')
    const status = await statusOf(specs, 'agents/impl.yaml', 'impl')
    expect(status?.phase).toBe('Running')
    expect(condition(status, 'Ready')?.status).toBe('True')
    expect(condition(status, 'RoutesApplied')?.status).toBe('True')
    expect(status?.routes?.applied).toEqual([{ host: 'api.github.com', tls: 'intercept', auth: { scheme: 'Bearer', tokenRef: 'env:GH_TOKEN' } }])
    const bottle = await statusOf(specs, 'bottles/dev.yaml', 'dev')
    expect(bottle?.agents).toEqual(['impl'])
  })

  it('keeps the token in the bundle config folder only (0600), never in status, logs or the agent', async () => {
    running = await startFakeController({ specs, env: { GH_TOKEN: CANARY } })
    const layout = agentLayout(running.state.path, 'impl')
    const secrets = join(layout.sidecarsConfig, 'egress', 'secrets.json')
    expect((await stat(secrets)).mode & 0o777).toBe(0o600)
    expect(await running.state.read('agents/impl/sidecars/egress/secrets.json')).toContain(CANARY)
    expect(await specs.read('agents/impl.status.yaml')).not.toContain(CANARY)
    expect(running.logs.text()).not.toContain(CANARY)
    expect(JSON.stringify(running.driver.partSpec('impl', 'agent'))).not.toContain(CANARY)
    expect(JSON.stringify(running.driver.partSpec('impl', 'sidecars'))).not.toContain(CANARY)
    expect(await running.state.read('agents/impl/agent/gitconfig')).not.toContain(CANARY)
  })

  it("a runtime's steps on a slow create show in the status while it runs, and apply --wait's line", async () => {
    const driver = new FakeDriver()
    driver.progressLines = ['building the VM root filesystem of img (once per image): unpacking its files', 'making the boot snapshot (once per image and machine size): booting a template VM']
    let midway: Awaited<ReturnType<typeof statusOf>>
    driver.whileChanging = async () => {
      midway = await vi.waitFor(async () => {
        const s = await statusOf(specs, 'agents/impl.yaml', 'impl')
        expect(condition(s, 'Ready')?.message).toContain('booting a template VM')
        return s
      })
    }
    running = await startFakeController({ specs, driver, env: { GH_TOKEN: CANARY } })
    expect(condition(midway, 'Ready')).toMatchObject({ status: 'False', reason: 'Progressing', message: 'making the boot snapshot (once per image and machine size): booting a template VM' })
    expect(running.logs.lines.filter((l) => l.includes('"part.progress"'))).toHaveLength(2)
    // Once created, the status moves on.
    const after = await statusOf(specs, 'agents/impl.yaml', 'impl')
    expect(condition(after, 'Ready')?.status, JSON.stringify(after?.conditions)).toBe('True')
  })

  it('a resync of an unchanged agent changes nothing', async () => {
    running = await startFakeController({ specs })
    running.driver.resetCalls()
    running.controller.enqueue('impl')
    await running.controller.idle()
    expect(running.driver.calls).toEqual([])
  })

  it('an env edit recreates the agent only, and the workspace survives', async () => {
    running = await startFakeController({ specs })
    const before = { agent: running.driver.partId('impl', 'agent'), sidecars: running.driver.partId('impl', 'sidecars') }
    running.driver.resetCalls()
    await running.afterChange(() => specs.write('agents/impl.yaml', agentSpec('impl', '  env: {FOO: bar}\n')))
    expect(running.driver.partId('impl', 'agent')).not.toBe(before.agent)
    expect(running.driver.partId('impl', 'sidecars')).toBe(before.sidecars)
    expect(running.driver.partSpec('impl', 'agent')?.env.FOO).toBe('bar')
    expect(running.driver.calls).toEqual(['createPart impl agent'])
    expect(running.driver.hasWorkspace('impl')).toBe(true)
  })

  it('a route edit is hot: config rewritten and the bundle signalled, nothing restarted', async () => {
    running = await startFakeController({ specs })
    const before = { agent: running.driver.partId('impl', 'agent'), sidecars: running.driver.partId('impl', 'sidecars') }
    running.driver.resetCalls()
    await running.afterChange(() => specs.write('bottles/dev.yaml', BOTTLE_DEV + '      - host: registry.npmjs.org\n'))
    expect(running.driver.calls).toEqual(['signalPart impl sidecars:SIGHUP'])
    expect(running.driver.partId('impl', 'agent')).toBe(before.agent)
    expect(running.driver.partId('impl', 'sidecars')).toBe(before.sidecars)
    expect(await running.state.read('agents/impl/sidecars/egress/config.json')).toContain('registry.npmjs.org')
  })

  it('heals an agent removed behind its back', async () => {
    running = await startFakeController({ specs })
    running.driver.destroyFromOutside('impl', 'agent')
    // The destroy event reaches the controller asynchronously; wait for the fact, not a duration.
    await vi.waitFor(() => expect(running?.driver.partSpec('impl', 'agent')).toBeDefined())
  })

  it('a YAML syntax error leaves the running agent alone and says why, with file:line', async () => {
    running = await startFakeController({ specs })
    running.driver.resetCalls()
    await running.afterChange(() => specs.write('agents/impl.yaml', 'apiVersion: bottle.dev/v1alpha1\nkind: Agent\nmetadata: {name: impl\nspec: {bottle: dev}\n'))
    expect(running.driver.calls).toEqual([])
    expect(running.driver.partSpec('impl', 'agent')).toBeDefined()
    const status = await statusOf(specs, 'agents/impl.yaml', 'impl')
    expect(condition(status, 'Valid')?.status).toBe('False')
    expect(condition(status, 'Valid')?.message).toMatch(/^agents\/impl\.yaml:\d+:\d+: /)
    expect(status?.phase).toBe('Running')
  })

  it('an invalid Bottle keeps its agents running', async () => {
    running = await startFakeController({ specs })
    running.driver.resetCalls()
    await running.afterChange(() => specs.write('bottles/dev.yaml', BOTTLE_DEV.replace('routes:', 'rotes:')))
    expect(running.driver.calls).toEqual([])
    const status = await statusOf(specs, 'agents/impl.yaml', 'impl')
    expect(condition(status, 'Valid')?.message).toContain('Bottle "dev" is invalid')
  })

  it('deleting the spec prunes the agent and keeps its workspace', async () => {
    running = await startFakeController({ specs })
    await running.afterChange(() => specs.remove('agents/impl.yaml'))
    expect(running.driver.calls).toContain('removeAgent impl keep-workspace')
    expect(running.driver.partSpec('impl', 'agent')).toBeUndefined()
    expect(running.driver.hasWorkspace('impl')).toBe(true)
    expect(await specs.readOptional('agents/impl.status.yaml')).toBeUndefined()
  })

  it('a prune that fails says so in the status instead of leaving it Running', async () => {
    const driver = new FakeDriver()
    running = await startFakeController({ specs, driver, env: { GH_TOKEN: CANARY } })
    driver.failNext.push(...Array<string>(50).fill('removeAgent'))
    await running.afterChange(() => specs.remove('agents/impl.yaml'))
    const status = await statusOf(specs, 'agents/impl.yaml', 'impl')
    expect(status?.phase).toBe('Terminating')
    expect(condition(status, 'Ready')).toMatchObject({ status: 'False', reason: 'PruneFailed' })
    expect(status?.lastError).toContain('injected failure')
    driver.failNext.length = 0
    await vi.waitFor(async () => expect(await specs.readOptional('agents/impl.status.yaml')).toBeUndefined(), { timeout: 5000 })
  })

  it('a delete and re-create inside the debounce window (an editor save) restarts nothing', async () => {
    running = await startFakeController({ specs })
    running.driver.resetCalls()
    const content = await specs.read('agents/impl.yaml')
    await running.afterChange(async () => {
      await specs.remove('agents/impl.yaml')
      // The scenario itself: the file is back 10 ms later, well inside the 40 ms debounce.
      await new Promise((r) => setTimeout(r, 10))
      await specs.write('agents/impl.yaml', content)
    })
    expect(running.driver.calls).toEqual([])
  })

  it('suspend stops without deleting; resume starts the same parts again', async () => {
    running = await startFakeController({ specs, env: { GH_TOKEN: CANARY } })
    const id = running.driver.partId('impl', 'agent')
    await running.afterChange(() => specs.write('agents/impl.yaml', agentSpec('impl', '  suspend: true\n')))
    expect(running.driver.calls.slice(-2)).toEqual(['stopPart impl agent', 'stopPart impl sidecars'])
    expect((await statusOf(specs, 'agents/impl.yaml', 'impl'))?.phase).toBe('Suspended')
    await running.afterChange(() => specs.write('agents/impl.yaml', agentSpec('impl', '  suspend: false\n')))
    expect(running.driver.partId('impl', 'agent')).toBe(id)
    const rerun = await statusOf(specs, 'agents/impl.yaml', 'impl')
    expect(rerun?.phase, JSON.stringify(rerun?.conditions)).toBe('Running')
  })

  it('a restarted controller adopts what runs: no duplicates, no changes', async () => {
    running = await startFakeController({ specs })
    const { driver, state } = running
    await running.stop()
    driver.resetCalls()
    running = await startFakeController({ specs, driver, state })
    expect(driver.calls).toEqual([])
  })

  it('a missing secret degrades the agent and names the reference, not a value', async () => {
    running = await startFakeController({ specs, env: {} })
    const status = await statusOf(specs, 'agents/impl.yaml', 'impl')
    expect(status?.phase).toBe('Degraded')
    expect(condition(status, 'RoutesApplied')).toMatchObject({ status: 'False', reason: 'SecretUnavailable' })
    expect(condition(status, 'RoutesApplied')?.message).toContain('env:GH_TOKEN')
  })

  it('retries a failing create with backoff and converges once the engine recovers', async () => {
    const driver = new FakeDriver()
    driver.failNext.push('createPart', 'createPart')
    running = await startFakeController({ specs, driver, env: { GH_TOKEN: CANARY } })
    // Retries run on backoff timers, after the queue went idle: wait for the converged part.
    await vi.waitFor(() => expect(driver.partSpec('impl', 'agent')).toBeDefined(), { timeout: 5000 })
    expect(running.controller.metrics.reconcileCount('retry')).toBeGreaterThanOrEqual(2)
  })

  it('writing status files never triggers another load of the specs', async () => {
    running = await startFakeController({ specs })
    // What is checked is that something does not happen, which only a window of time can show:
    // 300 ms is several debounce windows (40 ms) of the folder watcher.
    const window = () => new Promise((r) => setTimeout(r, 300))
    await window()
    const loads = running.logs.lines.filter((l) => l.includes('"specs.loaded"')).length
    running.controller.enqueue('impl')
    await running.controller.idle()
    await window()
    expect(running.logs.lines.filter((l) => l.includes('"specs.loaded"')).length).toBe(loads)
  })

  it('a task runs to Succeeded and is not started again; a changed task runs again', async () => {
    await specs.write('agents/impl.yaml', agentSpec('impl', '  task: {prompt: "fix the tests", retries: 1}\n'))
    running = await startFakeController({ specs, env: { GH_TOKEN: CANARY } })
    expect(running.driver.partSpec('impl', 'agent')?.restart).toEqual({ onFailure: 1 })
    const firstId = running.driver.partId('impl', 'agent')
    running.driver.exitFromInside('impl', 'agent', 0, 1)
    // The exit reaches the controller as a runtime event; wait for the status that reports it.
    const status = await vi.waitFor(async () => {
      const s = await statusOf(specs, 'agents/impl.yaml', 'impl')
      expect(s?.phase).toBe('Succeeded')
      return s
    })
    expect(status?.phase).toBe('Succeeded')
    expect(status?.task).toMatchObject({ state: 'Succeeded', attempts: 2, maxAttempts: 2, exitCode: 0 })
    running.driver.resetCalls()
    running.controller.enqueue('impl')
    await running.controller.idle()
    expect(running.driver.calls).toEqual([])
    await running.afterChange(() => specs.write('agents/impl.yaml', agentSpec('impl', '  task: {prompt: "fix the lint", retries: 1}\n')))
    expect(running.driver.partId('impl', 'agent')).not.toBe(firstId)
    const rerun = await statusOf(specs, 'agents/impl.yaml', 'impl')
    expect(rerun?.phase, JSON.stringify(rerun?.conditions)).toBe('Running')
  })

  it('a task that fails every attempt is Failed with its exit code', async () => {
    await specs.write('agents/impl.yaml', agentSpec('impl', '  task: {prompt: "fail", retries: 2}\n'))
    running = await startFakeController({ specs })
    running.driver.exitFromInside('impl', 'agent', 7, 2)
    const status = await vi.waitFor(async () => {
      const s = await statusOf(specs, 'agents/impl.yaml', 'impl')
      expect(s?.phase).toBe('Failed')
      return s
    })
    expect(status?.phase).toBe('Failed')
    expect(condition(status, 'Ready')).toMatchObject({ status: 'False', reason: 'TaskFailed' })
    expect(condition(status, 'Ready')?.message).toContain('exit code 7 after 3 attempts')
  })

  it('deleting an agent archives its sessions and transcripts instead of deleting them', async () => {
    running = await startFakeController({ specs })
    const layout = agentLayout(running.state.path, 'impl')
    await running.state.write(join(layout.sessions, 'claude/projects/-home-agent-workspace/s1.jsonl').slice(running.state.path.length + 1), '{"transcript":1}\n')
    await running.afterChange(() => specs.remove('agents/impl.yaml'))
    const { readdir, readFile } = await import('node:fs/promises')
    const stamps = await readdir(join(running.state.path, 'archive', 'impl'))
    expect(stamps).toHaveLength(1)
    expect(await readFile(join(running.state.path, 'archive', 'impl', stamps[0]!, 'claude/projects/-home-agent-workspace/s1.jsonl'), 'utf8')).toBe('{"transcript":1}\n')
    expect(await running.state.readOptional('agents/impl/applied.json')).toBeUndefined()
  })
})
