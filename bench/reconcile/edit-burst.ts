/**
 * bench/reconcile (c): 100 saves of one spec within one second -> how many
 * reconciles of that Agent. The watcher coalesces the burst and the queue
 * collapses what is queued. Target: <= 3. Baseline: 100 (one per save).
 * Run: npm run build && node dist/bench/reconcile/edit-burst.js
 */
import pino from 'pino'
import { Controller } from '../../controller/reconcile/controller.js'
import { DriverRegistry } from '../../controller/runtime/driver-registry.js'
import { FakeDriver } from '../../controller/runtime/fake/fake-driver.js'
import { FakeImageStore } from '../../controller/runtime/fake/fake-image-store.js'
import { LocalFolderSource } from '../../controller/spec/sources/local-folder-source.js'
import { median, printTable } from '../lib/stats.js'
import { TempDir, sleep } from '../lib/temp-dir.js'

const RUNS = 5
const EDITS = 100

async function once(): Promise<{ reconciles: number; lastEnv: string | undefined }> {
  const specs = await TempDir.create('bench-burst-specs-')
  const state = await TempDir.create('bench-burst-state-')
  await specs.write('bottles/dev.yaml', 'apiVersion: bottle.dev/v1alpha1\nkind: Bottle\nmetadata: {name: dev}\nspec: {}\n')
  const agent = (i: number) => `apiVersion: bottle.dev/v1alpha1\nkind: Agent\nmetadata: {name: impl}\nspec:\n  bottle: dev\n  env: {EDIT: "${i}"}\n`
  await specs.write('agents/impl.yaml', agent(0))
  const driver = new FakeDriver()
  const controller = new Controller({ source: new LocalFolderSource(specs.path), drivers: new DriverRegistry({ docker: driver }), images: new FakeImageStore(), stateDir: state.path, bundleUser: '1000:1000', env: {}, log: pino({ level: 'silent' }), resyncMs: 3_600_000 })
  await controller.start()
  await controller.idle()
  const before = controller.metrics.reconcileCount()
  const started = Date.now()
  for (let i = 1; i <= EDITS; i++) {
    await specs.write('agents/impl.yaml', agent(i))
    const due = started + (i * 1000) / EDITS
    await sleep(Math.max(0, due - Date.now()))
  }
  await sleep(1000)
  await controller.idle()
  const reconciles = controller.metrics.reconcileCount() - before
  const lastEnv = driver.partSpec('impl', 'agent')?.env.EDIT
  await controller.stop()
  await specs.dispose()
  await state.dispose()
  return { reconciles, lastEnv }
}

const results = []
for (let r = 0; r < RUNS; r++) results.push(await once())
const counts = results.map((r) => r.reconciles)
if (results.some((r) => r.lastEnv !== String(EDITS))) throw new Error('the agent did not end on the last edit')
console.log(`bench/reconcile (c) ${EDITS} saves of one spec in 1 s, ${RUNS} runs`)
printTable(['path', 'reconciles (median)', 'runs'], [
  ['one reconcile per save (baseline)', String(EDITS), '-'],
  ['bottle (coalesced watcher + collapsing queue)', String(median(counts)), counts.join(' ')],
])
console.log(`ratio: ${(median(counts) / EDITS).toFixed(2)}x of the baseline; target <= 3 reconciles: ${median(counts) <= 3 ? 'met' : 'NOT met'}; the agent ends on the last edit: yes`)
