import { execFileSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'
import { describe, expect, it } from 'vitest'

const source = fileURLToPath(new URL('../../../../sidecars/egress/old-generation.ts', import.meta.url))

/**
 * Full collections in a fresh node that holds a steady live set and churns
 * through objects that outlive a few event-loop turns (so they are promoted
 * and die in the old generation, as a proxy's in-flight requests do), after
 * running `setup`.
 */
async function fullCollectionsDuringChurn(setup: string): Promise<number> {
  const bundled = await build({ entryPoints: [source], bundle: true, platform: 'node', format: 'esm', write: false, logLevel: 'silent' })
  const script = `${bundled.outputFiles[0]?.text ?? ''}
import { PerformanceObserver, constants } from 'node:perf_hooks'
${setup}
let full = 0
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) if (entry.detail.kind === constants.NODE_PERFORMANCE_GC_MAJOR) full++
}).observe({ entryTypes: ['gc'] })
const live = []
for (let i = 0; i < 8; i++) live.push(Array.from({ length: 20000 }, (_, k) => ({ k })))
const inFlight = []
for (let turn = 0; turn < 2000; turn++) {
  const batch = []
  for (let i = 0; i < 200; i++) batch.push({ s: 'y'.repeat(500) + i, b: Buffer.allocUnsafeSlow(4096) })
  inFlight.push(batch)
  if (inFlight.length > 4) inFlight.shift()
  await new Promise((resolve) => setImmediate(resolve))
}
await new Promise((resolve) => setTimeout(resolve, 50))
process.stdout.write(String(full))`
  return Number(execFileSync(process.execPath, ['--input-type=module', '-e', script]).toString())
}

describe('limitOldGenerationGrowth', () => {
  // V8's own factor moves with how fast the machine runs, so the test compares fixed factors:
  // 30% (the proxy's) against 300% (about where V8's own lands for a busy process).
  it('fixes how far the old generation grows between full collections', async () => {
    const proxyFactor = await fullCollectionsDuringChurn('limitOldGenerationGrowth()')
    const wideFactor = await fullCollectionsDuringChurn('limitOldGenerationGrowth(300)')
    expect(wideFactor).toBeGreaterThan(0)
    // Measured here: 35-39 full collections at 30%; 2 at 300% on an idle machine, up to 10 under a
    // loaded CI run (other triggers, such as external memory, weigh more when the process runs slower).
    expect(proxyFactor).toBeGreaterThan(2 * wideFactor)
  }, 60_000)
})
