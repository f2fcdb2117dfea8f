import { DockerDriver } from '../../../controller/runtime/docker/docker-driver.js'
import { DockerImageStore } from '../../../controller/runtime/docker/image-store.js'
import { driverContract, GREETING, RELOADED } from '../../contract/driver-contract.js'
import { docker, removeInstance, testLogger, uniqueInstance } from './docker-fixtures.js'

/**
 * The contract box on the offline base image: a shell that greets, answers
 * SIGHUP and otherwise waits. Docker's init (the spec asks for one) passes
 * the signal on and a stop's SIGTERM ends the shell.
 */
const BOX_SCRIPT = `trap 'echo "${RELOADED}"' HUP; echo "${GREETING}"; while :; do sleep 1 & wait $!; done`

driverContract('docker', async () => {
  const instance = uniqueInstance('ctr')
  const base = await new DockerImageStore({ docker, logger: testLogger() }).ensureBase()
  return {
    driver: new DockerDriver({ instance, logger: testLogger(), stopTimeoutSeconds: 3 }),
    partSpec: (hash) => ({ image: base, env: {}, command: ['sh', '-c', BOX_SCRIPT], mounts: [], init: true, hash }),
    cleanup: () => removeInstance(instance),
  }
})
