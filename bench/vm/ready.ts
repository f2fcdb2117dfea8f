/**
 * bench/vm (b): a spec saved in the watched folder -> its status says Ready,
 * for an Agent on `runtime: vm` against the same Agent on `runtime: docker`,
 * interleaved in one run with one controller, one Agent at a time (each is
 * pruned before the next starts); and the resident memory of each VM's QEMU
 * once Ready. A warm-up run of each comes first (it builds the
 * boot snapshot of this machine shape, once per image). Target on this
 * machine (TCG): vm Ready <= 2x docker's.
 * Run: npm run build && node dist/bench/vm/ready.js
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import Dockerode from 'dockerode'
import pino from 'pino'
import { Controller } from '../../controller/reconcile/controller.js'
import { DockerDriver } from '../../controller/runtime/docker/docker-driver.js'
import { DockerImageStore } from '../../controller/runtime/docker/image-store.js'
import { runtimeOwner } from '../../controller/runtime/docker/names.js'
import { DriverRegistry } from '../../controller/runtime/driver-registry.js'
import { VmDriver } from '../../controller/runtime/vm/vm-driver.js'
import { LocalFolderSource } from '../../controller/spec/sources/local-folder-source.js'
import { readyAt, removeOwnedObjects } from '../lib/agent-status.js'
import { median, printTable } from '../lib/stats.js'
import { TempDir, sleep } from '../lib/temp-dir.js'

const RUNS = Number(process.env.BOTTLE_BENCH_RUNS ?? 5)
const docker = new Dockerode()
const log = pino({ level: 'warn' })
const bottle = (runtime: string) => `apiVersion: bottle.dev/v1alpha1\nkind: Bottle\nmetadata: {name: on-${runtime}}\nspec:\n  runtime: ${runtime}\n  egress:\n    routes:\n      - host: registry.npmjs.org\n`
const agentYaml = (name: string, runtime: string) => `apiVersion: bottle.dev/v1alpha1\nkind: Agent\nmetadata: {name: ${name}}\nspec:\n  bottle: on-${runtime}\n`

/** The controller removes an Agent's status file once it has pruned the Agent. */
async function gone(statusFile: string, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (await readFile(statusFile).then(() => true, () => false)) {
    if (Date.now() > deadline) throw new Error(`${statusFile} was never removed`)
    await sleep(50)
  }
}

async function rssMiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8')
  return Math.round(Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? Number.NaN) / 1024)
}

async function main(): Promise<void> {
  const images = new DockerImageStore({ logger: log, resolveMemoMs: 1000 })
  await images.ensure({ kind: 'agent', provider: 'claude' })
  await images.ensure({ kind: 'sidecars' })
  const specs = await TempDir.create('bench-vm-specs-')
  // Short: QEMU's sockets live under it.
  const state = await TempDir.create('bvr-')
  const instance = `bvr${process.pid}`
  const vmState = join(state.path, 'vm')
  const times: Record<'docker' | 'vm', number[]> = { docker: [], vm: [] }
  const rss: number[] = []
  const vmDriver = new VmDriver({
    bundleHost: new DockerDriver({ instance, logger: log, runtime: 'vm', workspaceVolume: false }),
    docker,
    instance,
    stateDir: vmState,
    logger: log,
  })
  const drivers = new DriverRegistry({ docker: new DockerDriver({ instance, logger: log }), vm: vmDriver })
  let controller: Controller | undefined
  const made: string[] = []
  try {
    await specs.write('bottles/docker.yaml', bottle('docker'))
    await specs.write('bottles/vm.yaml', bottle('vm'))
    controller = new Controller({
      source: new LocalFolderSource(specs.path),
      drivers,
      images,
      stateDir: join(state.path, 'controller'),
      bundleUser: `${process.getuid?.() ?? 0}:${process.getgid?.() ?? 0}`,
      env: {},
      log,
    })
    await controller.start()
    for (let run = -1; run < RUNS; run++) {
      for (const runtime of ['docker', 'vm'] as const) {
        const name = `${runtime === 'vm' ? 'v' : 'd'}${run + 1}`
        made.push(name)
        const t0 = performance.now()
        await specs.write(`agents/${name}.yaml`, agentYaml(name, runtime))
        await readyAt(join(specs.path, `agents/${name}.status.yaml`), name)
        const elapsed = performance.now() - t0
        // Run -1 warms up: the first boot of this machine shape saves its snapshot.
        if (run >= 0) times[runtime].push(elapsed)
        if (runtime === 'vm' && run >= 0) rss.push(await rssMiB(Number(await readFile(join(vmState, name, 'q', 'qemu.pid'), 'utf8'))))
        // One Agent at a time: boxes left running would slow every later start on a small host.
        await specs.remove(`agents/${name}.yaml`)
        await gone(join(specs.path, `agents/${name}.status.yaml`))
      }
    }
  } finally {
    await controller?.stop()
    for (const name of made) {
      await vmDriver.removeAgent(name, { purgeWorkspace: true }).catch(() => undefined)
    }
    for (const owner of [instance, runtimeOwner(instance, 'vm')]) await removeOwnedObjects(docker, owner).catch((error: Error) => console.error(`clean-up of ${owner}: ${error.message}`))
    await specs.dispose()
    await state.dispose()
  }
  const d = median(times.docker)
  const v = median(times.vm)
  console.log(`bench/vm (b) spec saved -> Ready, median of ${RUNS} interleaved runs after one warm-up of each (one controller, each run a new Agent)`)
  printTable(['runtime', 'median ms', 'runs ms'], [
    ['docker (container)', d.toFixed(0), times.docker.map((x) => x.toFixed(0)).join(' ')],
    ['vm (micro-VM from the boot snapshot)', v.toFixed(0), times.vm.map((x) => x.toFixed(0)).join(' ')],
  ])
  console.log(`ratio vm/docker: ${(v / d).toFixed(2)}x (target <= 2x: ${v / d <= 2 ? 'met' : 'NOT met'})`)
  console.log(`QEMU RSS once Ready (1024 MiB guest): median ${median(rss)} MiB, runs ${rss.join(' ')}`)
}

await main()
