/**
 * bench/reconcile (a): a spec saved in the watched folder -> its status file
 * says Ready, against a plain dockerode script that creates the same objects
 * (networks, workspace volume, the bundle and the agent from the same images
 * and options, the same generated files) and waits for the same signal (the
 * egress daemon reporting the config it loaded). Target: <= 1.2x.
 * Run: npm run build && node dist/bench/reconcile/spec-to-ready.js
 */
import { createHash } from 'node:crypto'
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import Dockerode from 'dockerode'
import pino from 'pino'
import { mintCertificateAuthority } from '../../sidecars/egress/certificates.js'
import { agentLayout } from '../../controller/plan/agent-layout.js'
import { desiredAgent } from '../../controller/plan/desired-agent.js'
import { renderSidecarConfigs } from '../../controller/plan/sidecar-configs.js'
import { Controller } from '../../controller/reconcile/controller.js'
import { DockerDriver } from '../../controller/runtime/docker/docker-driver.js'
import { DriverRegistry } from '../../controller/runtime/driver-registry.js'
import { DockerImageStore } from '../../controller/runtime/docker/image-store.js'
import { containerCreateOptions } from '../../controller/runtime/docker/container-options.js'
import { egressNetworkOptions, internalNetworkOptions } from '../../controller/runtime/docker/network-options.js'
import { dockerNames, ownershipLabels } from '../../controller/runtime/docker/names.js'
import { loadSpecTree } from '../../controller/spec/load-spec-tree.js'
import { LocalFolderSource } from '../../controller/spec/sources/local-folder-source.js'
import { readyAt, removeOwnedObjects } from '../lib/agent-status.js'
import { median, printTable } from '../lib/stats.js'
import { TempDir, sleep } from '../lib/temp-dir.js'

const RUNS = 5
const docker = new Dockerode()
const log = pino({ level: 'warn' })
const BOTTLE = 'apiVersion: bottle.dev/v1alpha1\nkind: Bottle\nmetadata: {name: dev}\nspec:\n  egress:\n    routes:\n      - host: registry.npmjs.org\n'
const agentYaml = (name: string) => `apiVersion: bottle.dev/v1alpha1\nkind: Agent\nmetadata: {name: ${name}}\nspec:\n  bottle: dev\n`

async function main(): Promise<void> {
  const images = new DockerImageStore({ logger: log, resolveMemoMs: 1000 })
  const refs = { agent: await images.ensure({ kind: 'agent', provider: 'claude' }), sidecars: await images.ensure({ kind: 'sidecars' }) }
  const specs = await TempDir.create('bench-specs-')
  const state = await TempDir.create('bench-state-')
  const controllerInstance = `bench${process.pid}c`
  const scriptInstance = `bench${process.pid}s`
  const controllerTimes: number[] = []
  const scriptTimes: number[] = []
  let controller: Controller | undefined
  try {
    await specs.write('bottles/dev.yaml', BOTTLE)
    controller = new Controller({
      source: new LocalFolderSource(specs.path),
      drivers: new DriverRegistry({ docker: new DockerDriver({ instance: controllerInstance, logger: log }) }),
      images,
      stateDir: join(state.path, 'controller'),
      bundleUser: `${process.getuid?.() ?? 0}:${process.getgid?.() ?? 0}`,
      env: {},
      log,
    })
    await controller.start()
    for (let run = 0; run < RUNS; run++) {
      // The controller: save a spec, wait for its status file to say Ready.
      const name = `a${run}`
      const t0 = performance.now()
      await specs.write(`agents/${name}.yaml`, agentYaml(name))
      await readyAt(join(specs.path, `agents/${name}.status.yaml`), name)
      controllerTimes.push(performance.now() - t0)

      // The baseline: the same objects, by hand.
      scriptTimes.push(await plainDockerode(scriptInstance, `s${run}`, refs, join(state.path, 'script')))
    }
  } finally {
    // A controller left running would recreate what the clean-up removes; a failing clean-up must not hide why the run stopped.
    await controller?.stop()
    await removeOwnedObjects(docker, controllerInstance).catch((error: Error) => console.error(`clean-up of ${controllerInstance}: ${error.message}`))
    await removeOwnedObjects(docker, scriptInstance).catch((error: Error) => console.error(`clean-up of ${scriptInstance}: ${error.message}`))
    await specs.dispose()
    await state.dispose()
  }
  const c = median(controllerTimes)
  const s = median(scriptTimes)
  console.log(`bench/reconcile (a) spec saved -> Ready, median of ${RUNS} runs (each run creates a new agent: 2 networks, 1 volume, 2 containers)`)
  printTable(['path', 'median ms', 'runs ms'], [
    ['plain dockerode script (baseline)', s.toFixed(0), scriptTimes.map((x) => x.toFixed(0)).join(' ')],
    ['bottle controller (file -> status Ready)', c.toFixed(0), controllerTimes.map((x) => x.toFixed(0)).join(' ')],
  ])
  console.log(`ratio controller/script: ${(c / s).toFixed(2)}x (target <= 1.2x: ${c / s <= 1.2 ? 'met' : 'NOT met'})`)
}

