/**
 * DockerDriver: the RuntimeDriver for a Docker engine, through dockerode only.
 *
 * Per Agent: an internal network (see network-options.ts for what makes it
 * a dead end), an egress network, a workspace volume, and two containers:
 * the agent on the internal network only, the sidecar bundle on both.
 * Every object carries ownership labels; anything without this instance's
 * labels is never changed, even when it has one of our names.
 *
 * observe() is three list calls and no mutation. Every call that changes the
 * engine goes through #mutate(), which counts it.
 */
import { PassThrough, Writable } from 'node:stream'
import Dockerode from 'dockerode'
import type { Logger } from 'pino'
import {
  DriverError,
  type Availability,
  type ExecOptions,
  type ExecResult,
  type LogOptions,
  type ObservedAgent,
  type PartName,
  type PartSpec,
  type RemoveOptions,
  type RuntimeDriver,
  type PartEvent,
} from '../driver.js'
import type { InteractiveSession, SessionOptions } from '../interactive-session.js'
import type { LoopbackAddressBook } from '../loopback-addresses.js'
import { containerCreateOptions } from './container-options.js'
import { publishedLoopbackAddress } from './loopback-publish.js'
import { sessionExecOptions, startDockerSession } from './docker-session.js'
import { exitCodeOf } from './exec-exit-code.js'
import { engineError, statusCodeOf } from './engine-errors.js'
import { egressNetworkOptions, internalNetworkIsIsolated, internalNetworkOptions } from './network-options.js'
import { dockerNames, isOwned, ownershipFilter, ownershipLabels, partContainerName, runtimeOwner, type DockerNames } from './names.js'
import { groupObserved } from './observed-agents.js'
import { DEFAULT_INTERNAL_POOL, formatCidr, freeSubnet, INTERNAL_PREFIX, parseCidr, type Cidr } from './subnet-allocation.js'
import { eventFilters, toPartEvent, type DockerEventMessage } from './part-events.js'
import type { LogFields } from '../../log-events.js'

export type OciRuntime = 'runc' | 'runsc'

export interface DockerDriverOptions {
  docker?: Dockerode
  /** Controller instance; objects of other instances are invisible to this driver. */
  instance: string
  logger: Logger
  /** The OCI runtime parts run with. Default: runsc (gVisor) when the engine has it, else the engine's default. */
  ociRuntime?: OciRuntime
  /** How long `stop` waits for a part to exit before Docker kills it. Default 10 s. */
  stopTimeoutSeconds?: number
  /** IPv4 range the internal networks' /28 subnets come from. Default 10.213.0.0/16. */
  internalSubnetPool?: string
  /**
   * The runtime whose Agents' Docker objects this driver manages (see
   * runtimeOwner): `docker` (default) for the docker runtime's boxes and
   * bundles; `vm` for the bundles of VM boxes, which the vm driver drives
   * through a driver of its own.
   */
  runtime?: string
  /** Whether Agents get a workspace volume. The vm runtime keeps its workspace on a disk image instead. Default true. */
  workspaceVolume?: boolean
  /**
   * For a bundle host whose boxes cannot reach the engine's bridge
   * addresses (Docker Desktop on macOS keeps them inside its own VM): each
   * Agent's sidecars part publishes `ports` on the Agent's own loopback
   * address from `addresses`, and hostReachableAddress names that address.
   * Never set on the docker runtime's own driver: its agents reach their
   * bundle on the internal network, and nothing is published for them.
   */
  publishBundle?: { addresses: LoopbackAddressBook; ports: readonly number[] }
}

/** Every decision the driver logs; one pino line each. */
export type DriverDecision =
  | 'oci-runtime-selected'
  | 'network-created'
  | 'network-replaced'
  | 'volume-created'
  | 'part-created'
  | 'part-replaced'
  | 'part-started'
  | 'part-stopped'
  | 'part-removed'
  | 'part-signalled'
  | 'agent-removed'

export class DockerDriver implements RuntimeDriver {
  readonly kind = 'docker'
  readonly #docker: Dockerode
  readonly #instance: string
  readonly #log: Logger
  readonly #configuredOciRuntime: OciRuntime | undefined
  readonly #stopTimeoutSeconds: number
  readonly #internalPool: Cidr
  readonly #workspaceVolume: boolean
  readonly #publish: DockerDriverOptions['publishBundle']
  #ociRuntime: Promise<string | undefined> | undefined
  #mutations = 0

