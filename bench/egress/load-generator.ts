/**
 * Closed-loop load generator, run as its own process: `connections`
 * keep-alive connections, each sending POST requests with a body of
 * `bodyBytes` back to back, directly or through a forward proxy (absolute URI
 * for http, CONNECT then TLS for https). Prints one JSON result line:
 * requests, errors, req/s and latency percentiles in milliseconds.
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http'
import { Agent as HttpsAgent, request as httpsRequest, type RequestOptions } from 'node:https'
import { isIP } from 'node:net'
import type { Duplex } from 'node:stream'
import { createInterface } from 'node:readline'
import { connect as tlsConnect } from 'node:tls'

export interface LoadSpec {
  scheme: 'http' | 'https'
  originHost: string
  originPort: number
  /** Absent: straight to the origin. */
  proxyPort?: number
  /** PEM the client trusts for HTTPS (the origin's CA directly, the proxy's CA when it intercepts). */
  caPem: string
  bodyBytes: number
  connections: number
  warmupMs: number
  durationMs: number
}

export interface LoadResult {
  /** Completed during the measured window. */
  requests: number
  /** Completed in all, warm-up included (for CPU per request). */
  totalRequests: number
  errors: number
  rps: number
  p50Ms: number
  p99Ms: number
}

class ConnectAgent extends HttpsAgent {
  constructor(
    private readonly proxyPort: number,
    private readonly caPem: string,
  ) {
    super({ keepAlive: true, maxSockets: Infinity })
  }
  override createConnection(options: RequestOptions, callback?: (error: Error | null, socket: Duplex) => void): undefined {
    const connect = httpRequest({ host: '127.0.0.1', port: this.proxyPort, method: 'CONNECT', path: `${options.host}:${options.port}`, agent: false })
    connect.on('connect', (res, socket) => {
      if (res.statusCode !== 200) {
        callback?.(new Error(`CONNECT ${res.statusCode}`), socket)
        socket.destroy()
        return
      }
      // `host` is what the certificate is checked against; no SNI for an IP literal.
      const tls = tlsConnect({ socket, ca: this.caPem, host: options.host ?? '', servername: isIP(options.host ?? '') ? '' : (options.host ?? '') })
      tls.once('secureConnect', () => callback?.(null, tls))
      tls.once('error', (error) => callback?.(error, tls))
    })
    connect.on('error', (error) => callback?.(error, undefined as unknown as Duplex))
    connect.end()
    return undefined
  }
}

/** One POST through the proxy (or straight to the origin) with the spec's body, over a keep-alive agent. */
function sender(spec: LoadSpec): { send: () => Promise<void>; close: () => void } {
  const body = requestBody(spec.bodyBytes)
  const path = `/bytes/${spec.bodyBytes}`
  const https = spec.scheme === 'https'
  const agent = https
    ? spec.proxyPort
      ? new ConnectAgent(spec.proxyPort, spec.caPem)
      : new HttpsAgent({ keepAlive: true, maxSockets: Infinity, ca: spec.caPem })
    : new HttpAgent({ keepAlive: true, maxSockets: Infinity })
  const send = () =>
    new Promise<void>((resolve, reject) => {
      const headers = { 'Content-Type': 'application/json', 'Content-Length': body.length }
      const req = https
        ? httpsRequest({ host: spec.originHost, port: spec.originPort, method: 'POST', path, headers, agent: agent as HttpsAgent, servername: '' })
        : spec.proxyPort
          ? httpRequest({ host: '127.0.0.1', port: spec.proxyPort, method: 'POST', path: `http://${spec.originHost}:${spec.originPort}${path}`, headers, agent })
          : httpRequest({ host: spec.originHost, port: spec.originPort, method: 'POST', path, headers, agent })
      req.on('response', (res: IncomingMessage) => {
        res.on('data', () => {})
        res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`status ${res.statusCode}`))))
        res.on('error', reject)
      })
      req.on('error', reject)
      req.end(body)
    })
  return { send, close: () => agent.destroy() }
}

