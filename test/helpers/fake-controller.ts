import { createHash } from 'node:crypto'
import { readFile, writeFile, mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { agentLayout } from '../../controller/plan/agent-layout.js'
import { Controller } from '../../controller/reconcile/controller.js'
import { DriverRegistry } from '../../controller/runtime/driver-registry.js'
import { FakeDriver } from '../../controller/runtime/fake/fake-driver.js'
import { FakeImageStore } from '../../controller/runtime/fake/fake-image-store.js'
import { LocalFolderSource } from '../../controller/spec/sources/local-folder-source.js'
import { captureLog } from './log-capture.js'
import { TempFolder } from './temp-folder.js'

/**
 * A controller over a real spec folder and real state folder, with the
 * in-memory driver standing in for the default runtime (docker); `drivers`
 * replaces the registry, for tests of other runtimes. The fake bundle
 * "loads" its egress config whenever it is created, started or signalled, as
 * the real egress daemon reports it.
 */
export async function startFakeController(options: { specs: TempFolder; env?: NodeJS.ProcessEnv; driver?: FakeDriver; drivers?: DriverRegistry; state?: TempFolder; egressAcks?: boolean }) {
  const state = options.state ?? (await TempFolder.create('bottle-state-'))
  const driver = options.driver ?? new FakeDriver()
  const images = new FakeImageStore()
  const capture = captureLog()
  if (options.egressAcks !== false) {
    driver.afterMutation = async (op, agent, part) => {
      if (part !== 'sidecars') return
      const layout = agentLayout(state.path, agent)
      const config = await readFile(join(layout.sidecarsConfig, 'egress', 'config.json'), 'utf8').catch(() => undefined)
      if (config === undefined) return
      await mkdir(join(layout.sidecarsState, 'egress'), { recursive: true })
      const configHash = `sha256:${createHash('sha256').update(config).digest('hex')}`
      const now = new Date().toISOString()
      await writeFile(join(layout.sidecarsState, 'egress', 'applied.json'), JSON.stringify({ appliedAt: now, configHash, routes: [], attemptedAt: now, attemptedConfigHash: configHash }))
      void op
    }
  }
  const source = new LocalFolderSource(options.specs.path, { debounceMs: 40, maxWaitMs: 400 })
  const controller = new Controller({
    source,
    drivers: options.drivers ?? new DriverRegistry({ docker: driver }),
    images,
    stateDir: state.path,
    bundleUser: '1000:1000',
    env: options.env ?? {},
    log: capture.log,
    resyncMs: 60_000,
    baseBackoffMs: 50,
    maxBackoffMs: 200,
  })
  await controller.start()
  await controller.idle()
  return {
    controller,
    driver,
    images,
    state,
    logs: capture,
    /**
     * Makes a change to the spec folder and waits until the controller has
     * loaded the specs after it and finished the reconciles that load queued.
     */
    async afterChange(change: () => Promise<unknown>): Promise<void> {
      const loaded = controller.nextSpecLoad()
      await change()
      await loaded
      await controller.idle()
    },
    async stop(): Promise<void> {
      await controller.stop()
    },
  }
}

export const BOTTLE_DEV = `apiVersion: bottle.dev/v1alpha1
kind: Bottle
metadata: {name: dev}
spec:
  env: {GIT_AUTHOR_NAME: dev}
  egress:
    routes:
      - host: api.github.com
        auth: {scheme: Bearer, tokenRef: {env: GH_TOKEN}}
`

export function agentSpec(name: string, extra = ''): string {
  return `apiVersion: bottle.dev/v1alpha1
kind: Agent
metadata: {name: ${name}}
spec:
  bottle: dev
${extra}`
}
