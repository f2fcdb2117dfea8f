/**
 * The bundled gate run as a node process on the host, with the bundle's
 * environment contract (config folder, state folder, listen address) and an
 * environment as bare as the bundle's: no HOME. Its pino lines are kept so
 * tests can assert on decisions and on what must never appear.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'

export interface GateProcess {
  port: number
  url: string
  lines: string[]
  events(name: string): Array<Record<string, unknown>>
  pid: number
  signal(signal: NodeJS.Signals): void
  stop(): Promise<void>
}

export async function startGateProcess(options: { bundle: string; configDir: string; stateDir: string; env?: Record<string, string> }): Promise<GateProcess> {
  const child: ChildProcess = spawn(process.execPath, [options.bundle], {
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      BOTTLE_GIT_GATE_CONFIG_DIR: options.configDir,
      BOTTLE_GIT_GATE_STATE_DIR: options.stateDir,
      BOTTLE_GIT_GATE_LISTEN: '127.0.0.1:0',
      ...options.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const lines: string[] = []
  let pending = ''
  child.stdout?.on('data', (chunk: Buffer) => {
    pending += chunk.toString('utf8')
    const parts = pending.split('\n')
    pending = parts.pop() ?? ''
    lines.push(...parts.filter(Boolean))
  })
  let stderr = ''
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8')
  })
  const parsed = () => lines.flatMap((line) => {
    try {
      return [JSON.parse(line) as Record<string, unknown>]
    } catch {
      return []
    }
  })
  const deadline = Date.now() + 20_000
  let port: number | undefined
  while (port === undefined) {
    const listening = parsed().find((e) => e.event === 'gate.listening')
    if (listening) port = listening.port as number
    else if (child.exitCode !== null || Date.now() > deadline) throw new Error(`the gate did not start: ${stderr}${lines.join('\n')}`)
    else await new Promise((r) => setTimeout(r, 50))
  }
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    lines,
    events: (name) => parsed().filter((e) => e.event === name),
    pid: child.pid ?? -1,
    signal: (signal) => child.kill(signal),
    async stop() {
      if (child.exitCode !== null) return
      child.kill('SIGTERM')
      await once(child, 'exit')
    },
  }
}