export async function runLoad(spec: LoadSpec): Promise<LoadResult> {
  const { send, close } = sender(spec)
  const latencies: number[] = []
  let errors = 0
  let total = 0
  let recording = false
  let stopped = false
  const loop = async () => {
    while (!stopped) {
      const started = performance.now()
      try {
        await send()
        total++
        if (recording) latencies.push(performance.now() - started)
      } catch {
        if (recording) errors++
      }
    }
  }
  const loops = Array.from({ length: spec.connections }, loop)
  await new Promise((resolve) => setTimeout(resolve, spec.warmupMs))
  recording = true
  const began = performance.now()
  await new Promise((resolve) => setTimeout(resolve, spec.durationMs))
  recording = false
  const seconds = (performance.now() - began) / 1000
  stopped = true
  await Promise.allSettled(loops)
  close()
  latencies.sort((a, b) => a - b)
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? Number.NaN
  return { requests: latencies.length, totalRequests: total, errors, rps: latencies.length / seconds, p50Ms: at(0.5), p99Ms: at(0.99) }
}

/** What one batch of `countedLoad` did. */
export interface BatchResult {
  requests: number
  errors: number
  seconds: number
}

/**
 * Exactly `count` requests per batch over `spec.connections` connections
 * that stay open from batch to batch, so a batch measures the proxy's
 * steady state: no new connections, no TLS handshakes.
 */
export function countedLoad(spec: LoadSpec): { batch: (count: number) => Promise<BatchResult>; close: () => void } {
  const { send, close } = sender(spec)
  const batch = async (count: number): Promise<BatchResult> => {
    let issued = 0
    let errors = 0
    const began = performance.now()
    const loop = async () => {
      while (issued < count) {
        issued++
        await send().catch(() => errors++)
      }
    }
    await Promise.all(Array.from({ length: spec.connections }, loop))
    return { requests: count, errors, seconds: (performance.now() - began) / 1000 }
  }
  return { batch, close }
}

const SENTENCES = [
  'Please refactor the request handler so that errors are reported once.',
  'The test in src/app.test.ts fails with a timeout after 5000 ms on CI.',
  'Here is the diff: replace the callback with an async function and await it.',
  'Run npm test again and summarise which suites passed, 42 of 43 did last time.',
]

/** A JSON body of exactly `size` bytes that reads like agent traffic (a chat payload), not one long run of a single character. */
export function requestBody(size: number): Buffer {
  let text = ''
  for (let i = 0; text.length < size; i++) text += `${SENTENCES[i % SENTENCES.length]} `
  const frame = '{"role":"user","content":""}'
  const content = text.slice(0, Math.max(0, size - frame.length))
  const body = Buffer.from(`{"role":"user","content":"${content}"}`)
  return body.length > size ? body.subarray(0, size) : body
}

// Run as a process: spec as JSON in argv[2]. With `--batches`, one batch per stdin line (its request
// count), one BatchResult line each, on connections kept open until stdin ends.
if (process.argv[1]?.endsWith('load-generator.js')) {
  const spec = JSON.parse(process.argv[2] ?? '{}') as LoadSpec
  if (process.argv[3] === '--batches') serveBatches(spec)
  else runLoad(spec).then(
    (result) => process.stdout.write(`${JSON.stringify(result)}\n`),
    (error: Error) => {
      process.stderr.write(`${error.message}\n`)
      process.exit(1)
    },
  )
}

function serveBatches(spec: LoadSpec): void {
  const load = countedLoad(spec)
  let queue = Promise.resolve()
  const lines = createInterface({ input: process.stdin })
  lines.on('line', (line) => {
    queue = queue.then(async () => {
      process.stdout.write(`${JSON.stringify(await load.batch(Number(line)))}\n`)
    })
  })
  lines.on('close', () => void queue.then(() => load.close()))
}
