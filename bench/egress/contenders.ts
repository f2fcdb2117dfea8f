/**
 * The proxies the egress benchmark compares, each started as its own
 * process on loopback: bottle's egress (the esbuild bundle of main.ts, as the
 * sidecar image runs it), squid (plain HTTP forwarding; Debian's build has no
 * ssl-bump), mitmproxy's mitmdump (plain and intercepted HTTPS), and the
 * policy-free Node proxy of node-floor.ts (both).
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { readFileSync } from 'node:fs'
import { chmod, mkdir, writeFile } from 'node:fs/promises'
import { createServer, connect } from 'node:net'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { daemonArgv, daemonEnv } from '../../sidecars/init/daemon-process.js'

const here = fileURLToPath(new URL('.', import.meta.url))

export interface Contender {
  name: string
  port: number
  pid: number
  /** PEM the client must trust for intercepted HTTPS through this proxy. */
  interceptCaPem?: string
  stop(): Promise<void>
}

export async function freePort(): Promise<number> {
  const server = createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const port = (server.address() as { port: number }).port
  server.close()
  return port
}

async function waitForPort(port: number, child: ChildProcess, name: string): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode}`)
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1')
      socket.once('connect', () => {
        socket.destroy()
        resolve(true)
      })
      socket.once('error', () => resolve(false))
    })
    if (ok) return
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  throw new Error(`${name} did not listen on ${port}`)
}

function stopper(child: ChildProcess): () => Promise<void> {
  return async () => {
    if (child.exitCode !== null) return
    child.kill('SIGTERM')
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
    await once(child, 'exit')
    clearTimeout(timer)
  }
}

/** CPU time (user + system) a process has used, in clock ticks of 10 ms (Linux). */
export function cpuTicksOf(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? []
    return Number(fields[11] ?? 0) + Number(fields[12] ?? 0)
  } catch {
    return 0
  }
}

/** Resident set size of a process in bytes (Linux). */
export function rssOf(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8')
    return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024
  } catch {
    return 0
  }
}

export interface BottleSetup {
  /** Contender name, and the prefix of its config and state folders (default `bottle`). */
  name?: string
  bundlePath: string
  /** Extra node arguments before the bundle (BENCH_BOTTLE_NODE_ARGS), e.g. `--cpu-prof` to profile under load. */
  nodeArgs?: string[]
  workDir: string
  originPorts: number[]
  originCaPem: string
  agentCa: { certPem: string; keyPem: string }
  /** Generated secret values in secrets.json (BENCH_BOTTLE_SECRETS): every answer is then searched for them. */
  secretValues?: number
}

export async function startBottle(setup: BottleSetup): Promise<Contender> {
  const name = setup.name ?? 'bottle'
  const configDir = join(setup.workDir, `${name}-config`)
  const stateDir = join(setup.workDir, `${name}-state`)
  await mkdir(configDir, { recursive: true })
  const config = {
    allowPrivate: ['127.0.0.1/32'],
    upstreamCaCerts: [setup.originCaPem],
    limits: { requestsPerMinute: 1_000_000_000, bytesPerMinute: 1_000_000_000_000 },
    routes: [{ host: '127.0.0.1', ports: setup.originPorts }],
  }
  await writeFile(join(configDir, 'config.json'), JSON.stringify(config))
  const secrets = Object.fromEntries(Array.from({ length: setup.secretValues ?? 0 }, (_, i) => [`bench${i}`, `bench-secret-${i}-${randomBytes(40).toString('base64url')}`]))
  await writeFile(join(configDir, 'secrets.json'), JSON.stringify(secrets), { mode: 0o600 })
  await writeFile(join(configDir, 'ca.crt'), setup.agentCa.certPem)
  await writeFile(join(configDir, 'ca.key'), setup.agentCa.keyPem, { mode: 0o600 })
  const port = await freePort()
  // Started the way the bundle's init starts it, with the same node options and environment defaults.
  const child = spawn(process.execPath, [...(setup.nodeArgs ?? []), ...daemonArgv(setup.bundlePath)], {
    env: daemonEnv('egress', { ...process.env, BOTTLE_EGRESS_CONFIG_DIR: configDir, BOTTLE_EGRESS_STATE_DIR: stateDir, BOTTLE_EGRESS_LISTEN: `127.0.0.1:${port}` }),
    stdio: ['ignore', 'ignore', 'inherit'],
  })
  await waitForPort(port, child, 'bottle egress')
  return { name, port, pid: child.pid ?? 0, interceptCaPem: setup.agentCa.certPem, stop: stopper(child) }
}

/** node-floor.ts, started as bottle is: the same node options, environment defaults and CAs. */
export async function startNodeFloor(setup: Omit<BottleSetup, 'bundlePath' | 'name' | 'originPorts'>): Promise<Contender> {
  const dir = join(setup.workDir, 'node-floor')
  await mkdir(dir, { recursive: true })
  await writeFile(join(dir, 'ca.crt'), setup.agentCa.certPem)
  await writeFile(join(dir, 'ca.key'), setup.agentCa.keyPem, { mode: 0o600 })
  await writeFile(join(dir, 'upstream-ca.crt'), setup.originCaPem)
  const port = await freePort()
  const child = spawn(process.execPath, daemonArgv(join(here, 'node-floor.js')), {
    env: daemonEnv('egress', {
      ...process.env,
      BENCH_FLOOR_LISTEN: String(port),
      BENCH_FLOOR_CA_CERT: join(dir, 'ca.crt'),
      BENCH_FLOOR_CA_KEY: join(dir, 'ca.key'),
      BENCH_FLOOR_UPSTREAM_CA: join(dir, 'upstream-ca.crt'),
    }),
    stdio: ['ignore', 'ignore', 'inherit'],
  })
  await waitForPort(port, child, 'node floor')
  return { name: 'node-floor', port, pid: child.pid ?? 0, interceptCaPem: setup.agentCa.certPem, stop: stopper(child) }
}

export async function startSquid(workDir: string): Promise<Contender> {
  const dir = join(workDir, 'squid')
  await mkdir(dir, { recursive: true })
  const port = await freePort()
  const conf = [
    `http_port 127.0.0.1:${port}`,
    'http_access allow all',
    'cache deny all',
    'cache_mem 8 MB',
    'access_log none',
    `cache_log ${join(dir, 'cache.log')}`,
    `pid_filename ${join(dir, 'squid.pid')}`,
    `coredump_dir ${dir}`,
    'shutdown_lifetime 0 seconds',
    'forwarded_for delete',
    'via off',
    'client_persistent_connections on',
    'server_persistent_connections on',
  ].join('\n')
  const confPath = join(dir, 'squid.conf')
  await writeFile(confPath, `${conf}\n`)
  // Squid drops to its own user when started as root; let it reach and write its files.
  await chmod(workDir, 0o755)
  await chmod(dir, 0o777)
  const child = spawn('squid', ['-N', '-f', confPath], { stdio: ['ignore', 'ignore', 'ignore'] })
  await waitForPort(port, child, 'squid')
  return { name: 'squid', port, pid: child.pid ?? 0, stop: stopper(child) }
}

export async function startMitmdump(workDir: string, originCaPath: string, agentCa: { certPem: string; keyPem: string }): Promise<Contender> {
  const confdir = join(workDir, 'mitmproxy')
  await mkdir(confdir, { recursive: true })
  // mitmproxy reads its CA (key and certificate in one PEM) from its confdir.
  await writeFile(join(confdir, 'mitmproxy-ca.pem'), `${agentCa.keyPem}${agentCa.certPem}`, { mode: 0o600 })
  const port = await freePort()
  const child = spawn(
    'mitmdump',
    ['-q', '--listen-host', '127.0.0.1', '--listen-port', String(port), '--set', `confdir=${confdir}`, '--set', `ssl_verify_upstream_trusted_ca=${originCaPath}`],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  )
  await waitForPort(port, child, 'mitmdump')
  return { name: 'mitmdump', port, pid: child.pid ?? 0, interceptCaPem: agentCa.certPem, stop: stopper(child) }
}
