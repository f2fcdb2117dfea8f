/**
 * DLP body scan throughput against the cheapest thing a proxy that reads a
 * JSON body must do anyway: decode the bytes and JSON.parse them. Both run
 * side by side in every round; the table shows medians over rounds and the
 * ratio of the medians (scan time / baseline time).
 *
 *   npx tsc -p tsconfig.json && node dist/bench/dlp/scan.js [rounds]
 */
import { Buffer } from 'node:buffer'
import { cpus } from 'node:os'
import { createScanner } from '../../sidecars/dlp/index.js'
import { median, printTable } from '../lib/stats.js'

const ROUNDS = Number(process.argv[2] ?? 9)
const MIN_ROUND_MS = 150

/** Deterministic filler so every run measures the same bytes. */
function words(seed: number, count: number): string {
  const vocab = ['const', 'value', 'return', 'function', 'test', 'the', 'agent', 'file', 'src/app.ts', 'await', 'import', 'error', '=>', '{', '}', '(x)', 'if', 'null', 'config', 'path']
  let s = seed
  const out: string[] = []
  for (let i = 0; i < count; i++) {
    s = (s * 1103515245 + 12345) >>> 0
    out.push(vocab[s % vocab.length] as string)
  }
  return out.join(' ')
}

/** Grow a body with `add` until the next step would pass `size`, then pad one field to land on it. */
function fill(size: number, build: (n: number, pad: string) => string): string {
  let n = 0
  while (build(n + 1, '').length <= size) n++
  const base = build(n, '')
  return build(n, 'x'.repeat(Math.max(0, size - base.length)))
}

/** An LLM API request: a few large strings of code and prose. */
function apiRequest(size: number): string {
  return fill(size, (n, pad) =>
    JSON.stringify({ model: 'claude-x', pad, messages: Array.from({ length: n }, (_, i) => ({ role: i % 2 ? 'assistant' : 'user', content: words(i, 40) })) }),
  )
}

/** A records payload: many small keys and values. */
function records(size: number): string {
  return fill(size, (n, pad) =>
    JSON.stringify({
      pad,
      rows: Array.from({ length: n }, (_, i) => ({ id: i, name: `item-${i}`, url: `https://api.example.com/v1/items/${i}`, tags: ['a', `t${i % 7}`], ok: i % 2 === 0, price: i * 1.25 })),
    }),
  )
}

interface Measured {
  baseline: number[]
  scan: number[]
}

function loop(iterations: number, fn: () => unknown): number {
  const start = performance.now()
  for (let i = 0; i < iterations; i++) fn()
  return performance.now() - start
}

function calibrate(fn: () => unknown): number {
  let iterations = 1
  while (loop(iterations, fn) < MIN_ROUND_MS / 3) iterations *= 2
  return iterations
}

function measure(bytes: Uint8Array, baseline: () => unknown, scan: () => unknown): Measured {
  const nBase = calibrate(baseline)
  const nScan = calibrate(scan)
  const out: Measured = { baseline: [], scan: [] }
  const mbps = (iterations: number, ms: number) => (bytes.byteLength * iterations) / 1e6 / (ms / 1000)
  for (let round = 0; round < ROUNDS; round++) {
    // Alternate the order so neither side always runs on a warmer cache.
    if (round % 2 === 0) {
      out.baseline.push(mbps(nBase, loop(nBase, baseline)))
      out.scan.push(mbps(nScan, loop(nScan, scan)))
    } else {
      out.scan.push(mbps(nScan, loop(nScan, scan)))
      out.baseline.push(mbps(nBase, loop(nBase, baseline)))
    }
  }
  return out
}

function main(): void {
  // Fake values of realistic length, made up here: the bench measures matching cost, not detection.
  const scanner = createScanner({ knownSecrets: ['bench-known-value-0123456789abcdef', 'Zq7Wm3Xr9Tn2Lk5Vb8Hc4Jd6'] })
  const decoder = new TextDecoder()
  const rows: (string | number)[][] = []
  for (const [shape, build] of [
    ['api request', apiRequest],
    ['records', records],
  ] as const) {
    for (const size of [64, 4096, 65536]) {
      const text = build(size)
      const bytes = new Uint8Array(Buffer.from(text, 'utf8'))
      const baseline = () => JSON.parse(decoder.decode(bytes))
      const scan = () => {
        const verdict = scanner.scanBody({ contentType: 'application/json', contentEncoding: undefined, body: bytes })
        if (!verdict.ok || verdict.findings.length > 0) throw new Error('the bench body must scan clean')
        return verdict
      }
      const m = measure(bytes, baseline, scan)
      const base = median(m.baseline)
      const scanned = median(m.scan)
      rows.push([shape, `${bytes.byteLength} B`, base.toFixed(1), scanned.toFixed(1), (base / scanned).toFixed(2)])
    }
  }
  console.log(`node ${process.version}, ${cpus()[0]?.model ?? 'unknown cpu'} x${cpus().length}, ${ROUNDS} rounds of >= ${MIN_ROUND_MS / 3} ms each`)
  printTable(['body', 'size', 'JSON.parse MB/s', 'scanBody MB/s', 'scan/parse time'], rows)
}

main()