/** What the controller does for a new Agent, as a straight-line script with no watcher, queue, plan or status. */
async function plainDockerode(instance: string, agent: string, images: { agent: string; sidecars: string }, stateDir: string): Promise<number> {
  const tree = await loadSpecTree(await prepareTree(stateDir, agent))
  const resolved = tree.agents.get(agent)!
  const layout = agentLayout(stateDir, agent)
  const t0 = performance.now()
  const ca = mintCertificateAuthority({ commonName: `bench ${agent}` })
  const desired = desiredAgent({ agent: resolved, layout, images, caCertPem: ca.certPem, secrets: new Map(), bundleUser: `${process.getuid?.() ?? 0}:${process.getgid?.() ?? 0}`, configs: renderSidecarConfigs(resolved, { homeDir: '/nonexistent' }), identities: new Map() })
  const bindSources = Object.values(desired.parts).flatMap((part) => part.mounts.flatMap((m) => (m.kind === 'bind' ? [m.source] : [])))
  for (const dir of [join(layout.sidecarsConfig, 'egress'), join(layout.sidecarsState, 'egress'), layout.agentConfig, ...bindSources]) await mkdir(dir, { recursive: true, mode: 0o700 })
  await writeFile(join(layout.sidecarsConfig, 'egress', 'ca.key'), ca.keyPem, { mode: 0o600 })
  await writeFile(join(layout.sidecarsConfig, 'egress', 'ca.crt'), ca.certPem)
  for (const f of desired.files) await writeFile(join(layout.root, f.path), f.content, { mode: f.mode })
  const names = dockerNames(instance, agent)
  await docker.createNetwork(internalNetworkOptions(instance, agent, names))
  await docker.createNetwork(egressNetworkOptions(instance, agent, names))
  await docker.createVolume({ Name: names.workspace, Labels: ownershipLabels(instance, agent, 'workspace') })
  const sidecars = await docker.createContainer(containerCreateOptions({ instance, agent, part: 'sidecars', spec: desired.parts.sidecars, names }))
  await docker.getNetwork(names.egressNetwork).connect({ Container: sidecars.id })
  await sidecars.start()
  const box = await docker.createContainer(containerCreateOptions({ instance, agent, part: 'agent', spec: desired.parts.agent, names }))
  await box.start()
  const expected = `sha256:${createHash('sha256').update(desired.files.find((f) => f.path === 'sidecars/egress/config.json')!.content).digest('hex')}`
  for (;;) {
    const applied = await readFile(join(layout.sidecarsState, 'egress', 'applied.json'), 'utf8').catch(() => '')
    if (applied.includes(expected)) break
    await sleep(10)
  }
  const elapsed = performance.now() - t0
  await rm(layout.root, { recursive: true, force: true }).catch(() => undefined)
  return elapsed
}

async function prepareTree(stateDir: string, agent: string): Promise<string> {
  const root = join(stateDir, `tree-${agent}`)
  await mkdir(join(root, 'agents'), { recursive: true })
  await writeFile(join(root, 'dev.yaml'), BOTTLE)
  await writeFile(join(root, 'agents', `${agent}.yaml`), agentYaml(agent))
  return root
}

await main()
