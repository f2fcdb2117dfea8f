/**
 * VmDriver: the `vm` runtime. An Agent's `agent` part is a QEMU micro-VM
 * (its own kernel); its `sidecars` part, the bundle, stays a container,
 * driven through a Docker driver of its own whose objects carry the
 * `<instance>.vm` owner, so the docker runtime never takes them for its
 * own. The box reaches exactly the bundle's ports: QEMU forwards each to
 * a host script that dials the bundle's current address (a file this
 * driver keeps), so a recreated bundle needs no new VM.
 *
 * What a container keeps in the engine, a box keeps in its Agent's folder
 * (0700): the part's record (spec, id, times), QEMU's pid and sockets, the
 * workspace disk and one disk per read-write folder, and the output of the
 * boots before this one. Nothing lives only in this process: a restarted
 * controller adopts running VMs from their pid files and QMP sockets.
 */
import { randomBytes } from 'node:crypto'
import { EventEmitter } from 'node:events'
import { existsSync } from 'node:fs'
import { appendFile, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises'
import { join, relative } from 'node:path'
import { PassThrough, Writable } from 'node:stream'
import type Dockerode from 'dockerode'
import type { Logger } from 'pino'
import { BUNDLE_ALIASES, BUNDLE_SERVICES } from '../../plan/bundle-services.js'
import type { LogFields } from '../../log-events.js'
import {
  DriverError,
  type Availability,
  type ExecOptions,
  type ExecResult,
  type LogOptions,
  type ObservedAgent,
  type ObservedPart,
  type PartEvent,
  type PartChangeOptions,
  type PartName,
  type PartSpec,
  type RemoveOptions,
  type RuntimeDriver,
} from '../driver.js'
import { ensurePrivateDir } from '../../atomic-write.js'
import { AgentChanges } from '../agent-changes.js'
import { observedBoxAgent } from '../box-observation.js'
import { partOutputLines, sleepUnless } from '../guest-output.js'
import type { InteractiveSession, SessionOptions } from '../interactive-session.js'
import { bundleEvents, mergedEvents, PART_EVENT } from '../merged-events.js'
import { agentFolders, readPartRecord, writePartRecord } from '../part-records.js'
import { AGENT_NAME, boxName } from '../agent-names.js'
import type { BundleHost } from '../bundle-host.js'
import { ensureBootSnapshot, restoredSpec } from './boot-snapshot.js'
import { ensureInitramfs, ensureRootfs, locateBusybox, type AssetPaths } from './guest-assets.js'
import type { GuestChannel, GuestFile } from './guest-channel.js'
import { ensureExt4Disk } from './guest-disks.js'
import { addressFileHelper, bundleForwardScript, guestHostsFile } from './guest-network.js'
import { GUEST_PART_FILES, launchArgv, parseCount, prepareScript, resolvePartCommand, shellWord, type GuestPartCommand } from '../guest-part.js'
import { describeHost, probeHost, type HostCapability } from './host-probe.js'
import { QemuVm, vmLayout, type VmDisk, type VmSpec } from './qemu-process.js'
import { adoptVmBox, stopVmBox, vmSpecFor, WORKSPACE_SERIAL } from './vm-box.js'

export interface VmDriverOptions {
  bundleHost: BundleHost
  /** The engine the images (and so the root filesystems) come from. */
  docker: Dockerode
  /** Controller instance, for part names in status. */
  instance: string
  /** One folder per Agent under it; short, since QEMU's sockets live there. */
  stateDir: string
  logger: Logger
  /** Where the kernel, root filesystems and snapshots are cached. */
  assets?: AssetPaths
  /** How the host runs VMs. Default: probeHost() (KVM when it really boots, else TCG), asked once. */
  probe?: () => Promise<HostCapability>
  /** How long a stop waits for the part's process to end after SIGTERM before the VM is stopped anyway. Default 10 s. */
  stopTimeoutMs?: number
  /** How often events() looks for VMs that died and parts that ended. Default 1 s. */
  pollMs?: number
  /**
   * `controller` (default): this process supervises the VMs and holds each
   * one's control connections. `command`: a command beside the controller
   * (exec, logs, attach), which reaches running boxes on a spare port.
   */
  role?: 'controller' | 'command'
}

/** Every decision the driver logs; one pino line each. */
export type VmDriverDecision = 'disk-created' | 'unfinished-box-killed' | 'part-created' | 'part-replaced' | 'part-started' | 'part-stopped' | 'part-removed' | 'part-signalled' | 'agent-removed'

/** What the driver keeps about an Agent's box between boots, in part.json. */
interface PartRecord {
  id: string
  spec: PartSpec
  createdAt: string
  /** Resolved against the image at the last boot: what exec and attach run with. */
  run?: GuestPartCommand
  startedAt?: string
  /**
   * The QEMU whose boot finished (restored, configured, part started). A
   * QEMU running in the folder under another pid was left half-started by
   * a controller that died mid-boot: it is no box, and is killed.
   */
  bootedPid?: number
  finishedAt?: string
  exitCode?: number
  restartCount?: number
  /** How the last boot ran, for status: describeHost()'s words. */
  isolation?: string
}

interface Box {
  vm: QemuVm
  channel: GuestChannel
}

interface AgentPaths {
  dir: string
  record: string
  qemu: string
  workspace: string
  output: string
  bundleAddress: string
  forward: string
}

/** Read-write folders of the agent part become disks of this size (sparse); one size, so boxes share snapshots. */
const FOLDER_DISK_MIB = 8 * 1024
/** The memory a box gets when its spec names none; the guest agent and a CLI need more than the kernel minimum. */
const DEFAULT_MEMORY_MIB = 1024

export class VmDriver implements RuntimeDriver {
  readonly kind = 'vm'
  readonly #bundle: BundleHost
  readonly #docker: Dockerode
  readonly #instance: string
  readonly #root: string
  readonly #log: Logger
  readonly #assets: AssetPaths
  readonly #probe: () => Promise<HostCapability>
  readonly #stopTimeoutMs: number
  readonly #pollMs: number
  readonly #port: 'main' | 'spare'
  readonly #boxes = new Map<string, Promise<Box | undefined>>()
  readonly #events = new EventEmitter()
  #host: Promise<Extract<HostCapability, { usable: true }>> | undefined
  #availability: Promise<Availability> | undefined
  readonly #changes = new AgentChanges('vm')

  constructor(options: VmDriverOptions) {
    this.#bundle = options.bundleHost
    this.#docker = options.docker
    this.#instance = options.instance
    this.#root = options.stateDir
    this.#log = options.logger.child({ driver: 'vm', instance: options.instance })
    this.#assets = options.assets ?? {}
    this.#probe = options.probe ?? (() => probeHost(this.#assets))
    this.#stopTimeoutMs = options.stopTimeoutMs ?? 10_000
    this.#pollMs = options.pollMs ?? 1000
    this.#port = options.role === 'command' ? 'spare' : 'main'
    this.#events.setMaxListeners(0)
  }

  get mutations(): number {
    return this.#changes.count + this.#bundle.mutations
  }

  /**
   * Cheap and remembered: QEMU, the guest kernel and a static busybox are
   * there. Whether KVM boots is asked only when a box first starts (it
   * takes a trial boot), and the box's status says which accelerator runs it.
   */
  async available(): Promise<Availability> {
    this.#availability ??= (async (): Promise<Availability> => {
      const host = await probeHost({ ...this.#assets, forceTcg: true })
      if (!host.usable) return { ok: false, reason: host.reason }
      if (locateBusybox() === undefined) return { ok: false, reason: 'no busybox on PATH (install busybox-static)' }
      return (await this.#bundle.available()).ok ? { ok: true } : { ok: false, reason: 'the bundle\'s container engine is not available' }
    })()
    return this.#availability
  }

  async observe(): Promise<ObservedAgent[]> {
    const bundles = new Map((await this.#bundle.observe()).map((b) => [b.agent, b]))
    const names = new Set([...bundles.keys(), ...(await agentFolders(this.#root))])
    const observed: ObservedAgent[] = []
    for (const agent of [...names].sort()) {
      const bundle = bundles.get(agent)
      const paths = this.#paths(agent)
      const record = await this.#readRecord(paths)
      const box = record ? await this.#observePart(agent, record) : undefined
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
      await ensureExt4Disk(paths.workspace)
    })
    this.#decided('disk-created', { agent, disk: 'workspace' })
  }

  async createPart(agent: string, part: PartName, spec: PartSpec, options: PartChangeOptions = {}): Promise<void> {
    if (part === 'sidecars') {
      await this.#bundle.createPart(agent, part, spec)
      await this.#writeBundleAddress(agent)
      return
    }
    const paths = this.#paths(agent, 'create-part')
    if (!existsSync(paths.workspace) || !(await this.#bundleInfrastructureReady(agent))) {
      throw new DriverError('vm', 'create-part', agent, 'infrastructure missing; ensureInfrastructure must run first')
    }
    const record: PartRecord = { id: randomBytes(6).toString('hex'), spec, createdAt: new Date().toISOString() }
    await this.#mutate('create-part', agent, async () => {
      const previous = await this.#readRecord(paths)
      if (previous) {
        await this.#stopBox(agent, { keepOutput: false })
        this.#decided('part-replaced', { agent, part, previousHash: previous.spec.hash })
      }
      await rm(paths.output, { force: true })
      await this.#writeRecord(paths, record)
      try {
        await this.#boot(agent, record, options.onProgress)
      } catch (error) {
        // A half-made part must not look like a finished one.
        await this.#stopBox(agent, { keepOutput: false }).catch(() => undefined)
        await rm(paths.record, { force: true })
        throw error
      }
    })
    this.#decided('part-created', { agent, part, image: spec.image, hash: spec.hash })
  }

  async startPart(agent: string, part: PartName, options: PartChangeOptions = {}): Promise<void> {
    if (part === 'sidecars') {
      await this.#bundle.startPart(agent, part)
      await this.#writeBundleAddress(agent)
      return
    }
    const paths = this.#paths(agent, 'start-part')
    const record = await this.#readRecord(paths)
    if (!record) throw new DriverError('vm', 'start-part', agent, 'no such part')
    // A box that does not answer is no box: the stop below makes sure its QEMU is gone.
    const box = await this.#box(agent).catch(() => undefined)
    if (box && (await this.#exitCode(box)) === undefined) return
    await this.#mutate('start-part', agent, async () => {
      // A box whose process ended keeps its VM; a start boots a fresh one, as a container's start runs its command anew.
      await this.#stopBox(agent, { keepOutput: box !== undefined })
      await this.#boot(agent, record, options.onProgress)
    })
    this.#decided('part-started', { agent, part })
  }

  async stopPart(agent: string, part: PartName): Promise<void> {
    if (part === 'sidecars') return this.#bundle.stopPart(agent, part)
    const paths = this.#paths(agent, 'stop-part')
    const record = await this.#readRecord(paths)
    if (!record || (await this.#box(agent)) === undefined) return
    await this.#mutate('stop-part', agent, () => this.#stopBox(agent, { keepOutput: true, terminate: true }))
    this.#decided('part-stopped', { agent, part })
  }

  async removePart(agent: string, part: PartName): Promise<void> {
    if (part === 'sidecars') return this.#bundle.removePart(agent, part)
    const paths = this.#paths(agent, 'remove-part')
    if (!existsSync(paths.record)) return
    await this.#mutate('remove-part', agent, async () => {
      await this.#stopBox(agent, { keepOutput: false })
      await Promise.all([rm(paths.record, { force: true }), rm(paths.output, { force: true })])
    })
    this.#emit(agent, 'destroy')
    this.#decided('part-removed', { agent, part })
  }

  async signalPart(agent: string, part: PartName, signal: NodeJS.Signals): Promise<void> {
    if (part === 'sidecars') return this.#bundle.signalPart(agent, part, signal)
    const { box, pid } = await this.#runningPart(agent, 'signal-part')
    await this.#mutate('signal-part', agent, async () => {
      const result = await box.channel.exec(['kill', '-s', signal.replace(/^SIG/, ''), String(pid)])
      if (result.exitCode !== 0) throw new Error(`kill ${signal} ${pid}: ${result.stderr.trim()}`)
    })
    this.#decided('part-signalled', { agent, part, signal })
  }

  async removeAgent(agent: string, options: RemoveOptions): Promise<void> {
    const paths = this.#paths(agent, 'remove-agent')
    await this.removePart(agent, 'agent')
    await this.#bundle.removeAgent(agent, options)
    if (!existsSync(paths.dir)) return
    if (options.purgeWorkspace) {
      await this.#mutate('remove-agent', agent, () => rm(paths.dir, { recursive: true, force: true }))
    } else {
      // The disks stay (workspace and the folders' disks), as the docker runtime keeps its workspace volume.
      await Promise.all([paths.bundleAddress, paths.forward].map((file) => rm(file, { force: true })))
    }
    this.#decided('agent-removed', { agent, workspace: options.purgeWorkspace ? 'purged' : 'kept' })
  }

  async exec(agent: string, part: PartName, argv: string[], options: ExecOptions = {}): Promise<ExecResult> {
    if (part === 'sidecars') return this.#bundle.exec(agent, part, argv, options)
    if (argv.length === 0) throw new DriverError('vm', 'exec', agent, 'empty command')
    const { box, record } = await this.#runningPart(agent, 'exec')
    const run = record.run
    const env = { ...(run?.env ?? {}), ...(options.env ?? {}) }
    const user = options.user ?? run?.user
    const cwd = options.workdir ?? run?.workdir
    try {
      return await box.channel.exec(argv, {
        env,
        ...(user === undefined ? {} : { user }),
        ...(cwd === undefined ? {} : { cwd }),
        ...(options.stdin === undefined ? {} : { stdin: options.stdin }),
        ...(options.signal === undefined ? {} : { signal: options.signal }),
      })
    } catch (error) {
      throw new DriverError('vm', 'exec', agent, (error as Error).message, { cause: error })
    }
  }

  async openSession(agent: string, part: PartName, argv: string[], options: SessionOptions): Promise<InteractiveSession> {
    if (part === 'sidecars') return this.#bundle.openSession(agent, part, argv, options)
    if (argv.length === 0) throw new DriverError('vm', 'open-session', agent, 'empty command')
    const { box, record } = await this.#runningPart(agent, 'open-session')
    const user = options.user ?? record.run?.user
    const cwd = options.workdir ?? record.run?.workdir
    const process = box.channel.start(argv, {
      env: { ...(record.run?.env ?? {}), ...(options.env ?? {}) },
      ...(user === undefined ? {} : { user }),
      ...(cwd === undefined ? {} : { cwd }),
      tty: { columns: options.columns, rows: options.rows },
    })
    const output = new PassThrough()
    process.stdout.pipe(output)
    return {
      input: new Writable({
        write(chunk: Buffer, _encoding, callback) {
          process.write(chunk)
          callback()
        },
        final(callback) {
          process.end()
          callback()
        },
      }),
      output,
      resize: (columns, rows) => process.resize(columns, rows),
      wait: async () => {
        const exit = await process.exit
        return exit.signal === undefined ? exit.code : 128 + signalNumber(exit.signal)
      },
      close: () => process.detach(),
    }
  }

  async *logs(agent: string, part: PartName, options: LogOptions = {}): AsyncIterable<string> {
    if (part === 'sidecars') {
      yield* this.#bundle.logs(agent, part, options)
      return
    }
    const paths = this.#paths(agent, 'logs')
    if (!existsSync(paths.record)) throw new DriverError('vm', 'logs', agent, 'no such part')
    const earlier = await readFile(paths.output, 'utf8').catch(() => '')
    yield* partOutputLines({ earlier, current: () => this.#guestOutput(agent) }, options)
  }

  async *events(signal: AbortSignal): AsyncIterable<PartEvent> {
    yield* mergedEvents(signal, this.#events, [bundleEvents(this.#bundle), (watch, push) => this.#watchBoxes(watch, push)])
  }

  // --- internals -----------------------------------------------------------

  #paths(agent: string, operation = 'observe'): AgentPaths {
    if (!AGENT_NAME.test(agent)) throw new DriverError('vm', operation, agent, `agent "${agent}" must match ${AGENT_NAME.source}`)
    const dir = join(this.#root, agent)
    return {
      dir,
      record: join(dir, 'part.json'),
      qemu: join(dir, 'q'),
      workspace: join(dir, 'workspace.ext4'),
      output: join(dir, 'output.log'),
      bundleAddress: join(dir, 'bundle-address'),
      forward: join(dir, 'forward'),
    }
  }

  async #readRecord(paths: AgentPaths): Promise<PartRecord | undefined> {
    return readPartRecord<PartRecord>(paths.record)
  }

  async #writeRecord(paths: AgentPaths, record: PartRecord): Promise<void> {
    await writePartRecord(paths.dir, paths.record, record)
  }

  async #observePart(agent: string, record: PartRecord): Promise<ObservedPart> {
    const part: ObservedPart = {
      id: record.id,
      name: this.#partName(agent),
      state: 'stopped',
      hash: record.spec.hash,
      image: record.spec.image,
      ...(record.spec.restart ? { runsToCompletion: true } : {}),
      ...(record.isolation ? { isolation: record.isolation } : {}),
    }
    const box = await this.#box(agent).catch(() => undefined)
    if (box === undefined) {
      if (record.startedAt) part.startedAt = record.startedAt
      if (record.finishedAt) part.finishedAt = record.finishedAt
      if (record.exitCode !== undefined) part.exitCode = record.exitCode
      if (record.restartCount !== undefined) part.restartCount = record.restartCount
      return part
    }
    const [exit, restarts] = await Promise.all([this.#exitCode(box), readGuest(box, GUEST_PART_FILES.restarts)])
    part.state = exit === undefined ? 'running' : 'stopped'
    if (record.startedAt) part.startedAt = record.startedAt
    if (exit !== undefined) part.exitCode = exit
    const count = parseCount(restarts)
    if (count !== undefined) part.restartCount = count
    return part
  }

  #partName(agent: string): string {
    return boxName(this.#instance, agent, 'vm')
  }

  /**
   * The running box of `agent`, adopted from its folder when this process
   * did not start it; undefined when none runs. Waits for a change of the
   * box under way (`inside`: asked by that change itself), so nothing adopts
   * a VM while it boots: QEMU serves one QMP connection at a time.
   */
  async #box(agent: string, inside = false): Promise<Box | undefined> {
    if (!inside) await this.#changes.settled(agent)
    return this.#cachedBox(agent)
  }

  #cachedBox(agent: string): Promise<Box | undefined> {
    const known = this.#boxes.get(agent)
    if (known) {
      return known.then((box) => {
        if (box && box.vm.alive() && !box.channel.closed) return box
        box?.channel.close()
        if (this.#boxes.get(agent) === known) this.#boxes.delete(agent)
        return this.#cachedBox(agent)
      })
    }
    const adopting = this.#adopt(agent).catch((error: unknown) => {
      this.#boxes.delete(agent)
      throw new DriverError('vm', 'adopt', agent, (error as Error).message, { cause: error })
    })
    const cached = adopting.then((box) => {
      if (box === undefined) this.#boxes.delete(agent)
      return box
    })
    this.#boxes.set(agent, cached)
    return cached
  }

  /** The finished box running in `agent`'s folder, connected; a half-started one is killed (by the controller) or ignored. */
  async #adopt(agent: string): Promise<Box | undefined> {
    const paths = this.#paths(agent)
    const pid = await QemuVm.runningPid(vmLayout(paths.qemu))
    if (pid === undefined) return undefined
    const record = await this.#readRecord(paths)
    if (record?.bootedPid !== pid) {
      if (this.#port === 'main') {
        process.kill(pid, 'SIGKILL')
        this.#decided('unfinished-box-killed', { agent, pid })
      }
      return undefined
    }
    return adoptVmBox(paths.qemu, this.#port)
  }

  async #exitCode(box: Box): Promise<number | undefined> {
    return parseCount(await readGuest(box, GUEST_PART_FILES.exit))
  }

  async #runningPart(agent: string, operation: string): Promise<{ box: Box; record: PartRecord; pid: number }> {
    const paths = this.#paths(agent, operation)
    const record = await this.#readRecord(paths)
    if (!record) throw new DriverError('vm', operation, agent, 'no such part')
    const box = await this.#box(agent)
    if (box === undefined) throw new DriverError('vm', operation, agent, 'part is not running (its VM is stopped)')
    if ((await this.#exitCode(box)) !== undefined) throw new DriverError('vm', operation, agent, 'part is not running (its process ended)')
    const pid = parseCount(await readGuest(box, GUEST_PART_FILES.pid))
    if (pid === undefined) throw new DriverError('vm', operation, agent, 'part is not running (its process has not started)')
    return { box, record, pid }
  }

  async #usableHost(): Promise<Extract<HostCapability, { usable: true }>> {
    this.#host ??= this.#probe().then((host) => {
      if (!host.usable) throw new DriverError('vm', 'probe', 'host', host.reason)
      this.#log.info({ event: 'vm-host-probed', accelerator: host.accelerator, ...(host.kvmUnavailable ? { kvmUnavailable: host.kvmUnavailable } : {}) } satisfies LogFields, `VMs run under ${host.accelerator}`)
      return host
    })
    this.#host.catch(() => (this.#host = undefined))
    return this.#host
  }



  async #bundleInfrastructureReady(agent: string): Promise<boolean> {
    return (await this.#bundle.observe()).some((b) => b.agent === agent && b.infrastructureReady)
  }

  /** Points the box's forwarded ports at the bundle's current address (nowhere while it does not run). */
  async #writeBundleAddress(agent: string): Promise<void> {
    const paths = this.#paths(agent)
    await ensurePrivateDir(paths.dir)
    const busybox = locateBusybox()
    if (busybox === undefined) throw new DriverError('vm', 'bundle-address', agent, 'no busybox on PATH (install busybox-static)')
    const address = await this.#bundle.hostReachableAddress(agent, 'sidecars')
    const temp = `${paths.bundleAddress}.tmp`
    await writeFile(temp, address ?? '', { mode: 0o600 })
    await rename(temp, paths.bundleAddress)
    await writeFile(paths.forward, bundleForwardScript(busybox, paths.bundleAddress), { mode: 0o700 })
  }

  /** Boots the part's VM from its image's snapshot and starts its process. */
  async #boot(agent: string, record: PartRecord, onProgress: (line: string) => void = () => undefined): Promise<void> {
    const paths = this.#paths(agent)
    const spec = record.spec
    const host = await this.#usableHost()
    const busybox = locateBusybox()
    if (busybox === undefined) throw new DriverError('vm', 'boot', agent, 'no busybox on PATH (install busybox-static)')
    await this.#writeBundleAddress(agent)
    const [rootfs, initramfs] = await Promise.all([
      ensureRootfs(spec.image, { docker: this.#docker, ...this.#assets, onProgress }),
      ensureInitramfs(host.kernel, { ...this.#assets, busybox }),
    ])
    const disks = await this.#disks(agent, paths, spec)
    const forwards = Object.values(BUNDLE_SERVICES).map((service) => ({ guestPort: service.port, hostPort: service.port }))
    const machine: VmSpec = {
      ...(await vmSpecFor(host, { initramfs, rootfs: rootfs.path }, busybox, forwards)),
      forwardHelper: addressFileHelper(paths.forward),
      cpus: Math.max(1, Math.ceil(spec.resources?.cpus ?? 1)),
      memoryMiB: Math.max(256, spec.resources?.memoryMiB ?? DEFAULT_MEMORY_MIB),
      disks: disks.map((d) => d.disk),
    }
    const snapshot = await ensureBootSnapshot(machine, { ...this.#assets, onProgress })
    onProgress('starting the VM from its boot snapshot')
    const vm = await QemuVm.launch(paths.qemu, restoredSpec(machine, snapshot))
    let channel: GuestChannel | undefined
    try {
      channel = await vm.connectRestored({ readyTimeoutMs: 60_000 })
      const box: Box = { vm, channel }
      await box.channel.configure({
        mounts: disks.map((d) => ({ serial: d.disk.serial, target: d.target })),
        hosts: guestHostsFile(agent, BUNDLE_ALIASES),
        hostname: agent,
        timeMs: Date.now(),
        seed: randomBytes(64),
      })
      const run = resolvePartCommand(rootfs.config, spec)
      onProgress('provisioning the VM: folders, disks, the part\'s process')
      await this.#prepareBox(box, spec, disks, run)
      await checked(box.channel.exec(launchArgv(run, spec.restart?.onFailure ?? 0), {
        env: run.env,
        ...(run.user === undefined ? {} : { user: run.user }),
        ...(run.workdir === undefined ? {} : { cwd: run.workdir }),
      }), 'start the part')
      await waitForGuestFile(box, GUEST_PART_FILES.pid, 10_000)
      this.#boxes.set(agent, Promise.resolve(box))
      const { finishedAt: _f, exitCode: _e, ...rest } = record
      await this.#writeRecord(paths, { ...rest, run, startedAt: new Date().toISOString(), bootedPid: vm.pid, isolation: `micro-VM, ${describeHost(host).replace(/^vm runtime: /, '')}` })
    } catch (error) {
      channel?.close()
      await vm.stop()
      throw error instanceof DriverError ? error : new DriverError('vm', 'boot', agent, (error as Error).message, { cause: error })
    }
    this.#emit(agent, 'start')
  }

  /** The workspace disk and one disk per read-write folder, in mount order. */
  async #disks(agent: string, paths: AgentPaths, spec: PartSpec): Promise<Array<{ disk: VmDisk; target: string; owner?: { uid: number; gid: number } }>> {
    const out: Array<{ disk: VmDisk; target: string; owner?: { uid: number; gid: number } }> = []
    for (const mount of spec.mounts) {
      if (mount.kind === 'workspace') {
        out.push({ disk: { path: paths.workspace, readOnly: false, serial: WORKSPACE_SERIAL }, target: mount.target })
      } else if (!mount.readOnly) {
        const serial = `folder${out.length}`
        const path = join(paths.dir, `${serial}.ext4`)
        if (!existsSync(path)) {
          await ensureExt4Disk(path, { sizeMiB: FOLDER_DISK_MIB })
          this.#decided('disk-created', { agent, disk: mount.target })
        }
        const owner = await stat(mount.source).then((s) => ({ uid: s.uid, gid: s.gid }), () => undefined)
        out.push({ disk: { path, readOnly: false, serial }, target: mount.target, ...(owner ? { owner } : {}) })
      }
    }
    return out
  }

  /**
   * Everything before the part's process starts, in one file transfer and
   * one command (each round trip to a guest costs): read-only folders are
   * copied in (there is no live share in this kernel); a new disk loses its
   * lost+found (a Docker volume starts empty, and the entrypoint clones
   * only into an empty workspace); the disks of read-write folders get the
   * host folder's owner, as a bind mount would show it (the workspace is
   * the entrypoint's to hand to the agent, as on Docker); the runner's
   * folder is made.
   */
  async #prepareBox(box: Box, spec: PartSpec, disks: Array<{ target: string; owner?: { uid: number; gid: number } }>, run: GuestPartCommand): Promise<void> {
    const files: GuestFile[] = []
    for (const mount of spec.mounts) {
      if (mount.kind !== 'bind' || !mount.readOnly) continue
      for (const file of await folderFiles(mount.source)) files.push({ path: join(mount.target, file.relative), data: file.data, mode: file.mode })
    }
    for (const batch of batches(files, 4 * 2 ** 20)) await box.channel.putFiles(batch)
    const steps = disks.flatMap((disk) => [
      `rmdir ${shellWord(join(disk.target, 'lost+found'))} 2>/dev/null || true`,
      ...(disk.owner === undefined ? [] : [`chown ${disk.owner.uid}:${disk.owner.gid} ${shellWord(disk.target)}`]),
    ])
    await checked(box.channel.exec(['sh', '-c', [...steps, prepareScript(run.user)].join(' && ')]), 'prepare the box')
  }

  /**
   * Stops the box's VM, if one runs: `terminate` first asks the process to
   * end (SIGTERM, then the stop timeout), as a container stop does;
   * `keepOutput` adds what this boot printed to the output of earlier ones.
   */
  async #stopBox(agent: string, options: { keepOutput: boolean; terminate?: boolean }): Promise<void> {
    const paths = this.#paths(agent)
    const box = await this.#box(agent, true).catch(() => undefined)
    if (box === undefined) {
      // A VM that does not answer its QMP socket is still a VM: make sure no QEMU stays behind.
      const pid = await QemuVm.runningPid(vmLayout(paths.qemu))
      if (pid !== undefined) process.kill(pid, 'SIGKILL')
      return
    }
    if (options.terminate) {
      const pid = parseCount(await readGuest(box, GUEST_PART_FILES.pid))
      if (pid !== undefined && (await this.#exitCode(box)) === undefined) {
        await box.channel.exec(['kill', '-s', 'TERM', String(pid)]).catch(() => undefined)
        await waitForGuestFile(box, GUEST_PART_FILES.exit, this.#stopTimeoutMs).catch(() => undefined)
      }
    }
    const record = await this.#readRecord(paths)
    if (options.keepOutput) {
      const output = await readGuest(box, GUEST_PART_FILES.output)
      if (output) await appendFile(paths.output, output, { mode: 0o600 })
    }
    const exit = await this.#exitCode(box).catch(() => undefined)
    const restarts = parseCount(await readGuest(box, GUEST_PART_FILES.restarts))
    this.#boxes.delete(agent)
    await stopVmBox(box)
    if (record) {
      await this.#writeRecord(paths, {
        ...record,
        finishedAt: new Date().toISOString(),
        exitCode: exit ?? 137,
        ...(restarts === undefined ? {} : { restartCount: restarts }),
      })
    }
    this.#emit(agent, 'die')
  }

  /** Reports VMs that died and part processes that ended without this driver stopping them, until `signal` aborts. */
  async #watchBoxes(signal: AbortSignal, push: (event: PartEvent) => void): Promise<void> {
    const last = new Map<string, 'running' | 'ended' | 'down'>()
    while (!signal.aborted) {
      for (const agent of await agentFolders(this.#root)) {
        const paths = this.#paths(agent)
        if (!existsSync(paths.record)) {
          last.delete(agent)
          continue
        }
        // A change under way reports itself.
        if (this.#changes.busy(agent)) continue
        const box = await this.#box(agent).catch(() => undefined)
        const now = box === undefined ? 'down' : (await this.#exitCode(box).catch(() => undefined)) === undefined ? 'running' : 'ended'
        const before = last.get(agent)
        last.set(agent, now)
        // The driver's own stops and starts report themselves; this catches the rest (a killed QEMU, a process that ended).
        if (before === 'running' && now !== 'running') push({ agent, part: 'agent', kind: 'die', time: new Date().toISOString() })
      }
      await sleepUnless(this.#pollMs, signal)
    }
  }

  #emit(agent: string, kind: PartEvent['kind']): void {
    this.#events.emit(PART_EVENT, { agent, part: 'agent', kind, time: new Date().toISOString() } satisfies PartEvent)
  }

  /** What the running boot has printed so far; empty while no VM runs. */
  async #guestOutput(agent: string): Promise<string> {
    const box = await this.#box(agent).catch(() => undefined)
    return box ? ((await readGuest(box, GUEST_PART_FILES.output)) ?? '') : ''
  }

  /** One change to `agent`'s box (or its disks), counted, after any other change to it has ended. */
  #mutate<T>(operation: string, agent: string, call: () => Promise<T>): Promise<T> {
    return this.#changes.run(operation, agent, call)
  }

  #decided(event: VmDriverDecision, fields: Record<string, unknown>): void {
    this.#log.info({ event, ...fields } satisfies LogFields, event.replace(/-/g, ' '))
  }
}

