/**
 * Load through wrk (C, epoll, one thread), so the load generator costs a
 * fraction of what the Node generator does and leaves the 2-core machine to
 * the proxy and the origin. wrk sends the same POST with the same chat-style
 * JSON body as `load-generator.ts`: absolute URI to a forward proxy for plain
 * HTTP; for intercepted HTTPS, wrk speaks TLS to a CONNECT shim
 * (`connect-shim.ts`) that opens one CONNECT tunnel through the proxy per
 * connection, so the TLS the proxy terminates is wrk's (direct HTTPS goes
 * through a plain relay, the same extra hop). Results are read from
 * a Lua `done` hook: requests, errors and latency percentiles.
 */
import { spawn } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { requestBody, type LoadResult, type LoadSpec } from './load-generator.js'
import { onPath } from './on-path.js'

const here = fileURLToPath(new URL('.', import.meta.url))

/** Lua for wrk: the request (method, target, headers, body) and one JSON result line. */
function script(spec: LoadSpec, bodyPath: string, absolute: boolean): string {
  const path = `/bytes/${spec.bodyBytes}`
  const target = absolute ? `http://${spec.originHost}:${spec.originPort}${path}` : path
  return `
local f = assert(io.open(${JSON.stringify(bodyPath)}, "rb"))
wrk.body = f:read("*a")
f:close()
wrk.method = "POST"
wrk.path = ${JSON.stringify(target)}
wrk.headers["Host"] = ${JSON.stringify(`${spec.originHost}:${spec.originPort}`)}
wrk.headers["Content-Type"] = "application/json"
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('{"requests":%d,"durationUs":%d,"errors":%d,"p50Us":%f,"p99Us":%f}\\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.status + e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
`
}

interface WrkSummary {
  requests: number
  durationUs: number
  errors: number
  p50Us: number
  p99Us: number
}

function wrk(url: string, scriptPath: string, connections: number, ms: number): Promise<WrkSummary> {
  return new Promise((resolve, reject) => {
    const args = ['-t1', `-c${connections}`, `-d${Math.max(1, Math.round(ms / 1000))}s`, '--timeout', '10s', '-s', scriptPath, url]
    const child = spawn('wrk', args, { stdio: ['ignore', 'pipe', 'inherit'] })
    let out = ''
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()))
    child.once('error', reject)
    child.once('exit', (code) => {
      const line = out.split('\n').find((l) => l.startsWith('{"requests"'))
      if (code !== 0 || !line) return reject(new Error(`wrk exited with ${code}: ${out.slice(-500)}`))
      resolve(JSON.parse(line) as WrkSummary)
    })
  })
}

interface Shim {
  port: number
  stop(): void
}

/** A CONNECT shim through the proxy, or (`direct`) a plain relay to the origin. */
async function startShim(proxyPort: number | 'direct', host: string, port: number): Promise<Shim> {
  const child = spawn(process.execPath, [join(here, 'connect-shim.js'), String(proxyPort), `${host}:${port}`], { stdio: ['ignore', 'pipe', 'inherit'] })
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout }).once('line', resolve)
    child.once('exit', (code) => reject(new Error(`connect shim exited with ${code}`)))
  })
  return { port: Number(line), stop: () => child.kill('SIGTERM') }
}

/** Whether wrk is on PATH. */
export function haveWrk(): Promise<boolean> {
  return onPath('wrk', ['--version'])
}

/**
 * One measured run: a warm-up run of `warmupMs` (its requests count towards
 * `totalRequests`, as in the Node generator), then the measured run.
 * `onMeasureStart` is called between the two, so CPU can be read over the
 * measured run alone.
 */
export async function runWrkLoad(spec: LoadSpec, hooks: { onMeasureStart?: () => void } = {}): Promise<LoadResult> {
  const dir = await mkdtemp(join(tmpdir(), 'bottle-wrk-'))
  let shim: Shim | undefined
  try {
    const bodyPath = join(dir, 'body.json')
    await writeFile(bodyPath, requestBody(spec.bodyBytes))
    const scriptPath = join(dir, 'post.lua')
    const https = spec.scheme === 'https'
    await writeFile(scriptPath, script(spec, bodyPath, !https && spec.proxyPort !== undefined))
    let url: string
    if (!https) url = `http://127.0.0.1:${spec.proxyPort ?? spec.originPort}/`
    else {
      // Direct HTTPS goes through a plain relay, so every HTTPS contender pays for the same extra hop.
      shim = await startShim(spec.proxyPort ?? 'direct', spec.originHost, spec.originPort)
      // wrk sends the URL's host as SNI; the proxy checks it against the CONNECT host.
      url = `https://${spec.originHost}:${shim.port}/`
    }
    const warm = spec.warmupMs > 0 ? await wrk(url, scriptPath, spec.connections, spec.warmupMs) : undefined
    hooks.onMeasureStart?.()
    const run = await wrk(url, scriptPath, spec.connections, spec.durationMs)
    const seconds = run.durationUs / 1e6
    return {
      requests: run.requests,
      totalRequests: run.requests + (warm?.requests ?? 0),
      errors: run.errors,
      rps: run.requests / seconds,
      p50Ms: run.p50Us / 1000,
      p99Ms: run.p99Us / 1000,
    }
  } finally {
    shim?.stop()
    await rm(dir, { recursive: true, force: true })
  }
}
