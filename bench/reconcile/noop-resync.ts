/**
 * bench/reconcile (b): a resync of Agents that are already as specified
 * must change nothing. Measures wall time and the number of mutating driver
 * calls for 100 Agents on the in-memory driver and 20 on Docker, next to the
 * floor: one bare observe() of the same driver. Targets: zero mutating
 * calls; under 100 ms for the 20 with Docker.
 * Run: npm run build && node dist/bench/reconcile/noop-resync.js [--docker-agents 20]
 */
import { join } from 'node:path'
import Dockerode from 'dockerode'
import pino from 'pino'
import { parseAllDocuments } from 'yaml'
import { readFile } from 'node:fs/promises'
import { Controller } from '../../controller/reconcile/controller.js'
import { DockerDriver } from '../../controller/runtime/docker/docker-driver.js'
import { DockerImageStore } from '../../controller/runtime/docker/image-store.js'
import { FakeDriver } from '../../controller/runtime/fake/fake-driver.js'
import { FakeImageStore } from '../../controller/runtime/fake/fake-image-store.js'
import type { RuntimeDriver } from '../../controller/runtime/driver.js'
import { DriverRegistry } from '../../controller/runtime/driver-registry.js'
import type { ImageStore } from '../../controller/runtime/images.js'
import { LocalFolderSource } from '../../controller/spec/sources/local-folder-source.js'
import { median, printTable } from '../lib/stats.js'
import { TempDir, sleep } from '../lib/temp-dir.js'

const RUNS = 9
const log = pino({ level: 'warn' })
const BOTTLE = 'apiVersion: bottle.dev/v1alpha1\nkind: Bottle\nmetadata: {name: dev}\nspec:\n  egress:\n    routes:\n      - host: registry.npmjs.org\n'

async function allReady(specs: TempDir, count: number): Promise<void> {
  for (;;) {
    let ready = 0
    for (let i = 0; i < count; i++) {
      const text = await readFile(join(specs.path, `agents/a${i}.status.yaml`), 'utf8').catch(() => '')
      const docs = parseAllDocuments(text) as unknown as { toJS(): { status?: { conditions?: { type: string; status: string }[] } } }[]
      if (docs.some((d) => d.toJS()?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'))) ready++
    }
    if (ready === count) return
    await sleep(200)
  }
}

async function measure(label: string, driver: RuntimeDriver, images: ImageStore, count: number, fakeAcks?: (controllerState: string) => void): Promise<string[][]> {
  const specs = await TempDir.create('bench-noop-specs-')
  const state = await TempDir.create('bench-noop-state-')
  await specs.write('bottles/dev.yaml', BOTTLE)
  for (let i = 0; i < count; i++) await specs.write(`agents/a${i}.yaml`, `apiVersion: bottle.dev/v1alpha1\nkind: Agent\nmetadata: {name: a${i}}\nspec: {bottle: dev}\n`)
  fakeAcks?.(state.path)
  const controller = new Controller({ source: new LocalFolderSource(specs.path), drivers: new DriverRegistry({ docker: driver }), images, stateDir: state.path, bundleUser: `${process.getuid?.() ?? 0}:${process.getgid?.() ?? 0}`, env: {}, log, concurrency: 4, resyncMs: 3_600_000 })
  await controller.start()
  await allReady(specs, count)
  await controller.idle()
  await sleep(500)
  await controller.idle()

  const floor: number[] = []
  const resync: number[] = []
  const mutationsBefore = driver.mutations
  for (let run = 0; run < RUNS; run++) {
    let t0 = performance.now()
    await driver.observe()
    floor.push(performance.now() - t0)
    t0 = performance.now()
    for (let i = 0; i < count; i++) controller.enqueue(`a${i}`)
    await controller.idle()
    resync.push(performance.now() - t0)
  }
  const mutations = driver.mutations - mutationsBefore
  await controller.stop()
  await specs.dispose()
  await state.dispose()
  return [
    [`${label}: one observe() (floor)`, String(count), median(floor).toFixed(1), '-', '-'],
    [`${label}: no-op resync of every agent`, String(count), median(resync).toFixed(1), String(mutations), (median(resync) / median(floor)).toFixed(1)],
  ]
}

async function main(): Promise<void> {
  const dockerAgents = Number(process.argv[process.argv.indexOf('--docker-agents') + 1] ?? 20) || 20
  const rows: string[][] = []

  const fake = new FakeDriver()
  const { agentLayout } = await import('../../controller/plan/agent-layout.js')
  const { createHash } = await import('node:crypto')
  const { mkdir, writeFile } = await import('node:fs/promises')
  rows.push(
    ...(await measure('fake', fake, new FakeImageStore(), 100, (stateDir) => {
      // The in-memory bundle "loads" its config the moment it starts, as the real egress reports it.
      fake.afterMutation = async (_op, agent, part) => {
        if (part !== 'sidecars') return
        const layout = agentLayout(stateDir, agent)
        const config = await readFile(join(layout.sidecarsConfig, 'egress', 'config.json'), 'utf8')
        const hash = `sha256:${createHash('sha256').update(config).digest('hex')}`
        await mkdir(join(layout.sidecarsState, 'egress'), { recursive: true })
        const now = new Date().toISOString()
        await writeFile(join(layout.sidecarsState, 'egress', 'applied.json'), JSON.stringify({ appliedAt: now, configHash: hash, attemptedAt: now, attemptedConfigHash: hash, routes: [] }))
      }
    })),
  )

  const instance = `benchnoop${process.pid}`
  const docker = new Dockerode()
  try {
    rows.push(...(await measure('docker', new DockerDriver({ instance, logger: log }), new DockerImageStore({ logger: log, resolveMemoMs: 1000 }), dockerAgents)))
  } finally {
    const filters = { label: [`bottle.dev/instance=${instance}`] }
    for (const c of await docker.listContainers({ all: true, filters })) await docker.getContainer(c.Id).remove({ force: true })
    for (const n of await docker.listNetworks({ filters })) await docker.getNetwork(n.Id).remove()
    for (const v of (await docker.listVolumes({ filters })).Volumes ?? []) await docker.getVolume(v.Name).remove()
  }
  console.log(`bench/reconcile (b) no-op resync, median of ${RUNS} runs`)
  printTable(['path', 'agents', 'median ms', 'mutating calls', 'x floor'], rows)
}

await main()