/** A file's text in the guest; undefined when it is missing or the box stopped answering. */
async function readGuest(box: Box, path: string): Promise<string | undefined> {
  try {
    return (await box.channel.readFile(path)).toString('utf8')
  } catch {
    return undefined
  }
}

async function waitForGuestFile(box: Box, path: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while ((await readGuest(box, path)) === undefined) {
    if (Date.now() > deadline) throw new Error(`${path} did not appear within ${timeoutMs} ms`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

async function checked(result: Promise<ExecResult>, what: string): Promise<void> {
  const { exitCode, stderr } = await result
  if (exitCode !== 0) throw new Error(`${what}: exit ${exitCode}: ${stderr.trim().split('\n').slice(-1)[0] ?? ''}`)
}

/** Every regular file under `root`, with its path below root and its mode. */
async function folderFiles(root: string): Promise<Array<{ relative: string; data: Buffer; mode: number }>> {
  const out: Array<{ relative: string; data: Buffer; mode: number }> = []
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name)
      if (entry.isDirectory()) await walk(path)
      else if (entry.isFile()) out.push({ relative: relative(root, path), data: await readFile(path), mode: (await stat(path)).mode & 0o777 })
    }
  }
  await walk(root).catch((error: unknown) => {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
  })
  return out
}

/** `files` in groups of at most `maxBytes` (a file larger than that goes alone), so no frame to the guest grows without bound. */
function batches(files: GuestFile[], maxBytes: number): GuestFile[][] {
  const out: GuestFile[][] = []
  let current: GuestFile[] = []
  let size = 0
  for (const file of files) {
    const bytes = Buffer.byteLength(file.data)
    if (current.length > 0 && size + bytes > maxBytes) {
      out.push(current)
      current = []
      size = 0
    }
    current.push(file)
    size += bytes
  }
  if (current.length > 0) out.push(current)
  return out
}

function signalNumber(name: string): number {
  const numbers: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGKILL: 9, SIGTERM: 15 }
  return numbers[name] ?? 0
}
