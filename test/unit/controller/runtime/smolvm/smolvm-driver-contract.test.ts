/**
 * The driver contract on the smolvm runtime, against the fake `smolvm`:
 * the agent part a fake machine whose commands run on this host, the
 * sidecars part the FakeDriver standing in for the Docker bundle host.
 */
import { readdir } from 'node:fs/promises'
import { vi } from 'vitest'
import { join } from 'node:path'
import { driverContract, GREETING, RELOADED } from '../../../../contract/driver-contract.js'
import { fakeSmolvm } from './fake-smolvm.js'

// Every fake smolvm call starts a node process: a box's boot is a dozen of them, slow on a busy machine.
vi.setConfig({ testTimeout: 90_000, hookTimeout: 120_000 })

const BOX_SCRIPT = `trap 'echo "${RELOADED}"' HUP; echo "${GREETING}"; while :; do sleep 1 & wait $!; done`

driverContract('smolvm (fake smolvm)', async () => {
  const fake = fakeSmolvm()
  const driver = fake.driver()
  return {
    driver,
    partSpec: (hash) => ({ image: 'contract-box', env: {}, command: ['sh', '-c', BOX_SCRIPT], mounts: [], init: true, hash }),
    cleanup: async () => {
      for (const agent of await readdir(join(fake.state, 'driver')).catch(() => [])) {
        await driver.removeAgent(agent, { purgeWorkspace: true }).catch(() => undefined)
      }
      fake.cleanup()
    },
  }
})
