import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { DriverRegistry } from '../../../../controller/runtime/driver-registry.js'
import { FakeDriver } from '../../../../controller/runtime/fake/fake-driver.js'
import { agentSpec, BOTTLE_DEV, startFakeController } from '../../../helpers/fake-controller.js'
import { condition, statusOf } from '../../../helpers/status-of.js'
import { TempFolder } from '../../../helpers/temp-folder.js'

/** BOTTLE_DEV with `runtime:` set. */
const bottleOn = (runtime: string) => BOTTLE_DEV.replace('spec:\n', `spec:\n  runtime: ${runtime}\n`)

describe('spec.runtime picks the driver', () => {
  let specs: TempFolder
  let running: Awaited<ReturnType<typeof startFakeController>> | undefined

  beforeEach(async () => {
    specs = await TempFolder.create()
    await specs.write('agents/impl.yaml', agentSpec('impl'))
  })

  afterEach(async () => {
    await running?.stop()
    await running?.state.dispose()
    await specs.dispose()
    running = undefined
  })

  const refusals = [
    { runtime: 'vm', message: 'runtime "vm" is not available on this host: no vm driver is installed in this controller version' },
    { runtime: 'smolvm', message: 'runtime "smolvm" is not available on this host: no smolvm driver is installed in this controller version' },
  ]
  it.each(refusals)('a runtime without a driver ($runtime) is refused in status and nothing starts in its place', async ({ runtime, message }) => {
    await specs.write('bottles/dev.yaml', bottleOn(runtime))
    running = await startFakeController({ specs })
    const status = await statusOf(specs, 'agents/impl.yaml', 'impl')
    expect(status?.phase).toBe('Failed')
    expect(condition(status, 'Ready')).toMatchObject({ status: 'False', reason: 'RuntimeUnavailable', message })
    expect(condition(status, 'Valid')?.status).toBe('True')
    expect(status?.runtime).toBeUndefined()
    expect(running.driver.calls).toEqual([])
    expect(await running.driver.observe()).toEqual([])
  })

  it('a registered driver that says the host cannot run it is refused with its reason', async () => {
    await specs.write('bottles/dev.yaml', bottleOn('vm'))
    const docker = new FakeDriver()
    const vm = new FakeDriver()
    vm.availability = { ok: false, reason: 'KVM is not usable and TCG was not allowed' }
    running = await startFakeController({ specs, driver: docker, drivers: new DriverRegistry({ docker, vm }) })
    const status = await statusOf(specs, 'agents/impl.yaml', 'impl')
    expect(condition(status, 'Ready')).toMatchObject({
      status: 'False',
      reason: 'RuntimeUnavailable',
      message: 'runtime "vm" is not available on this host: KVM is not usable and TCG was not allowed',
    })
    expect([...docker.calls, ...vm.calls]).toEqual([])
  })

  it('an Agent runs on the driver its runtime names, and only there', async () => {
    await specs.write('bottles/dev.yaml', bottleOn('vm'))
    const docker = new FakeDriver()
    const vm = new FakeDriver()
    running = await startFakeController({ specs, driver: docker, drivers: new DriverRegistry({ docker, vm }) })
    expect(vm.partSpec('impl', 'agent')).toBeDefined()
    expect(docker.calls).toEqual([])
    const status = await statusOf(specs, 'agents/impl.yaml', 'impl')
    expect(status?.runtime?.driver).toBe('fake')
  })

  it('a runtime change removes the Agent from the runtime it left (workspace kept there) and creates it on the new one', async () => {
    await specs.write('bottles/dev.yaml', BOTTLE_DEV)
    const docker = new FakeDriver()
    const vm = new FakeDriver()
    running = await startFakeController({ specs, driver: docker, drivers: new DriverRegistry({ docker, vm }) })
    expect(docker.partSpec('impl', 'agent')).toBeDefined()
    await running.afterChange(() => specs.write('bottles/dev.yaml', bottleOn('vm')))
    expect(docker.partSpec('impl', 'agent')).toBeUndefined()
    expect(docker.hasWorkspace('impl')).toBe(true)
    expect(vm.partSpec('impl', 'agent')).toBeDefined()
    // The workspace left behind is no reason to act again on every reconcile.
    docker.resetCalls()
    vm.resetCalls()
    running.controller.enqueue('impl')
    await running.controller.idle()
    expect([...docker.calls, ...vm.calls]).toEqual([])
  })

  it('a change to a runtime this host cannot run stops what ran: nothing weaker keeps running in its place', async () => {
    await specs.write('bottles/dev.yaml', BOTTLE_DEV)
    running = await startFakeController({ specs })
    expect(running.driver.partSpec('impl', 'agent')).toBeDefined()
    await running.afterChange(() => specs.write('bottles/dev.yaml', bottleOn('vm')))
    expect(running.driver.partSpec('impl', 'agent')).toBeUndefined()
    expect(running.driver.partSpec('impl', 'sidecars')).toBeUndefined()
    expect(running.driver.hasWorkspace('impl')).toBe(true)
    const status = await statusOf(specs, 'agents/impl.yaml', 'impl')
    expect(condition(status, 'Ready')?.reason).toBe('RuntimeUnavailable')
  })
})
