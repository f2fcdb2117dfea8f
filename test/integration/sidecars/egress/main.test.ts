/**
 * The egress daemon as a process (the esbuild bundle of main.ts, as the
 * sidecar image runs it): environment contract, SIGHUP and folder reloads,
 * SIGTERM, stdout logs, and its memory while a 50 MB upload streams through.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { readFileSync } from 'node:fs'
import { createServer, type AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseAppliedState, type EgressAppliedState } from '../../../../sidecars/shared/bundle-contract.js'
import { mintCertificateAuthority } from '../../../../sidecars/egress/certificates.js'
import type { EgressConfigInput } from '../../../../sidecars/egress/config.js'
import { startOrigin, type Origin } from '../../../unit/sidecars/egress/support/origin.js'
import { viaProxy } from '../../../unit/sidecars/egress/support/proxy-client.js'
import { bundleEgress } from './support/bundle.js'

const MiB = 1024 * 1024
const SECRET = `bt_${randomBytes(18).toString('base64url')}`
let work: string
let bundle: string
let origin: Origin

interface Daemon {
  child: ChildProcess
  port: number
  configDir: string
  stateDir: string
  lines: string[]
  stop(): Promise<number | null>
}

async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1')
  await once(server, 'listening')
  const port = (server.address() as AddressInfo).port
  server.close()
  return port
}

async function writeAtomically(path: string, text: string): Promise<void> {
  await writeFile(`${path}.tmp`, text, { mode: 0o600 })
  await rename(`${path}.tmp`, path)
}

async function startDaemon(name: string, config: EgressConfigInput | undefined, env: Record<string, string> = {}): Promise<Daemon> {
  const configDir = join(work, name, 'config')
  const stateDir = join(work, name, 'state')
  await mkdir(configDir, { recursive: true })
  if (config) {
    const ca = mintCertificateAuthority({ commonName: `${name} CA` })
    await writeFile(join(configDir, 'ca.crt'), ca.certPem)
    await writeFile(join(configDir, 'ca.key'), ca.keyPem, { mode: 0o600 })
    await writeFile(join(configDir, 'secrets.json'), JSON.stringify({ github: SECRET }), { mode: 0o600 })
    await writeFile(join(configDir, 'config.json'), JSON.stringify(config))
  }
  const port = await freePort()
  const child = spawn(process.execPath, [bundle], {
    env: { PATH: process.env.PATH ?? '', BOTTLE_EGRESS_CONFIG_DIR: configDir, BOTTLE_EGRESS_STATE_DIR: stateDir, BOTTLE_EGRESS_LISTEN: `127.0.0.1:${port}`, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const lines: string[] = []
  let partial = ''
  child.stdout?.on('data', (chunk: Buffer) => {
    const text = partial + chunk.toString()
    const parts = text.split('\n')
    partial = parts.pop() ?? ''
    lines.push(...parts)
  })
  child.stderr?.on('data', (chunk: Buffer) => lines.push(`stderr: ${chunk.toString()}`))
  const daemon: Daemon = {
    child,
    port,
    configDir,
    stateDir,
    lines,
    stop: async () => {
      if (child.exitCode !== null) return child.exitCode
      child.kill('SIGTERM')
      const [code] = (await once(child, 'exit')) as [number | null]
      return code
    },
  }
  if (env.BOTTLE_EGRESS_LISTEN === undefined) await waitFor(() => lines.some((l) => l.includes('"proxy.listening"')), `${name} did not start: ${lines.join('\n')}`)
  return daemon
}

async function waitFor(condition: () => boolean | Promise<boolean>, message: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (await condition()) return
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  throw new Error(message)
}

async function applied(daemon: Daemon): Promise<EgressAppliedState> {
  return appliedState(await readFile(join(daemon.stateDir, 'applied.json'), 'utf8'))
}

function rssOf(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024
}

function generatedBody(size: number): { stream: Readable; sha256: Promise<string> } {
  const hash = createHash('sha256')
  let sent = 0
  let done: (hex: string) => void = () => {}
  const sha256 = new Promise<string>((resolve) => (done = resolve))
  const stream = new Readable({
    read() {
      if (sent >= size) {
        done(hash.digest('hex'))
        this.push(null)
        return
      }
      const piece = Buffer.alloc(Math.min(64 * 1024, size - sent), sent % 251)
      hash.update(piece)
      sent += piece.length
      this.push(piece)
    },
  })
  return { stream, sha256 }
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'bottle-egress-main-'))
  bundle = await bundleEgress(work)
  origin = await startOrigin({ keepBody: 1024 })
})
afterAll(async () => {
  await origin.close()
  await rm(work, { recursive: true, force: true })
})

describe('the egress daemon process', () => {
  let daemon: Daemon
  beforeAll(async () => {
    daemon = await startDaemon('main', {
      allowPrivate: ['127.0.0.1/32', '::1/128'],
      limits: { bytesPerMinute: 512 * MiB },
      routes: [
        { host: '127.0.0.1', ports: [origin.port], scan: { body: false } },
        { host: 'localhost', ports: [origin.port] },
      ],
    })
  })
  afterAll(async () => {
    await daemon.stop()
  })

  it('streams a 50 MB upload on a scan: {body: false} route with its RSS bounded', async () => {
    // A first small upload pays for what a process sets up once (the DLP engine, compiled code), so the
    // growth measured below is the stream's alone: on a loaded machine the two together reached 26 MB.
    const warm = generatedBody(1 * MiB)
    const first = await viaProxy(daemon.port, `http://127.0.0.1:${origin.port}/upload`, { method: 'PUT', headers: { 'Content-Length': String(1 * MiB) }, body: warm.stream })
    expect(first.status).toBe(200)
    const baseline = rssOf(daemon.child.pid ?? 0)
    let peak = baseline
    const sampler = setInterval(() => (peak = Math.max(peak, rssOf(daemon.child.pid ?? 0))), 20)
    const body = generatedBody(50 * MiB)
    const answer = await viaProxy(daemon.port, `http://127.0.0.1:${origin.port}/upload`, {
      method: 'PUT',
      headers: { 'Content-Length': String(50 * MiB) },
      body: body.stream,
    })
    clearInterval(sampler)
    expect(answer.status).toBe(200)
    expect(JSON.parse(answer.body)).toMatchObject({ bodyBytes: 50 * MiB, bodySha256: await body.sha256 })
    // Streaming means the body is never held: the process grows by buffers in flight, not by 50 MB.
    // Absolute RSS is a benchmark figure (bench/egress reports it against the node floor), not a test bound.
    expect(peak - baseline).toBeLessThan(25 * MiB)
  })

  it('refuses the same upload above the scan cap on a scanning route', async () => {
    const body = generatedBody(50 * MiB)
    const answer = await viaProxy(daemon.port, `http://localhost:${origin.port}/upload`, {
      method: 'PUT',
      headers: { 'Content-Length': String(50 * MiB), Expect: '100-continue' },
      body: body.stream,
    })
    expect(answer.status).toBe(403)
    expect(answer.body).toMatch(/^bottle-egress: body-too-large: /)
  })

  it('writes one JSON line per decision on stdout, never the secret', async () => {
    await viaProxy(daemon.port, `http://localhost:${origin.port}/q?token=${SECRET}`)
    await waitFor(() => daemon.lines.some((l) => l.includes('"rule":"dlp"')), 'no dlp decision line')
    for (const line of daemon.lines) {
      expect(() => JSON.parse(line)).not.toThrow()
      expect(line).not.toContain(SECRET)
    }
    const decision = JSON.parse(daemon.lines.find((l) => l.includes('"rule":"dlp"')) ?? '{}')
    expect(decision).toMatchObject({ event: 'request.denied', rule: 'dlp', host: 'localhost', path: '/q', msg: 'request denied' })
  })

  it('reloads on SIGHUP and records the attempt in applied.json', async () => {
    const before = await applied(daemon)
    await new Promise((resolve) => setTimeout(resolve, 10))
    daemon.child.kill('SIGHUP')
    await waitFor(async () => (await applied(daemon)).attemptedAt > before.attemptedAt, 'SIGHUP did not reload')
    expect((await applied(daemon)).configHash).toBe(before.configHash)
  })

  it('keeps serving with the old config when the folder gets an invalid one', async () => {
    const before = await applied(daemon)
    await writeAtomically(join(daemon.configDir, 'config.json'), JSON.stringify({ routes: [{ host: 'localhost', tls: 'sideways' }] }))
    await waitFor(async () => (await applied(daemon)).error !== undefined, 'invalid config not reported')
    const state = await applied(daemon)
    expect(state.configHash).toBe(before.configHash)
    expect(state.error).toBe('routes[0].tls: expected one of "intercept"|"passthrough"')
    expect((await viaProxy(daemon.port, `http://localhost:${origin.port}/still`)).status).toBe(200)
  })

  it('exits 0 on SIGTERM', async () => {
    const other = await startDaemon('term', { routes: [] })
    expect(await other.stop()).toBe(0)
    expect(other.lines.some((l) => l.includes('"proxy.stopping"'))).toBe(true)
  })
})

describe('startup edge cases', () => {
  it('refuses a bad listen address with one line on stderr and exit code 2', async () => {
    const daemon = await startDaemon('badlisten', { routes: [] }, { BOTTLE_EGRESS_LISTEN: 'nonsense' })
    const [code] = (await once(daemon.child, 'exit')) as [number]
    expect(code).toBe(2)
    expect(daemon.lines.join('')).toBe('stderr: bottle-egress: BOTTLE_EGRESS_LISTEN must be host:port (got "nonsense")\n')
  })

  it('starts without a config, denies everything as no-config, and picks the config up when it appears', async () => {
    const daemon = await startDaemon('empty', undefined)
    try {
      const denied = await viaProxy(daemon.port, `http://127.0.0.1:${origin.port}/`)
      expect(denied.status).toBe(403)
      expect(denied.body).toMatch(/^bottle-egress: no-config: /)
      expect((await applied(daemon)).error).toMatch(/^config\.json: missing in /)
      await writeAtomically(join(daemon.configDir, 'config.json'), JSON.stringify({ allowPrivate: ['127.0.0.1/32'], routes: [{ host: '127.0.0.1', ports: [origin.port], tls: 'passthrough' }] }))
      await waitFor(async () => (await applied(daemon)).configHash !== null, 'config not picked up')
      expect((await viaProxy(daemon.port, `http://127.0.0.1:${origin.port}/`)).status).toBe(200)
    } finally {
      await daemon.stop()
    }
  })
})

/** The report as the controller reads it: a file that is not one fails the test here. */
function appliedState(text: string): EgressAppliedState {
  const state = parseAppliedState(text)
  if (!state) throw new Error(`applied.json is not an applied-state report: ${text.slice(0, 200)}`)
  return state
}
