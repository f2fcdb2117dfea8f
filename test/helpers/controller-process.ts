import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import Dockerode from 'dockerode'
import { parseAllDocuments } from 'yaml'
import { packageRoot } from '../../controller/package-root.js'
import type { ObjectStatus } from '../../controller/status/status-types.js'
import { TempFolder } from './temp-folder.js'

/** A unique controller instance name per test file, so tests never see each other's objects. */
export function uniqueInstance(prefix = 't'): string {
  return `${prefix}${randomBytes(3).toString('hex')}`
}

/**
 * `bottle controller` as a real process (built CLI, real Docker engine), so
 * tests can kill -9 it the way a crash would.
 */
export class ControllerProcess {
  private child: ChildProcess | undefined
  output = ''

  constructor(
    readonly specs: TempFolder,
    readonly state: TempFolder,
    readonly instance: string,
    private readonly env: NodeJS.ProcessEnv = {},
    private readonly extraArgs: string[] = [],
  ) {}

  start(): void {
    this.child = spawn(process.execPath, [join(packageRoot(), 'bin/bottle.js'), 'controller', '--dir', this.specs.path, '--instance', this.instance, '--state-dir', this.state.path, '--listen', '127.0.0.1:0', '--resync', '5s', '--log-level', 'debug', ...this.extraArgs], {
      env: { ...process.env, ...this.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    this.child.stdout!.on('data', (d: Buffer) => (this.output += d.toString()))
    this.child.stderr!.on('data', (d: Buffer) => (this.output += d.toString()))
  }

  /** Resolves once the log shows `pattern`. */
  async waitForLog(pattern: RegExp, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs
    while (!pattern.test(this.output)) {
      if (Date.now() > deadline) throw new Error(`controller log never matched ${pattern}:\n${this.output.slice(-3000)}`)
      await sleep(50)
    }
  }

  /** Kills the process the way a crash would, and resolves once it is gone. */
  async kill9(): Promise<void> {
    const child = this.child
    if (!child || child.exitCode !== null || child.signalCode !== null) return
    const exited = new Promise((r) => child.once('exit', r))
    child.kill('SIGKILL')
    await exited
  }

  async stop(): Promise<void> {
    const child = this.child
    // A child that already ended (by itself or a kill9) sends no second 'exit'.
    if (!child || child.exitCode !== null || child.signalCode !== null) return
    const exited = new Promise((r) => child.once('exit', r))
    child.kill('SIGTERM')
    await exited
  }

  async status(file: string, name: string): Promise<ObjectStatus | undefined> {
    const text = await this.specs.readOptional(file.replace(/\.(ya?ml|md)$/, '.status.yaml'))
    if (!text) return undefined
    for (const doc of parseAllDocuments(text) as unknown as { toJS(): { kind: string; metadata: { name: string }; status: ObjectStatus } }[]) {
      const value = doc.toJS()
      if (value.kind === 'Agent' && value.metadata.name === name) return value.status
    }
    return undefined
  }

  /** Polls the status file until `predicate` holds. */
  async waitForStatus(file: string, name: string, predicate: (s: ObjectStatus) => boolean, timeoutMs = 120_000): Promise<ObjectStatus> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const s = await this.status(file, name)
      if (s && predicate(s)) return s
      if (Date.now() > deadline) throw new Error(`status of ${name} never matched; last: ${JSON.stringify(s)}\nlog tail:\n${this.output.slice(-3000)}`)
      await sleep(100)
    }
  }
}

export const isReady = (s: ObjectStatus) => s.conditions.some((c) => c.type === 'Ready' && c.status === 'True')

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms))
}

/** Containers of one controller instance, as the engine lists them (all states). */
export async function instanceContainers(docker: Dockerode, instance: string): Promise<Dockerode.ContainerInfo[]> {
  return docker.listContainers({ all: true, filters: { label: ['bottle.dev/managed=true', `bottle.dev/instance=${instance}`] } })
}

/** Removes everything an instance created: containers, networks, volumes. */
export async function removeInstance(docker: Dockerode, instance: string): Promise<void> {
  const filters = { label: ['bottle.dev/managed=true', `bottle.dev/instance=${instance}`] }
  for (const c of await docker.listContainers({ all: true, filters })) await docker.getContainer(c.Id).remove({ force: true }).catch(() => undefined)
  for (const n of await docker.listNetworks({ filters })) await docker.getNetwork(n.Id).remove().catch(() => undefined)
  const volumes = await docker.listVolumes({ filters })
  for (const v of volumes.Volumes ?? []) await docker.getVolume(v.Name).remove().catch(() => undefined)
}
