import { describe, expect, it } from 'vitest'
import { DriverError } from '../../../../controller/runtime/driver.js'
import { DriverRegistry } from '../../../../controller/runtime/driver-registry.js'
import { FakeDriver } from '../../../../controller/runtime/fake/fake-driver.js'

const part = { image: 'img', env: {}, mounts: [], init: true, hash: 'h' }

function registry() {
  const docker = new FakeDriver()
  const vm = new FakeDriver()
  vm.availability = { ok: false, reason: 'no KVM' }
  return { docker, vm, drivers: new DriverRegistry({ docker, vm }) }
}

describe('DriverRegistry.choose', () => {
  const cases = [
    { name: 'no runtime means docker', runtime: undefined, want: { ok: true, runtime: 'docker' } },
    { name: 'a registered, available runtime', runtime: 'docker', want: { ok: true, runtime: 'docker' } },
    { name: 'a registered runtime the host cannot run', runtime: 'vm', want: { ok: false, runtime: 'vm', reason: 'runtime "vm" is not available on this host: no KVM' } },
    { name: 'a runtime without a driver', runtime: 'smolvm', want: { ok: false, runtime: 'smolvm', reason: 'runtime "smolvm" is not available on this host: no smolvm driver is installed in this controller version' } },
  ]
  it.each(cases)('$name', async ({ runtime, want }) => {
    expect(await registry().drivers.choose(runtime)).toMatchObject(want)
  })
})

describe('DriverRegistry observation', () => {
  it('merges every available driver, each Agent tagged with its runtime', async () => {
    const docker = new FakeDriver()
    const vm = new FakeDriver()
    const drivers = new DriverRegistry({ docker, vm })
    await docker.ensureInfrastructure('a')
    await vm.ensureInfrastructure('b')
    const placed = await drivers.observe()
    expect(placed.map((p) => [p.runtime, p.observed.agent])).toEqual([['docker', 'a'], ['vm', 'b']])
    expect(placed[1]?.driver).toBe(vm)
  })

  it('leaves out drivers this host cannot run', async () => {
    const { docker, vm, drivers } = registry()
    await vm.ensureInfrastructure('b')
    expect((await drivers.available()).map((d) => d.driver)).toEqual([docker])
    expect(await drivers.observe()).toEqual([])
  })

  it('counts the mutations of every driver', async () => {
    const { docker, vm, drivers } = registry()
    await docker.ensureInfrastructure('a')
    await vm.ensureInfrastructure('b')
    expect(drivers.mutations).toBe(2)
  })
})

describe('DriverRegistry.driverOf', () => {
  it('is the driver whose parts the Agent runs on', async () => {
    const docker = new FakeDriver()
    const vm = new FakeDriver()
    const drivers = new DriverRegistry({ docker, vm })
    await vm.ensureInfrastructure('b')
    await vm.createPart('b', 'agent', part)
    expect(await drivers.driverOf('b')).toBe(vm)
  })

  it('falls back to the default runtime for an Agent no driver runs, whose errors then say so', async () => {
    const { docker, drivers } = registry()
    const driver = await drivers.driverOf('ghost')
    expect(driver).toBe(docker)
    await expect(driver.exec('ghost', 'agent', ['true'])).rejects.toThrow(DriverError)
  })
})
