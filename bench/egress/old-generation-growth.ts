/**
 * bench/egress: how often the old generation is collected with the egress
 * proxy's fixed growth factor (30%, sidecars/egress/old-generation.ts) next
 * to a wide one (300%, about where V8's own lands for a busy process). Each
 * run is a fresh node that holds a steady live set and churns through
 * objects that outlive a few event-loop turns, so they are promoted and die
 * in the old generation, as a proxy's in-flight requests do. Counts of full
 * collections depend on the machine's speed and load, which is why this is a
 * benchmark and not a unit test. Target: more than twice as many full
 * collections at 30% as at 300% (measured: 35-39 against 2 on an idle
 * machine, up to 10 under a loaded CI run).
 * Run: npm run build && node dist/bench/egress/old-generation-growth.js [--runs 3]
 */
import { execFileSync } from 'node:child_process'
import { parseArgs } from 'node:util'
import { median, printTable } from '../lib/stats.js'

const moduleUrl = new URL('../../sidecars/egress/old-generation.js', import.meta.url).href

function fullCollectionsDuringChurn(percent: number): number {
  const script = `
import { limitOldGenerationGrowth } from ${JSON.stringify(moduleUrl)}
import { PerformanceObserver, constants } from 'node:perf_hooks'
limitOldGenerationGrowth(${percent})
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

const { values } = parseArgs({ options: { runs: { type: 'string', default: '3' } } })
const runs = Number(values.runs)
const proxy: number[] = []
const wide: number[] = []
for (let i = 0; i < runs; i++) {
  // Interleaved, so a change in the machine's load weighs on both alike.
  proxy.push(fullCollectionsDuringChurn(30))
  wide.push(fullCollectionsDuringChurn(300))
}
printTable(['growth', 'full collections (median)', 'runs'], [
  ['30% (egress)', median(proxy), proxy.join(' ')],
  ['300%', median(wide), wide.join(' ')],
])
const met = median(wide) > 0 && median(proxy) > 2 * median(wide)
console.log(`target (more than twice as many full collections at 30%): ${met ? 'met' : 'NOT met'}`)
process.exitCode = met ? 0 : 1
