/**
 * After against before in the steady state: what the proxy costs per
 * request once its code is compiled, which is what a long-running sidecar
 * pays. Both bundles run side by side for the whole scenario, each with its
 * own load generator whose connections stay open; each is first warmed up
 * until its CPU per request stops falling (`warmedUp`), then the two take
 * turns, batch by batch, each batch exactly `requests`
 * requests, the order flipping every round. CPU per request is the proxy's
 * CPU over its batch (from /proc) divided by the batch's count.
 *
 * The fresh-process runs of run.ts count the JIT's warm-up in every run
 * (each starts a new process and measures a few seconds); for a bundle with
 * more code that warm-up is most of the difference there. It is reported
 * here too, as the CPU per request of the warm-up batch, so it is not lost.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { createInterface, type Interface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { join } from 'node:path'
import { cpuTicksOf, type Contender } from './contenders.js'
import type { BatchResult, LoadSpec } from './load-generator.js'

const here = fileURLToPath(new URL('.', import.meta.url))

/** A load generator process that runs one batch per request. */
interface BatchClient {
  batch(count: number): Promise<BatchResult>
  close(): void
}

function startBatchClient(spec: LoadSpec): BatchClient {
  const child: ChildProcessWithoutNullStreams = spawn(process.execPath, [join(here, 'load-generator.js'), JSON.stringify(spec), '--batches'])
  child.stderr.pipe(process.stderr)
  const lines: Interface = createInterface({ input: child.stdout })
  const waiting: ((line: string) => void)[] = []
  lines.on('line', (line) => waiting.shift()?.(line))
  return {
    batch: (count) =>
      new Promise<BatchResult>((resolve, reject) => {
        const onExit = () => reject(new Error('load generator exited'))
        child.once('exit', onExit)
        waiting.push((line) => {
          child.off('exit', onExit)
          resolve(JSON.parse(line) as BatchResult)
        })
        child.stdin.write(`${count}\n`)
      }),
    close: () => child.stdin.end(),
  }
}

export interface SteadyResult {
  /** CPU µs per request, one value per round. */
  cpuUsPerRequest: number[]
  /** CPU µs per request over the first warm-up batch (the JIT compiling the proxy's code is most of it). */
  warmupCpuUsPerRequest: number
  /** Warm-up batches run before the rounds, the first included. */
  warmupBatches: number
  errors: number
}

/** A warm-up batch that costs at least this share of the one before it shows the JIT no longer paying off. */
const SETTLED_SHARE = 0.95
/** Warm-up batches at most, whatever they show (a noisy host may never look settled). */
export const MAX_WARMUP_BATCHES = 8

/**
 * Whether warm-up is over, given the CPU per request of each warm-up batch so
 * far: the last batch cost no less than SETTLED_SHARE of the one before it,
 * or MAX_WARMUP_BATCHES have run. A bundle with more code keeps getting
 * cheaper for longer (measured at 64 B over one connection: five batches of
 * 4000 requests, against three for the older bundle), and a fixed warm-up
 * counted its last compiling batches as steady state.
 */
export function warmedUp(costs: readonly number[]): boolean {
  if (costs.length >= MAX_WARMUP_BATCHES) return true
  if (costs.length < 2) return false
  return (costs[costs.length - 1] as number) >= SETTLED_SHARE * (costs[costs.length - 2] as number)
}

export interface SteadyScenario {
  /** The load each contender gets, without `proxyPort` and `caPem` (taken from the contender). */
  spec: Omit<LoadSpec, 'proxyPort' | 'caPem'>
  /** PEM the client trusts when a contender names none (the origin's CA). */
  originCaPem: string
  requests: number
  warmupRequests: number
  rounds: number
}

/** Rounds of exactly `requests` requests per contender, taking turns; returns one result per contender, by name. */
export async function measureSteadyState(contenders: readonly Contender[], scenario: SteadyScenario): Promise<Map<string, SteadyResult>> {
  const clients = contenders.map((c) => startBatchClient({ ...scenario.spec, proxyPort: c.port, caPem: c.interceptCaPem ?? scenario.originCaPem }))
  const results: SteadyResult[] = contenders.map(() => ({ cpuUsPerRequest: [], warmupCpuUsPerRequest: Number.NaN, warmupBatches: 0, errors: 0 }))
  /** CPU µs per request of one batch of `count` through contender `k`. */
  const measured = async (k: number, count: number): Promise<number> => {
    const pid = (contenders[k] as Contender).pid
    const before = cpuTicksOf(pid)
    const batch = await (clients[k] as BatchClient).batch(count)
    ;(results[k] as SteadyResult).errors += batch.errors
    return ((cpuTicksOf(pid) - before) * 10_000) / count
  }
  try {
    for (let k = 0; k < contenders.length; k++) {
      const costs = [await measured(k, scenario.warmupRequests)]
      while (!warmedUp(costs)) costs.push(await measured(k, scenario.requests))
      ;(results[k] as SteadyResult).warmupCpuUsPerRequest = costs[0] as number
      ;(results[k] as SteadyResult).warmupBatches = costs.length
    }
    for (let round = 0; round < scenario.rounds; round++) {
      for (let i = 0; i < contenders.length; i++) {
        const k = round % 2 === 0 ? i : contenders.length - 1 - i
        ;(results[k] as SteadyResult).cpuUsPerRequest.push(await measured(k, scenario.requests))
      }
    }
  } finally {
    for (const client of clients) client.close()
  }
  return new Map(contenders.map((c, k) => [c.name, results[k] as SteadyResult]))
}
