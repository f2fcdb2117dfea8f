import Dockerode from 'dockerode'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ownershipFilter } from '../../../controller/runtime/docker/names.js'
import { ControllerProcess, removeInstance, sleep, uniqueInstance } from '../../helpers/controller-process.js'
import { runCli } from '../../helpers/run-cli.js'
import { TempFolder } from '../../helpers/temp-folder.js'

const docker = new Dockerode()
const instance = uniqueInstance('rtu')

const BOTTLE = `apiVersion: bottle.dev/v1alpha1
kind: Bottle
metadata: {name: micro}
spec:
  runtime: smolvm
  egress:
    routes:
      - host: registry.npmjs.org
`
const AGENT = `apiVersion: bottle.dev/v1alpha1
kind: Agent
metadata: {name: boxed}
spec:
  bottle: micro
`
const REASON = 'runtime "smolvm" is not available on this host: smolvm is not on PATH (install: https://smolmachines.com)'

/** Every engine object labelled for the Agent, of any kind. */
async function objectsOf(agent: string): Promise<string[]> {
  const filters = { label: ownershipFilter(instance, agent) }
  const [containers, networks, volumes] = await Promise.all([
    docker.listContainers({ all: true, filters }),
    docker.listNetworks({ filters }),
    docker.listVolumes({ filters }),
  ])
  return [...containers.map((c) => `container ${c.Names[0]}`), ...networks.map((n) => `network ${n.Name}`), ...(volumes.Volumes ?? []).map((v) => `volume ${v.Name}`)]
}

describe('an Agent whose runtime this host cannot run, on a real Docker engine', () => {
  let specs: TempFolder
  let state: TempFolder
  let controller: ControllerProcess

  beforeAll(async () => {
    specs = await TempFolder.create('bottle-it-specs-')
    state = await TempFolder.create('bottle-it-state-')
    await specs.write('bottles/micro.yaml', BOTTLE)
    controller = new ControllerProcess(specs, state, instance)
    controller.start()
    await controller.waitForLog(/controller started/)
  })

  afterAll(async () => {
    await controller?.stop()
    await removeInstance(docker, instance)
    await specs?.dispose()
    await state?.dispose()
  })

  it('is refused: apply --wait fails with the reason, the status says what is missing, and no Docker box runs in its place', async () => {
    const applied = await TempFolder.create('bottle-it-apply-')
    await applied.write('boxed.yaml', AGENT)
    const result = await runCli(['apply', '-f', applied.join('boxed.yaml'), '--dir', specs.path, '--wait', '--timeout', '60s'])
    await applied.dispose()
    expect(result.code).toBe(1)
    expect(result.stdout + result.stderr).toContain(REASON)

    const status = await controller.waitForStatus('boxed.yaml', 'boxed', (s) => s.conditions.some((c) => c.reason === 'RuntimeUnavailable'))
    expect(status.phase).toBe('Failed')
    expect(status.conditions.find((c) => c.type === 'Ready')).toMatchObject({ status: 'False', reason: 'RuntimeUnavailable', message: REASON })
    expect(status.runtime).toBeUndefined()

    // Past a resync (5 s here): the refusal holds, and still nothing of the Agent exists on the engine.
    await sleep(6000)
    expect(await objectsOf('boxed')).toEqual([])
    expect((await controller.status('boxed.yaml', 'boxed'))?.phase).toBe('Failed')
  })
})