  constructor(options: DockerDriverOptions) {
    // Validates the instance name once, up front.
    this.#instance = runtimeOwner(options.instance, options.runtime)
    this.#workspaceVolume = options.workspaceVolume ?? true
    this.#publish = options.publishBundle
    this.#docker = options.docker ?? new Dockerode()
    this.#log = options.logger.child({ driver: 'docker', instance: this.#instance })
    this.#configuredOciRuntime = options.ociRuntime
    this.#stopTimeoutSeconds = options.stopTimeoutSeconds ?? 10
    const pool = parseCidr(options.internalSubnetPool ?? DEFAULT_INTERNAL_POOL)
    if (pool === undefined || pool.prefix > INTERNAL_PREFIX) {
      throw new DriverError('docker', 'configure', 'internalSubnetPool', `"${options.internalSubnetPool}" is not an IPv4 range of /${INTERNAL_PREFIX} or larger`)
    }
    this.#internalPool = pool
  }

  get mutations(): number {
    return this.#mutations
  }

  /**
   * Always available: an engine that does not answer is a passing failure
   * of each call (reported and retried), not a host that cannot run boxes.
   */
  async available(): Promise<Availability> {
    return { ok: true }
  }

  async observe(): Promise<ObservedAgent[]> {
    const label = ownershipFilter(this.#instance)
    try {
      const [containers, networks, volumes] = await Promise.all([
        this.#docker.listContainers({ all: true, filters: { label } }),
        this.#docker.listNetworks({ filters: { label } }),
        this.#docker.listVolumes({ filters: { label } }),
      ])
      const observed = groupObserved(this.#instance, containers, networks, volumes.Volumes ?? [], { workspaceVolume: this.#workspaceVolume })
      await this.#addTaskFacts(observed)
      return observed
    } catch (error) {
      throw engineError('observe', `instance ${this.#instance}`, error)
    }
  }

  /**
   * How a finished task went: the list answer has no timings or restart
   * count, so a task part that is not running is inspected (one call per
   * such part; a resync of long-running agents makes none).
   */
  async #addTaskFacts(observed: ObservedAgent[]): Promise<void> {
    const parts = observed.flatMap((o) => Object.values(o.parts)).filter((p) => p?.runsToCompletion && p.state !== 'running')
    await Promise.all(parts.map(async (part) => {
      try {
        const info = await this.#docker.getContainer(part!.id).inspect()
        part!.restartCount = info.RestartCount
        part!.exitCode = info.State.ExitCode
        if (info.State.StartedAt && !info.State.StartedAt.startsWith('0001')) part!.startedAt = info.State.StartedAt
        if (info.State.FinishedAt && !info.State.FinishedAt.startsWith('0001')) part!.finishedAt = info.State.FinishedAt
      } catch {
        // Removed between the list and the inspect: the next observe says so.
      }
    }))
  }

  async ensureInfrastructure(agent: string): Promise<void> {
    const names = this.#names(agent, 'ensure-infrastructure')
    await this.#ensureInternalNetwork(agent, names)
    await this.#ensureNetwork(agent, names.egressNetwork, egressNetworkOptions(this.#instance, agent, names))
    if (this.#workspaceVolume) await this.#ensureVolume(agent, names)
  }

  /**
   * The part's address as this host reaches it: the loopback address its
   * bundle ports are published on, when this driver publishes them and the
   * container was made so (read from the container, so one made before
   * publishing was configured still answers where it really is); else its
   * address on its Agent's egress network, which (unlike the internal one,
   * whose bridge has no host address) a host with a native engine reaches.
   * How a VM's forwarded ports or allowlist find its bundle. Undefined
   * while the part does not run.
   */
  async hostReachableAddress(agent: string, part: PartName): Promise<string | undefined> {
    const names = this.#names(agent, 'address')
    const existing = await this.#ownedContainer(partContainerName(names, part), agent, 'address')
    if (existing === undefined || !existing.State.Running) return undefined
    const published = this.#publish === undefined ? undefined : publishedLoopbackAddress(existing.HostConfig.PortBindings as Dockerode.PortMap | undefined, this.#publish.ports)
    if (published !== undefined) return published
    const address = existing.NetworkSettings.Networks[names.egressNetwork]?.IPAddress
    return address ? address : undefined
  }

  /**
   * The loopback address this driver publishes the Agent's bundle on
   * (allocated on first ask, see ../loopback-addresses.ts), known before
   * the bundle runs; undefined when it does not publish.
   */
  async loopbackAddress(agent: string): Promise<string | undefined> {
    this.#names(agent, 'address')
    return this.#publish?.addresses.addressFor(agent)
  }

  async createPart(agent: string, part: PartName, spec: PartSpec): Promise<void> {
    const names = this.#names(agent, 'create-part')
    const name = partContainerName(names, part)
    const existing = await this.#ownedContainer(name, agent, 'create-part')
    if (existing !== undefined) {
      await this.#stopAndRemove(existing.Id, name, 'create-part')
      this.#decided('part-replaced', { agent, part, container: name, previousHash: existing.Config.Labels?.['bottle.dev/spec-hash'] })
    }
    if (spec.mounts.some((mount) => mount.kind === 'workspace')) await this.#requireWorkspace(agent, names)
    const ociRuntime = await this.#selectOciRuntime()
    const publish = part === 'sidecars' && this.#publish !== undefined ? { address: await this.#publish.addresses.addressFor(agent), ports: this.#publish.ports } : undefined
    const options = containerCreateOptions({ instance: this.#instance, agent, part, spec, names, ...(ociRuntime ? { ociRuntime } : {}), ...(publish ? { publish } : {}) })
    const container = await this.#mutate('create-part', name, () => this.#docker.createContainer(options))
    try {
      if (part === 'sidecars') {
        await this.#mutate('create-part', names.egressNetwork, () =>
          this.#docker.getNetwork(names.egressNetwork).connect({ Container: container.id }),
        )
      }
      await this.#mutate('start-part', name, () => container.start())
    } catch (error) {
      // A half-made part (created, not wired or not started) must not look like a finished one.
      await this.#mutate('create-part', name, () => container.remove({ force: true })).catch(() => undefined)
      throw engineError('create-part', name, error)
    }
    this.#decided('part-created', { agent, part, container: name, image: spec.image, hash: spec.hash, ociRuntime: ociRuntime ?? 'default', ...(publish ? { published: publish.address } : {}) })
  }

  async startPart(agent: string, part: PartName): Promise<void> {
    const name = this.#partName(agent, part, 'start-part')
    const existing = await this.#ownedContainer(name, agent, 'start-part')
    if (existing === undefined) throw new DriverError('docker', 'start-part', name, 'no such part; create it first')
    await this.#mutate('start-part', name, async () => {
      try {
        await this.#docker.getContainer(existing.Id).start()
      } catch (error) {
        if (statusCodeOf(error) !== 304) throw error
      }
    })
    this.#decided('part-started', { agent, part, container: name })
  }

  async stopPart(agent: string, part: PartName): Promise<void> {
    const name = this.#partName(agent, part, 'stop-part')
    const existing = await this.#ownedContainer(name, agent, 'stop-part')
    if (existing === undefined) return
    await this.#mutate('stop-part', name, async () => {
      try {
        await this.#docker.getContainer(existing.Id).stop({ t: this.#stopTimeoutSeconds })
      } catch (error) {
        if (statusCodeOf(error) !== 304) throw error
      }
    })
    this.#decided('part-stopped', { agent, part, container: name })
  }

  async removePart(agent: string, part: PartName): Promise<void> {
    const name = this.#partName(agent, part, 'remove-part')
    const existing = await this.#ownedContainer(name, agent, 'remove-part')
    if (existing === undefined) return
    await this.#stopAndRemove(existing.Id, name, 'remove-part')
    this.#decided('part-removed', { agent, part, container: name })
  }

  async signalPart(agent: string, part: PartName, signal: NodeJS.Signals): Promise<void> {
    const name = this.#partName(agent, part, 'signal-part')
    const existing = await this.#ownedContainer(name, agent, 'signal-part')
    if (existing === undefined) throw new DriverError('docker', 'signal-part', name, 'no such part')
    if (!existing.State.Running) throw new DriverError('docker', 'signal-part', name, `part is not running (${existing.State.Status})`)
    await this.#mutate('signal-part', name, () => this.#docker.getContainer(existing.Id).kill({ signal }))
    this.#decided('part-signalled', { agent, part, container: name, signal })
  }

  async removeAgent(agent: string, options: RemoveOptions): Promise<void> {
    const names = this.#names(agent, 'remove-agent')
    const label = ownershipFilter(this.#instance, agent)
    let containers: Dockerode.ContainerInfo[]
    let networks: Dockerode.NetworkInspectInfo[]
    try {
      ;[containers, networks] = await Promise.all([
        this.#docker.listContainers({ all: true, filters: { label } }),
        this.#docker.listNetworks({ filters: { label } }),
      ])
    } catch (error) {
      throw engineError('remove-agent', names.prefix, error)
    }
    await Promise.all(
      containers
        .filter((container) => isOwned(container.Labels, this.#instance, agent))
        .map((container) => this.#stopAndRemove(container.Id, container.Names[0]?.replace(/^\//, '') ?? container.Id, 'remove-agent')),
    )
    for (const network of networks.filter((candidate) => isOwned(candidate.Labels, this.#instance, agent))) {
      await this.#mutate('remove-agent', network.Name, async () => {
        try {
          await this.#docker.getNetwork(network.Id).remove()
        } catch (error) {
          if (statusCodeOf(error) !== 404) throw error
        }
      })
    }
    let purged = false
    if (options.purgeWorkspace) {
      const volume = await this.#ownedVolume(names.workspace, agent, 'remove-agent')
      if (volume !== undefined) {
        await this.#mutate('remove-agent', names.workspace, async () => {
          try {
            await this.#docker.getVolume(names.workspace).remove()
          } catch (error) {
            if (statusCodeOf(error) !== 404) throw error
          }
        })
        purged = true
      }
    }
    // The address goes back to the pool only once nothing of the Agent publishes on it.
    await this.#publish?.addresses.release(agent)
    this.#decided('agent-removed', {
      agent,
      containers: containers.length,
      networks: networks.length,
      workspace: purged ? 'purged' : 'kept',
    })
  }

  async exec(agent: string, part: PartName, argv: string[], options: ExecOptions = {}): Promise<ExecResult> {
    const name = this.#partName(agent, part, 'exec')
    if (argv.length === 0) throw new DriverError('docker', 'exec', name, 'empty command')
    const existing = await this.#ownedContainer(name, agent, 'exec')
    if (existing === undefined) throw new DriverError('docker', 'exec', name, 'no such part')
    if (!existing.State.Running) throw new DriverError('docker', 'exec', name, `part is not running (${existing.State.Status})`)
    const withStdin = options.stdin !== undefined
    const execOptions: Dockerode.ExecCreateOptions = {
      Cmd: argv,
      AttachStdin: withStdin,
      AttachStdout: true,
      AttachStderr: true,
      Tty: false,
    }
    if (options.env !== undefined) execOptions.Env = Object.entries(options.env).map(([key, value]) => `${key}=${value}`)
    if (options.user !== undefined) execOptions.User = options.user
    if (options.workdir !== undefined) execOptions.WorkingDir = options.workdir
    const instance = await this.#mutate('exec', name, () => this.#docker.getContainer(existing.Id).exec(execOptions))
    const stdout: Buffer[] = []
    const stderr: Buffer[] = []
    try {
      const stream = (await instance.start({ hijack: withStdin, stdin: withStdin })) as NodeJS.ReadWriteStream & {
        destroy(error?: Error): void
      }
      await new Promise<void>((resolve, reject) => {
        const onAbort = (): void => {
          stream.destroy()
          reject(new DriverError('docker', 'exec', name, 'aborted'))
        }
        if (options.signal?.aborted) return onAbort()
        options.signal?.addEventListener('abort', onAbort, { once: true })
        const done = (): void => {
          options.signal?.removeEventListener('abort', onAbort)
          resolve()
        }
        this.#docker.modem.demuxStream(stream, collect(stdout), collect(stderr))
        stream.once('end', done)
        stream.once('close', done)
        stream.once('error', (error: Error) => {
          options.signal?.removeEventListener('abort', onAbort)
          reject(error)
        })
        if (withStdin) {
          // Ending our side closes the command's stdin; its output keeps flowing back.
          const input = options.stdin ?? ''
          stream.end(typeof input === 'string' ? Buffer.from(input) : input)
        }
      })
      return { exitCode: await exitCodeOf(instance), stdout: Buffer.concat(stdout).toString('utf8'), stderr: Buffer.concat(stderr).toString('utf8') }
    } catch (error) {
      throw engineError('exec', name, error)
    }
  }

  async openSession(agent: string, part: PartName, argv: string[], options: SessionOptions): Promise<InteractiveSession> {
    const name = this.#partName(agent, part, 'open-session')
    if (argv.length === 0) throw new DriverError('docker', 'open-session', name, 'empty command')
    const existing = await this.#ownedContainer(name, agent, 'open-session')
    if (existing === undefined) throw new DriverError('docker', 'open-session', name, 'no such part')
    if (!existing.State.Running) throw new DriverError('docker', 'open-session', name, `part is not running (${existing.State.Status})`)
    const instance = await this.#mutate('open-session', name, () => this.#docker.getContainer(existing.Id).exec(sessionExecOptions(argv, options)))
    return startDockerSession(instance, name, options)
  }

  async *logs(agent: string, part: PartName, options: LogOptions = {}): AsyncIterable<string> {
    const name = this.#partName(agent, part, 'logs')
    const existing = await this.#ownedContainer(name, agent, 'logs')
    if (existing === undefined) throw new DriverError('docker', 'logs', name, 'no such part')
    const container = this.#docker.getContainer(existing.Id)
    const merged = new PassThrough()
    const common: Dockerode.ContainerLogsOptions = { stdout: true, stderr: true }
    if (options.tail !== undefined) common.tail = options.tail
    try {
      if (options.follow) {
        const stream = await container.logs({ ...common, follow: true })
        const stop = (): void => {
          ;(stream as unknown as { destroy(): void }).destroy()
          merged.end()
        }
        if (options.signal?.aborted) stop()
        options.signal?.addEventListener('abort', stop, { once: true })
        this.#docker.modem.demuxStream(stream, merged, merged)
        stream.once('end', () => merged.end())
        stream.once('error', (error: Error) => merged.destroy(error))
      } else {
        const buffer = await container.logs({ ...common, follow: false })
        const source = new PassThrough()
        this.#docker.modem.demuxStream(source, merged, merged)
        source.once('end', () => merged.end())
        source.end(buffer)
      }
    } catch (error) {
      throw engineError('logs', name, error)
    }
    let partial = ''
    try {
      for await (const chunk of merged) {
        const lines = (partial + (chunk as Buffer).toString('utf8')).split('\n')
        partial = lines.pop() ?? ''
        yield* lines
      }
    } catch (error) {
      if (!options.signal?.aborted) throw engineError('logs', name, error)
    }
    if (partial !== '') yield partial
  }

  async *events(signal: AbortSignal): AsyncIterable<PartEvent> {
    if (signal.aborted) return
    let stream: NodeJS.ReadableStream & { destroy(): void }
    try {
      stream = (await this.#docker.getEvents({ filters: eventFilters(this.#instance) })) as NodeJS.ReadableStream & { destroy(): void }
    } catch (error) {
      throw engineError('events', `instance ${this.#instance}`, error)
    }
    const stop = (): void => stream.destroy()
    signal.addEventListener('abort', stop, { once: true })
    let partial = ''
    try {
      for await (const chunk of stream) {
        const lines = (partial + chunk.toString()).split('\n')
        partial = lines.pop() ?? ''
        for (const line of lines) {
          if (line.trim() === '') continue
          let message: DockerEventMessage
          try {
            message = JSON.parse(line) as DockerEventMessage
          } catch {
            continue
          }
          const event = toPartEvent(this.#instance, message)
          if (event !== undefined) yield event
        }
      }
    } catch (error) {
      if (!signal.aborted) throw engineError('events', `instance ${this.#instance}`, error)
    } finally {
      signal.removeEventListener('abort', stop)
      stream.destroy()
    }
    if (!signal.aborted) {
      throw new DriverError('docker', 'events', `instance ${this.#instance}`, 'the engine closed the event stream')
    }
  }

  // --- internals -----------------------------------------------------------

  #names(agent: string, operation: string): DockerNames {
    try {
      return dockerNames(this.#instance, agent)
    } catch (error) {
      throw new DriverError('docker', operation, agent, (error as Error).message, { cause: error })
    }
  }

  #partName(agent: string, part: PartName, operation: string): string {
    return partContainerName(this.#names(agent, operation), part)
  }

  async #mutate<T>(operation: string, object: string, call: () => Promise<T>): Promise<T> {
    this.#mutations += 1
    try {
      return await call()
    } catch (error) {
      throw engineError(operation, object, error)
    }
  }

  #decided(event: DriverDecision, fields: Record<string, unknown>): void {
    this.#log.info({ event, ...fields } satisfies LogFields, event.replace(/-/g, ' '))
  }

  async #selectOciRuntime(): Promise<string | undefined> {
    this.#ociRuntime ??= (async () => {
      if (this.#configuredOciRuntime !== undefined) return this.#configuredOciRuntime
      let runtimes: Record<string, unknown> = {}
      try {
        runtimes = ((await this.#docker.info()) as { Runtimes?: Record<string, unknown> }).Runtimes ?? {}
      } catch (error) {
        this.#ociRuntime = undefined
        throw engineError('select-oci-runtime', 'engine', error)
      }
      const selected = 'runsc' in runtimes ? 'runsc' : undefined
      this.#decided('oci-runtime-selected', { ociRuntime: selected ?? 'default', available: Object.keys(runtimes) })
      return selected
    })()
    return this.#ociRuntime
  }

  /** The container of that name when it is ours; undefined when absent; an error when someone else's. */
  async #ownedContainer(name: string, agent: string, operation: string): Promise<Dockerode.ContainerInspectInfo | undefined> {
    let info: Dockerode.ContainerInspectInfo
    try {
      info = await this.#docker.getContainer(name).inspect()
    } catch (error) {
      if (statusCodeOf(error) === 404) return undefined
      throw engineError(operation, name, error)
    }
    if (!isOwned(info.Config.Labels, this.#instance, agent)) {
      throw new DriverError('docker', operation, name, 'a container of this name exists but is not managed by this controller; rename or remove it')
    }
    return info
  }

  async #ownedVolume(name: string, agent: string, operation: string): Promise<Dockerode.VolumeInspectInfo | undefined> {
    let info: Dockerode.VolumeInspectInfo & { Labels?: Record<string, string> | null }
    try {
      info = await this.#docker.getVolume(name).inspect()
    } catch (error) {
      if (statusCodeOf(error) === 404) return undefined
      throw engineError(operation, name, error)
    }
    if (!isOwned(info.Labels, this.#instance, agent)) {
      throw new DriverError('docker', operation, name, 'a volume of this name exists but is not managed by this controller')
    }
    return info
  }

  async #ownedNetwork(name: string, agent: string, operation: string): Promise<Dockerode.NetworkInspectInfo | undefined> {
    let info: Dockerode.NetworkInspectInfo
    try {
      info = (await this.#docker.getNetwork(name).inspect()) as Dockerode.NetworkInspectInfo
    } catch (error) {
      if (statusCodeOf(error) === 404) return undefined
      throw engineError(operation, name, error)
    }
    // Network names are not unique in Docker; a lookup by name may find a
    // network someone else created with the same name.
    if (info.Name !== name || !isOwned(info.Labels, this.#instance, agent)) {
      throw new DriverError('docker', operation, name, 'a network of this name exists but is not managed by this controller; remove it')
    }
    return info
  }

  async #requireWorkspace(agent: string, names: DockerNames): Promise<void> {
    // Docker would silently create a missing named volume, without our labels.
    if ((await this.#ownedVolume(names.workspace, agent, 'create-part')) === undefined) {
      throw new DriverError('docker', 'create-part', names.workspace, 'workspace volume missing; ensureInfrastructure must run first')
    }
  }

  async #ensureNetwork(agent: string, name: string, options: Dockerode.NetworkCreateOptions): Promise<Dockerode.NetworkInspectInfo | undefined> {
    const existing = await this.#ownedNetwork(name, agent, 'ensure-infrastructure')
    if (existing !== undefined) return existing
    await this.#mutate('ensure-infrastructure', name, () => this.#docker.createNetwork(options))
    this.#decided('network-created', { agent, network: name, internal: options.Internal === true })
    return undefined
  }

  async #ensureInternalNetwork(agent: string, names: DockerNames): Promise<void> {
    const existing = await this.#ownedNetwork(names.internalNetwork, agent, 'ensure-infrastructure')
    if (existing === undefined) {
      await this.#createInternalNetwork(agent, names)
      return
    }
    if (internalNetworkIsIsolated(existing)) return
    // Made by an older recipe: its isolation cannot be trusted, and a
    // network's options cannot change in place. The parts on it go too; the
    // reconciler recreates them on the new network.
    for (const part of ['agent', 'sidecars'] as const) {
      const name = partContainerName(names, part)
      const container = await this.#ownedContainer(name, agent, 'ensure-infrastructure')
      if (container !== undefined) await this.#stopAndRemove(container.Id, name, 'ensure-infrastructure')
    }
    await this.#mutate('ensure-infrastructure', names.internalNetwork, () => this.#docker.getNetwork(existing.Id).remove())
    await this.#createInternalNetwork(agent, names)
    this.#decided('network-replaced', { agent, network: names.internalNetwork, reason: 'isolation recipe outdated' })
  }

  async #createInternalNetwork(agent: string, names: DockerNames): Promise<void> {
    let networks: Dockerode.NetworkInspectInfo[]
    try {
      networks = await this.#docker.listNetworks()
    } catch (error) {
      throw engineError('ensure-infrastructure', names.internalNetwork, error)
    }
    const taken = networks
      .flatMap((network) => network.IPAM?.Config ?? [])
      .map((config) => parseCidr(config.Subnet ?? ''))
      .filter((cidr): cidr is Cidr => cidr !== undefined)
    // Another reconcile may take the same block between our look and our create.
    for (let attempt = 0; attempt < 5; attempt += 1) {
      const subnet = freeSubnet(this.#internalPool, INTERNAL_PREFIX, taken, names.internalNetwork)
      if (subnet === undefined) {
        throw new DriverError('docker', 'ensure-infrastructure', names.internalNetwork, `no free /${INTERNAL_PREFIX} left in the internal subnet pool ${formatCidr(this.#internalPool)}`)
      }
      try {
        await this.#mutate('ensure-infrastructure', names.internalNetwork, () =>
          this.#docker.createNetwork(internalNetworkOptions(this.#instance, agent, names, formatCidr(subnet))),
        )
      } catch (error) {
        if (!(error instanceof Error) || !/overlaps/i.test(error.message)) throw error
        taken.push(subnet)
        continue
      }
      this.#decided('network-created', { agent, network: names.internalNetwork, internal: true, subnet: formatCidr(subnet) })
      return
    }
    throw new DriverError('docker', 'ensure-infrastructure', names.internalNetwork, 'could not claim a free subnet after 5 attempts')
  }

  async #ensureVolume(agent: string, names: DockerNames): Promise<void> {
    if ((await this.#ownedVolume(names.workspace, agent, 'ensure-infrastructure')) !== undefined) return
    await this.#mutate('ensure-infrastructure', names.workspace, () =>
      this.#docker.createVolume({ Name: names.workspace, Labels: ownershipLabels(this.#instance, agent, 'workspace') }),
    )
    this.#decided('volume-created', { agent, volume: names.workspace })
  }

  async #stopAndRemove(id: string, name: string, operation: string): Promise<void> {
    const container = this.#docker.getContainer(id)
    await this.#mutate(operation, name, async () => {
      try {
        await container.stop({ t: this.#stopTimeoutSeconds })
      } catch (error) {
        const status = statusCodeOf(error)
        if (status !== 304 && status !== 404) throw error
      }
    })
    await this.#mutate(operation, name, async () => {
      try {
        await container.remove({ force: true })
      } catch (error) {
        if (statusCodeOf(error) !== 404) throw error
      }
    })
  }
}

function collect(into: Buffer[]): Writable {
  return new Writable({
    write(chunk: Buffer, _encoding, callback) {
      into.push(chunk)
      callback()
    },
  })
}
