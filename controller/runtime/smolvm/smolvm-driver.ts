/**
 * SmolvmDriver: the `smolvm` runtime (macOS, libkrun). An Agent's `agent`
 * part is a smolvm machine booted from its image's packed artifact; its
 * `sidecars` part, the bundle, stays a container, driven through a Docker
 * driver of this runtime's own owner (see BundleHost), so the docker
 * runtime never takes it for its own.
 *
 * The machine's network is smolvm's allowlist: `--net` with exactly one
 * `--allow-cidr`, the bundle's address as the host reaches it (/32), or no
 * network at all while there is no bundle. smolvm fixes the allowlist when
 * a machine is made, so a bundle that comes back on another address gets
 * the box a new machine (its workspace is a host folder and survives).
 *
 * The part's process runs under the same runner as the vm runtime's
 * (guest-part.ts), started with `machine exec`; its output, pid and exit
 * code are files in the guest, read with `machine exec`. What a container
 * keeps in the engine, the box keeps in its Agent's folder (0700): the
 * part's record, the workspace folder and the output of earlier boots. A
 * restarted controller adopts machines from those records and
 * `machine ls --json`; nothing lives only in this process.
 */
import { randomBytes } from 'node:crypto'
import { EventEmitter } from 'node:events'
import { existsSync } from 'node:fs'
import { networkInterfaces } from 'node:os'
import { appendFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { PassThrough, Writable } from 'node:stream'
import type { Logger } from 'pino'
import { BUNDLE_ALIASES } from '../../plan/bundle-services.js'
import type { LogFields } from '../../log-events.js'
import { AGENT_NAME, boxName } from '../agent-names.js'
import type { BundleHost } from '../bundle-host.js'
import { loopbackAddressPresent, missingLoopbackAliasReason } from '../loopback-addresses.js'
import {
  DriverError,
  type Availability,
  type ExecOptions,
  type ExecResult,
  type LogOptions,
  type ObservedAgent,
  type ObservedPart,
  type PartEvent,
  type PartName,
  type PartSpec,
  type RemoveOptions,
  type RuntimeDriver,
} from '../driver.js'
import { GUEST_PART_DIR, launchArgv, parseCount, prepareScript, resolvePartCommand, shellWord, type GuestPartCommand } from '../guest-part.js'
import { ensurePrivateDir } from '../../atomic-write.js'
import { AgentChanges } from '../agent-changes.js'
import { observedBoxAgent } from '../box-observation.js'
import { partOutputLines, sleepUnless } from '../guest-output.js'
import type { InteractiveSession, SessionOptions } from '../interactive-session.js'
import { bundleEvents, mergedEvents, PART_EVENT } from '../merged-events.js'
import { agentFolders, readPartRecord, writePartRecord } from '../part-records.js'
import { envFileText, wrappedArgv } from './guest-exec.js'
import type { ImagePacker } from './image-pack.js'
import { machineCreateArgv, machineExecArgv, SmolvmCli, SMOLVM_INSTALL_HINT, type SmolvmCliOptions, type SmolvmMachine } from './smolvm-cli.js'

/** Where the driver's files live in the guest. Tests point them at relative paths, which the fake smolvm keeps per machine. */
export interface GuestPaths {
  /** The runner's folder (tmpfs in a real guest: a boot starts it clean). */
  partDir: string
  /** Where the bundle's names are written, so the agent dials them as on every runtime. */
  hostsFile: string
}

export const DEFAULT_GUEST_PATHS: GuestPaths = { partDir: GUEST_PART_DIR, hostsFile: '/etc/hosts' }

export interface SmolvmDriverOptions {
  bundleHost: BundleHost
  /** How an image becomes what `machine create --from` takes. */
  packer: ImagePacker
  /** Controller instance, for machine names. */
  instance: string
  /** One 0700 folder per Agent under it. */
  stateDir: string
  logger: Logger
  smolvm?: SmolvmCliOptions
  guestPaths?: GuestPaths
  /** How long a started machine may take to run `true`. Default 5 s. */
  readyTimeoutMs?: number
  /** How long a stop waits for the part's process after SIGTERM. Default 10 s. */
  stopTimeoutMs?: number
  /** How often events() looks for machines that died and parts that ended. Default 1 s. */
  pollMs?: number
  /**
   * Whether this host answers on a loopback address the bundle is
   * published on. Default: this host's interfaces (all of 127/8 on Linux,
   * only lo0's addresses on macOS). Tests stand in for the host.
   */
  hasLoopbackAddress?: (address: string) => boolean
  /** Set when the runtime's own settings are wrong: the one-line reason every Agent on it gets. */
  misconfigured?: string
}

/** Whether this host answers on `address` now: looked up each time, so an alias added by the user counts without a restart. */
export function hostHasLoopbackAddress(address: string): boolean {
  return loopbackAddressPresent(address, process.platform, networkInterfaces())
}

/** Every decision the driver logs; one pino line each. */
export type SmolvmDriverDecision =
  | 'workspace-created'
  | 'smolvm-machine-created'
  | 'smolvm-machine-deleted'
  | 'smolvm-bundle-moved'
  | 'part-created'
  | 'part-replaced'
  | 'part-started'
  | 'part-stopped'
  | 'part-removed'
  | 'part-signalled'
  | 'agent-removed'

/** What the driver keeps about an Agent's box, in part.json. */
interface PartRecord {
  id: string
  spec: PartSpec
  createdAt: string
  /** The machine this record made, and what it was made with (smolvm cannot change either later). */
  machine?: { name: string; artifact: string; allowAddress?: string }
  /** Resolved against the image at the last boot: what exec and attach run with. */
  run?: GuestPartCommand
  startedAt?: string
  finishedAt?: string
  exitCode?: number
  restartCount?: number
}

interface AgentPaths {
  dir: string
  record: string
  workspace: string
  output: string
}

/** What the runner's files say, read in one exec. */
interface PartFiles {
  pid?: number
  exit?: number
  restarts?: number
}

export class SmolvmDriver implements RuntimeDriver {
  readonly kind = 'smolvm'
  readonly #bundle: BundleHost
  readonly #packer: ImagePacker
  readonly #instance: string
  readonly #root: string
  readonly #log: Logger
  readonly #cli: SmolvmCli
  readonly #guest: GuestPaths
  readonly #readyTimeoutMs: number
  readonly #stopTimeoutMs: number
  readonly #pollMs: number
  readonly #misconfigured: string | undefined
  readonly #hasLoopbackAddress: (address: string) => boolean
  readonly #events = new EventEmitter()
  /** The change of each Agent's box under way; one at a time per Agent. */
  readonly #changes = new AgentChanges('smolvm')

  constructor(options: SmolvmDriverOptions) {
    this.#bundle = options.bundleHost
    this.#packer = options.packer
    this.#instance = options.instance
    this.#root = options.stateDir
    this.#log = options.logger.child({ driver: 'smolvm', instance: options.instance })
    this.#cli = new SmolvmCli(options.smolvm)
    this.#guest = options.guestPaths ?? DEFAULT_GUEST_PATHS
    this.#readyTimeoutMs = options.readyTimeoutMs ?? 5000
    this.#stopTimeoutMs = options.stopTimeoutMs ?? 10_000
    this.#pollMs = options.pollMs ?? 1000
    this.#misconfigured = options.misconfigured
    this.#hasLoopbackAddress = options.hasLoopbackAddress ?? hostHasLoopbackAddress
    this.#events.setMaxListeners(0)
  }

  get mutations(): number {
    return this.#changes.count + this.#bundle.mutations
  }

  /** smolvm on PATH and the bundle's engine up. Looked up each time (a PATH lookup is cheap), so installing smolvm needs no restart. */
  async available(): Promise<Availability> {
    if (this.#misconfigured !== undefined) return { ok: false, reason: this.#misconfigured }
    if ((await this.#cli.locate()) === undefined) return { ok: false, reason: `smolvm is not on PATH (${SMOLVM_INSTALL_HINT})` }
    return (await this.#bundle.available()).ok ? { ok: true } : { ok: false, reason: 'the bundle\'s container engine is not available' }
  }

  async observe(): Promise<ObservedAgent[]> {
    const bundles = new Map((await this.#bundle.observe()).map((b) => [b.agent, b]))
    const folders = await agentFolders(this.#root)
    const machines = folders.length > 0 ? await this.#machines('observe') : new Map<string, SmolvmMachine>()
    const observed: ObservedAgent[] = []
    for (const agent of [...new Set([...bundles.keys(), ...folders])].sort()) {
      const bundle = bundles.get(agent)
      const paths = this.#paths(agent)
      const record = await this.#readRecord(paths)
      const box = record ? await this.#observePart(agent, record, machines) : undefined
      const seen = observedBoxAgent(agent, bundle, box, existsSync(paths.workspace) ? paths.workspace : undefined)
      if (seen) observed.push(seen)
    }
    return observed
  }

  async ensureInfrastructure(agent: string): Promise<void> {
    const paths = this.#paths(agent, 'ensure-infrastructure')
    await this.#bundle.ensureInfrastructure(agent)
    if (existsSync(paths.workspace)) return
    await this.#mutate('ensure-infrastructure', agent, async () => {
      await ensurePrivateDir(paths.dir)
      await mkdir(paths.workspace, { recursive: true, mode: 0o700 })
    })
    this.#decided('workspace-created', { agent })
  }

  async createPart(agent: string, part: PartName, spec: PartSpec): Promise<void> {
    if (part === 'sidecars') {
      await this.#requireLoopbackAlias(agent, 'create-part')
      await this.#bundle.createPart(agent, part, spec)
      await this.#followBundle(agent)
      return
    }
    const paths = this.#paths(agent, 'create-part')
    if (!existsSync(paths.workspace) || !(await this.#bundleInfrastructureReady(agent))) {
      throw new DriverError('smolvm', 'create-part', agent, 'infrastructure missing; ensureInfrastructure must run first')
    }
    await this.#mutate('create-part', agent, async () => {
      const previous = await this.#readRecord(paths)
      if (previous) {
        await this.#stopBox(agent, previous, { keepOutput: false })
        await this.#deleteMachine(agent, previous)
        this.#decided('part-replaced', { agent, part, previousHash: previous.spec.hash })
      }
      await rm(paths.output, { force: true })
      const record: PartRecord = { id: randomBytes(6).toString('hex'), spec, createdAt: new Date().toISOString() }
      await this.#writeRecord(paths, record)
      try {
        await this.#boot(agent, record)
      } catch (error) {
        // A half-made part must not look like a finished one.
        const made = (await this.#readRecord(paths)) ?? record
        await this.#deleteMachine(agent, made).catch(() => undefined)
        await rm(paths.record, { force: true })
        throw error
      }
    })
    this.#decided('part-created', { agent, part, image: spec.image, hash: spec.hash })
  }

  async startPart(agent: string, part: PartName): Promise<void> {
    if (part === 'sidecars') {
      await this.#requireLoopbackAlias(agent, 'start-part')
      await this.#bundle.startPart(agent, part)
      await this.#followBundle(agent)
      return
    }
    const paths = this.#paths(agent, 'start-part')
    const record = await this.#readRecord(paths)
    if (!record) throw new DriverError('smolvm', 'start-part', agent, 'no such part')
    if ((await this.#partState(agent, record)).state === 'running') return
    await this.#mutate('start-part', agent, async () => {
      // A box whose process ended keeps its machine; a start boots it anew, as a container's start runs its command anew.
      await this.#stopBox(agent, record, { keepOutput: true })
      await this.#boot(agent, (await this.#readRecord(paths)) ?? record)
    })
    this.#decided('part-started', { agent, part })
  }

  async stopPart(agent: string, part: PartName): Promise<void> {
    if (part === 'sidecars') return this.#bundle.stopPart(agent, part)
    const paths = this.#paths(agent, 'stop-part')
    const record = await this.#readRecord(paths)
    if (!record || !(await this.#machineRunning(agent, record))) return
    await this.#mutate('stop-part', agent, () => this.#stopBox(agent, record, { keepOutput: true, terminate: true }))
    this.#decided('part-stopped', { agent, part })
  }

  async removePart(agent: string, part: PartName): Promise<void> {
    if (part === 'sidecars') return this.#bundle.removePart(agent, part)
    const paths = this.#paths(agent, 'remove-part')
    const record = await this.#readRecord(paths)
    if (!record) return
    await this.#mutate('remove-part', agent, async () => {
      await this.#stopBox(agent, record, { keepOutput: false })
      await this.#deleteMachine(agent, record)
      await Promise.all([rm(paths.record, { force: true }), rm(paths.output, { force: true })])
    })
    this.#emit(agent, 'destroy')
    this.#decided('part-removed', { agent, part })
  }

  async signalPart(agent: string, part: PartName, signal: NodeJS.Signals): Promise<void> {
    if (part === 'sidecars') return this.#bundle.signalPart(agent, part, signal)
    const { machine, pid } = await this.#runningPart(agent, 'signal-part')
    await this.#mutate('signal-part', agent, async () => {
      await this.#guestChecked(machine, ['kill', '-s', signal.replace(/^SIG/, ''), String(pid)], `kill ${signal} ${pid}`)
    })
    this.#decided('part-signalled', { agent, part, signal })
  }

  async removeAgent(agent: string, options: RemoveOptions): Promise<void> {
    const paths = this.#paths(agent, 'remove-agent')
    await this.removePart(agent, 'agent')
    await this.#bundle.removeAgent(agent, options)
    if (!existsSync(paths.dir)) return
    if (options.purgeWorkspace) await this.#mutate('remove-agent', agent, () => rm(paths.dir, { recursive: true, force: true }))
    this.#decided('agent-removed', { agent, workspace: options.purgeWorkspace ? 'purged' : 'kept' })
  }

  async exec(agent: string, part: PartName, argv: string[], options: ExecOptions = {}): Promise<ExecResult> {
    if (part === 'sidecars') return this.#bundle.exec(agent, part, argv, options)
    if (argv.length === 0) throw new DriverError('smolvm', 'exec', agent, 'empty command')
    const { machine, record } = await this.#runningPart(agent, 'exec')
    try {
      const command = await this.#guestCommand(agent, machine, record, argv, options)
      const result = await this.#cli.run(machineExecArgv(machine, command, { stdin: options.stdin !== undefined }), {
        ...(options.stdin === undefined ? {} : { stdin: options.stdin }),
        ...(options.signal === undefined ? {} : { signal: options.signal }),
      })
      return { exitCode: result.exitCode, stdout: result.stdout, stderr: result.stderr }
    } catch (error) {
      throw error instanceof DriverError ? error : new DriverError('smolvm', 'exec', agent, (error as Error).message, { cause: error })
    }
  }

  /**
   * A command on the guest's terminal through `machine exec -i -t`. smolvm
   * sizes that terminal from its own client's; with pipes in between there is
   * none, so resize() cannot reach the guest and does nothing.
   */
  async openSession(agent: string, part: PartName, argv: string[], options: SessionOptions): Promise<InteractiveSession> {
    if (part === 'sidecars') return this.#bundle.openSession(agent, part, argv, options)
    if (argv.length === 0) throw new DriverError('smolvm', 'open-session', agent, 'empty command')
    const { machine, record } = await this.#runningPart(agent, 'open-session')
    const command = await this.#guestCommand(agent, machine, record, argv, {
      ...options,
      env: { COLUMNS: String(options.columns), LINES: String(options.rows), ...(options.env ?? {}) },
    })
    const { child } = await this.#cli.start(machineExecArgv(machine, command, { stdin: true, tty: true }))
    const output = new PassThrough()
    child.stdout.pipe(output, { end: false })
    child.stderr.pipe(output, { end: false })
    let closedByClient = false
    const exited = child.then((result) => {
      output.end()
      if (closedByClient) throw new DriverError('smolvm', 'session', agent, 'closed by the client before the command ended')
      return result.exitCode ?? 128
    })
    exited.catch(() => undefined)
    return {
      input: new Writable({
        write(chunk: Buffer, _encoding, callback) {
          child.stdin.write(chunk, callback)
        },
        final(callback) {
          child.stdin.end()
          callback()
        },
      }),
      output,
      resize: async () => undefined,
      wait: () => exited,
      close: () => {
        closedByClient = true
        child.kill('SIGTERM')
      },
    }
  }

  async *logs(agent: string, part: PartName, options: LogOptions = {}): AsyncIterable<string> {
    if (part === 'sidecars') {
      yield* this.#bundle.logs(agent, part, options)
      return
    }
    const paths = this.#paths(agent, 'logs')
    const record = await this.#readRecord(paths)
    if (!record) throw new DriverError('smolvm', 'logs', agent, 'no such part')
    const earlier = await readFile(paths.output, 'utf8').catch(() => '')
    yield* partOutputLines({ earlier, current: async () => this.#guestOutput(agent, (await this.#readRecord(paths)) ?? record) }, options)
  }

  async *events(signal: AbortSignal): AsyncIterable<PartEvent> {
    yield* mergedEvents(signal, this.#events, [bundleEvents(this.#bundle), (watch, push) => this.#watchBoxes(watch, push)])
  }

  // --- internals -----------------------------------------------------------

  #paths(agent: string, operation = 'observe'): AgentPaths {
    if (!AGENT_NAME.test(agent)) throw new DriverError('smolvm', operation, agent, `agent "${agent}" must match ${AGENT_NAME.source}`)
    const dir = join(this.#root, agent)
    return { dir, record: join(dir, 'part.json'), workspace: join(dir, 'workspace'), output: join(dir, 'output.log') }
  }

  #machineName(agent: string): string {
    return boxName(this.#instance, agent, 'smolvm')
  }

  #guestFile(name: 'output' | 'pid' | 'exit' | 'restarts'): string {
    return `${this.#guest.partDir}/${name}`
  }

  async #readRecord(paths: AgentPaths): Promise<PartRecord | undefined> {
    return readPartRecord<PartRecord>(paths.record)
  }

  async #writeRecord(paths: AgentPaths, record: PartRecord): Promise<void> {
    await writePartRecord(paths.dir, paths.record, record)
  }


  async #machines(operation: string): Promise<Map<string, SmolvmMachine>> {
    try {
      return new Map((await this.#cli.machines()).map((m) => [m.name, m]))
    } catch (error) {
      throw new DriverError('smolvm', operation, 'machines', (error as Error).message, { cause: error })
    }
  }

  async #machineRunning(agent: string, record: PartRecord, machines?: Map<string, SmolvmMachine>): Promise<boolean> {
    if (!record.machine) return false
    const known = machines ?? (await this.#machines('observe'))
    return known.get(record.machine.name)?.running ?? false
  }

  async #observePart(agent: string, record: PartRecord, machines: Map<string, SmolvmMachine>): Promise<ObservedPart> {
    const { state, files } = await this.#partState(agent, record, machines)
    const part: ObservedPart = {
      id: record.id,
      name: this.#machineName(agent),
      state,
      hash: record.spec.hash,
      image: record.spec.image,
      isolation: 'micro-VM (smolvm, libkrun)',
      ...(record.spec.restart ? { runsToCompletion: true } : {}),
      ...(record.startedAt ? { startedAt: record.startedAt } : {}),
    }
    if (files === undefined) {
      if (record.finishedAt) part.finishedAt = record.finishedAt
      if (record.exitCode !== undefined) part.exitCode = record.exitCode
      if (record.restartCount !== undefined) part.restartCount = record.restartCount
      return part
    }
    if (files.exit !== undefined) part.exitCode = files.exit
    if (files.restarts !== undefined) part.restartCount = files.restarts
    return part
  }

  /** Running: the machine runs and the part's process has not ended. `files` only when the machine runs. */
  async #partState(agent: string, record: PartRecord, machines?: Map<string, SmolvmMachine>): Promise<{ state: 'running' | 'stopped'; files?: PartFiles }> {
    if (!(await this.#machineRunning(agent, record, machines))) return { state: 'stopped' }
    const files = await this.#partFiles(record.machine!.name)
    return { state: files.pid !== undefined && files.exit === undefined ? 'running' : 'stopped', files }
  }

  /** The runner's pid, exit and restarts files, in one exec; empty when the machine does not answer. */
  async #partFiles(machine: string): Promise<PartFiles> {
    const script = 'for f in pid exit restarts; do printf "%s=%s\\n" "$f" "$(cat "$0/$f" 2>/dev/null)"; done'
    const result = await this.#cli.run(machineExecArgv(machine, ['sh', '-c', script, this.#guest.partDir])).catch(() => undefined)
    if (result === undefined || result.exitCode !== 0) return {}
    const values = new Map(result.stdout.split('\n').map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]))
    const out: PartFiles = {}
    for (const key of ['pid', 'exit', 'restarts'] as const) {
      const value = parseCount(values.get(key))
      if (value !== undefined) out[key] = value
    }
    return out
  }

  async #guestOutput(agent: string, record: PartRecord): Promise<string> {
    if (!(await this.#machineRunning(agent, record).catch(() => false))) return ''
    const result = await this.#cli.run(machineExecArgv(record.machine!.name, ['cat', this.#guestFile('output')])).catch(() => undefined)
    return result?.exitCode === 0 ? result.stdout : ''
  }

  async #runningPart(agent: string, operation: string): Promise<{ machine: string; record: PartRecord; pid: number }> {
    const record = await this.#readRecord(this.#paths(agent, operation))
    if (!record) throw new DriverError('smolvm', operation, agent, 'no such part')
    if (!(await this.#machineRunning(agent, record))) throw new DriverError('smolvm', operation, agent, 'part is not running (its machine is stopped)')
    const files = await this.#partFiles(record.machine!.name)
    if (files.exit !== undefined) throw new DriverError('smolvm', operation, agent, 'part is not running (its process ended)')
    if (files.pid === undefined) throw new DriverError('smolvm', operation, agent, 'part is not running (its process has not started)')
    return { machine: record.machine!.name, record, pid: files.pid }
  }

  /**
   * The bundle's address as the box dials it: the bundle host's address for
   * it (its loopback address when the bundle host publishes there, else its
   * bridge address), undefined while it does not run. The one place that
   * decides what the machine's allowlist and hosts file name. A loopback
   * address this host does not answer on is refused here rather than given
   * to a box that could never reach its bundle.
   */
  async #bundleAddress(agent: string): Promise<string | undefined> {
    const address = await this.#bundle.hostReachableAddress(agent, 'sidecars')
    if (address !== undefined && !this.#hasLoopbackAddress(address)) throw new DriverError('smolvm', 'bundle-address', agent, missingLoopbackAliasReason(address))
    return address
  }

  /**
   * Before the bundle is made or started: its loopback address must be on
   * this host, or the engine's publish fails with a less helpful error
   * (and the box could not reach the bundle anyway).
   */
  async #requireLoopbackAlias(agent: string, operation: string): Promise<void> {
    const address = await this.#bundle.loopbackAddress?.(agent)
    if (address !== undefined && !this.#hasLoopbackAddress(address)) throw new DriverError('smolvm', operation, agent, missingLoopbackAliasReason(address))
  }

  async #bundleInfrastructureReady(agent: string): Promise<boolean> {
    return (await this.#bundle.observe()).some((b) => b.agent === agent && b.infrastructureReady)
  }

  /**
   * After the bundle was (re)made or started: a box whose machine may reach
   * another address than the bundle's now gets a new machine (smolvm fixes
   * the allowlist at create), booted again if it was running.
   */
  async #followBundle(agent: string): Promise<void> {
    const paths = this.#paths(agent)
    const record = await this.#readRecord(paths)
    if (!record?.machine) return
    const address = await this.#bundleAddress(agent)
    if (address === undefined || address === record.machine.allowAddress) return
    await this.#mutate('follow-bundle', agent, async () => {
      const wasRunning = (await this.#partState(agent, record)).state === 'running'
      await this.#stopBox(agent, record, { keepOutput: true, terminate: true })
      const stopped = (await this.#readRecord(paths)) ?? record
      await this.#deleteMachine(agent, stopped)
      const { machine: _m, ...rest } = stopped
      await this.#writeRecord(paths, rest)
      this.#decided('smolvm-bundle-moved', { agent, from: record.machine?.allowAddress ?? 'none', to: address })
      if (wasRunning) await this.#boot(agent, rest)
    })
  }

  /** Makes the box's machine if it has none (or one made for another artifact or bundle address), starts it, and starts the part's process. */
  async #boot(agent: string, record: PartRecord): Promise<void> {
    const paths = this.#paths(agent)
    const spec = record.spec
    const packed = await this.#packer.pack(spec.image)
    const address = await this.#bundleAddress(agent)
    const name = this.#machineName(agent)
    let current = record
    const machines = await this.#machines('boot')
    // A machine made now starts stopped; one kept from before may already run.
    let running = machines.get(name)?.running ?? false
    const stale = current.machine !== undefined && (current.machine.artifact !== packed.artifact || current.machine.allowAddress !== address)
    if (stale) {
      running = false
      await this.#deleteMachine(agent, current)
      const { machine: _m, ...rest } = current
      current = rest
    }
    if (current.machine === undefined || !machines.has(name)) {
      // A machine of this name without a record of it is a leftover of a crash between create and record: made anew.
      if (machines.has(name) && !stale) await this.#cli.checked(['machine', 'delete', '--name', name]).catch(() => undefined)
      running = false
      await this.#cli.checked(machineCreateArgv({ name, from: packed.artifact, ...(address === undefined ? {} : { allowAddress: address }), volumes: this.#volumes(paths, spec) }))
      current = { ...current, machine: { name, artifact: packed.artifact, ...(address === undefined ? {} : { allowAddress: address }) } }
      await this.#writeRecord(paths, current)
      this.#decided('smolvm-machine-created', { agent, machine: name, network: address === undefined ? 'none' : `${address}/32` })
    }
    try {
      if (!running) await this.#cli.checked(['machine', 'start', '--name', name])
      await this.#cli.waitExecReady(name, this.#readyTimeoutMs)
      const run = resolvePartCommand(packed.config, spec)
      // As root: a clean runner folder the part's user may write, and the bundle's names.
      await this.#guestChecked(name, ['sh', '-c', `${prepareScript(run.user, this.#guest.partDir)} && cat > ${shellWord(this.#guest.hostsFile)}`], 'prepare the box', hostsFile(address))
      const launch = await this.#guestCommand(agent, name, { ...current, run }, launchArgv(run, spec.restart?.onFailure ?? 0, this.#guest.partDir), {})
      await this.#guestChecked(name, launch, 'start the part')
      await this.#waitForPid(name, 10_000)
      const { finishedAt: _f, exitCode: _e, ...rest } = current
      await this.#writeRecord(paths, { ...rest, run, startedAt: new Date().toISOString() })
    } catch (error) {
      await this.#cli.run(['machine', 'stop', '--name', name]).catch(() => undefined)
      throw error instanceof DriverError ? error : new DriverError('smolvm', 'boot', agent, (error as Error).message, { cause: error })
    }
    this.#emit(agent, 'start')
  }

  /** Host folders the machine sees: the workspace and the part's folders, as `-v`. */
  #volumes(paths: AgentPaths, spec: PartSpec): Array<{ host: string; guest: string; readOnly: boolean }> {
    return spec.mounts.map((mount) =>
      mount.kind === 'workspace' ? { host: paths.workspace, guest: mount.target, readOnly: false } : { host: mount.source, guest: mount.target, readOnly: mount.readOnly },
    )
  }

  /**
   * The argv for `machine exec` that runs `argv` with the part's environment
   * (and `options.env` over it), folder and user. The environment is copied
   * in as a file (see guest-exec.ts), so no value is a word of any argv.
   */
  async #guestCommand(agent: string, machine: string, record: PartRecord, argv: readonly string[], options: Pick<ExecOptions, 'env' | 'user' | 'workdir'>): Promise<string[]> {
    const run = record.run
    const env = { ...(run?.env ?? {}), ...(options.env ?? {}) }
    const user = options.user ?? run?.user
    const workdir = options.workdir ?? run?.workdir
    let envFile: string | undefined
    if (Object.keys(env).length > 0) {
      const paths = this.#paths(agent)
      const hostFile = join(paths.dir, `env-${randomBytes(6).toString('hex')}`)
      envFile = `${this.#guest.partDir}/env-${randomBytes(6).toString('hex')}`
      await ensurePrivateDir(paths.dir)
      try {
        await writeFile(hostFile, envFileText(env), { mode: 0o600 })
        await this.#cli.checked(['machine', 'cp', hostFile, `${machine}:${envFile}`])
      } finally {
        await rm(hostFile, { force: true })
      }
    }
    return wrappedArgv({
      argv,
      ...(envFile === undefined ? {} : { envFile }),
      ...(workdir === undefined ? {} : { workdir }),
      ...(user === undefined ? {} : { user }),
    })
  }

  async #guestChecked(machine: string, argv: readonly string[], what: string, stdin?: string): Promise<void> {
    const result = await this.#cli.run(machineExecArgv(machine, argv, { stdin: stdin !== undefined }), stdin === undefined ? {} : { stdin })
    if (result.exitCode !== 0) throw new Error(`${what}: exit ${result.exitCode}: ${result.stderr.trim().split('\n').slice(-1)[0] ?? ''}`)
  }

  async #waitForPid(machine: string, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs
    while ((await this.#partFiles(machine)).pid === undefined) {
      if (Date.now() > deadline) throw new Error(`the part's process did not start within ${timeoutMs} ms`)
      await new Promise((r) => setTimeout(r, 50))
    }
  }

  /**
   * Stops the box's machine, if it runs: `terminate` first asks the process
   * to end (SIGTERM, then the stop timeout), as a container stop does;
   * `keepOutput` adds what this boot printed to the output of earlier ones.
   */
  async #stopBox(agent: string, record: PartRecord, options: { keepOutput: boolean; terminate?: boolean }): Promise<void> {
    const paths = this.#paths(agent)
    if (!record.machine || !(await this.#machineRunning(agent, record))) return
    const machine = record.machine.name
    let files = await this.#partFiles(machine)
    if (options.terminate && files.pid !== undefined && files.exit === undefined) {
      await this.#cli.run(machineExecArgv(machine, ['kill', '-s', 'TERM', String(files.pid)])).catch(() => undefined)
      const deadline = Date.now() + this.#stopTimeoutMs
      while (files.exit === undefined && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 100))
        files = await this.#partFiles(machine)
      }
    }
    if (options.keepOutput) {
      const output = await this.#guestOutput(agent, record)
      if (output) await appendFile(paths.output, output, { mode: 0o600 })
    }
    await this.#cli.checked(['machine', 'stop', '--name', machine])
    const latest = (await this.#readRecord(paths)) ?? record
    await this.#writeRecord(paths, {
      ...latest,
      finishedAt: new Date().toISOString(),
      exitCode: files.exit ?? 137,
      ...(files.restarts === undefined ? {} : { restartCount: files.restarts }),
    })
    this.#emit(agent, 'die')
  }

  async #deleteMachine(agent: string, record: PartRecord): Promise<void> {
    const name = record.machine?.name ?? this.#machineName(agent)
    if (!(await this.#machines('delete')).has(name)) return
    await this.#cli.checked(['machine', 'delete', '--name', name])
    this.#decided('smolvm-machine-deleted', { agent, machine: name })
  }

  /** Reports machines that died and part processes that ended without this driver stopping them, until `signal` aborts. */
  async #watchBoxes(signal: AbortSignal, push: (event: PartEvent) => void): Promise<void> {
    const last = new Map<string, 'running' | 'stopped'>()
    while (!signal.aborted) {
      const folders = await agentFolders(this.#root)
      const machines = folders.length > 0 ? await this.#machines('events').catch(() => undefined) : undefined
      for (const agent of machines === undefined ? [] : folders) {
        const record = await this.#readRecord(this.#paths(agent))
        // A change under way reports itself.
        if (!record || this.#changes.busy(agent)) {
          last.delete(agent)
          continue
        }
        const now = (await this.#partState(agent, record, machines)).state
        const before = last.get(agent)
        last.set(agent, now)
        if (before === 'running' && now !== 'running') push({ agent, part: 'agent', kind: 'die', time: new Date().toISOString() })
      }
      await sleepUnless(this.#pollMs, signal)
    }
  }

  #emit(agent: string, kind: PartEvent['kind']): void {
    this.#events.emit(PART_EVENT, { agent, part: 'agent', kind, time: new Date().toISOString() } satisfies PartEvent)
  }

  /** One change to `agent`'s box, counted, after any other change to it has ended. */
  #mutate<T>(operation: string, agent: string, call: () => Promise<T>): Promise<T> {
    return this.#changes.run(operation, agent, call)
  }

  #decided(event: SmolvmDriverDecision, fields: Record<string, unknown>): void {
    this.#log.info({ event, ...fields } satisfies LogFields, event.replace(/-/g, ' '))
  }
}

/** The guest's hosts file: the bundle's names at its address (none while there is no bundle). */
export function hostsFile(bundleAddress: string | undefined): string {
  const lines = ['127.0.0.1\tlocalhost', '::1\tlocalhost']
  if (bundleAddress !== undefined) lines.push(`${bundleAddress}\t${BUNDLE_ALIASES.join(' ')}`)
  return `${lines.join('\n')}\n`
}

