/**
 * The driver contract on the vm runtime: the agent part a real QEMU
 * micro-VM (TCG here, KVM where the host has it) booted from the agent
 * image's snapshot, the sidecars part a real container through the vm
 * runtime's own Docker driver.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { DockerDriver } from '../../../controller/runtime/docker/docker-driver.js'
import { DockerImageStore } from '../../../controller/runtime/docker/image-store.js'
import { runtimeOwner } from '../../../controller/runtime/docker/names.js'
import { VmDriver } from '../../../controller/runtime/vm/vm-driver.js'
import { driverContract, GREETING, RELOADED } from '../../contract/driver-contract.js'
import { docker, removeInstance, testLogger, uniqueInstance } from './docker-fixtures.js'

const BOX_SCRIPT = `trap 'echo "${RELOADED}"' HUP; echo "${GREETING}"; while :; do sleep 1 & wait $!; done`

driverContract('vm', async () => {
  const instance = uniqueInstance('vmc')
  const image = await new DockerImageStore({ docker, logger: testLogger() }).ensure({ kind: 'agent', provider: 'claude' })
  // Short: QEMU's sockets live in each Agent's folder under it.
  const stateDir = mkdtempSync('/tmp/bvc-')
  const logger = testLogger()
  const driver = new VmDriver({
    bundleHost: new DockerDriver({ docker, instance, logger, runtime: 'vm', workspaceVolume: false, stopTimeoutSeconds: 3 }),
    docker,
    instance,
    stateDir,
    logger,
    stopTimeoutMs: 3000,
  })
  return {
    driver,
    // As the agent user, the image's entrypoint runs the command at once (no provisioning to print warnings).
    partSpec: (hash) => ({ image, env: {}, command: ['sh', '-c', BOX_SCRIPT], user: 'agent', mounts: [], init: true, hash }),
    cleanup: async () => {
      for (const agent of await readdir(stateDir).catch(() => [])) {
        await driver.removeAgent(agent, { purgeWorkspace: true }).catch(() => undefined)
      }
      await removeInstance(runtimeOwner(instance, 'vm'))
      rmSync(join(stateDir), { recursive: true, force: true })
    },
  }
})
