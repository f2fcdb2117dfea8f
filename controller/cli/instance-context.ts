import { homedir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import Dockerode from 'dockerode'
import pino, { type Logger } from 'pino'
import { BUNDLE_SERVICES } from '../plan/bundle-services.js'
import { DockerDriver, type DockerDriverOptions } from '../runtime/docker/docker-driver.js'
import { DockerImageStore } from '../runtime/docker/image-store.js'
import { assertInstanceName } from '../runtime/docker/names.js'
import { DriverRegistry } from '../runtime/driver-registry.js'
import type { ImageStore } from '../runtime/images.js'
import { FileLoopbackAddressBook } from '../runtime/loopback-addresses.js'
import { smolvmBundleReach } from '../runtime/smolvm/bundle-reach.js'
import { RegistryImagePacker } from '../runtime/smolvm/image-pack.js'
import { SmolvmCli } from '../runtime/smolvm/smolvm-cli.js'
import { SmolvmDriver } from '../runtime/smolvm/smolvm-driver.js'
import { VmDriver } from '../runtime/vm/vm-driver.js'

/** Options every command that works on one controller instance's Agents shares. */
export interface InstanceOptions {
  instance: string
  stateDir?: string
  logLevel?: string
}

/**
 * The controller's private folder for one instance: per-Agent CAs, rendered
 * configs and tokens. `$BOTTLE_STATE_DIR`, else `$XDG_STATE_HOME/bottle`,
 * else `~/.local/state/bottle`; then the instance name.
 */
export function instanceStateDir(options: InstanceOptions): string {
  assertInstanceName(options.instance)
  const base = options.stateDir ?? process.env.BOTTLE_STATE_DIR ?? join(process.env.XDG_STATE_HOME ?? join(homedir(), '.local', 'state'), 'bottle')
  return join(resolve(base), options.instance)
}

/** Logs go to stderr as JSON lines; secrets are never logged, and these keys are redacted as a backstop. */
export function createLogger(level = process.env.BOTTLE_LOG_LEVEL ?? 'info'): Logger {
  return pino(
    {
      level,
      base: { pid: process.pid },
      redact: { paths: ['authorization', 'proxy-authorization', 'cookie', '*.authorization', '*.cookie', 'headers.authorization', 'headers.cookie'], censor: '[redacted]' },
    },
    pino.destination(2),
  )
}

/**
 * The driver of every runtime this controller version has, for one instance.
 * The vm and smolvm runtimes' bundles are containers, each driven by a
 * Docker driver of that runtime's own owner (see BundleHost). A host
 * without smolvm gets the smolvm driver's own reason from the registry.
 * `role`: the controller supervises VMs; every other command reaches them
 * beside it.
 */
export function instanceDrivers(options: InstanceOptions, log: Logger, role: 'controller' | 'command' = 'command'): DriverRegistry {
  const docker = new Dockerode()
  const { instance } = options
  const reach = smolvmBundleReach(process.platform, process.env)
  return new DriverRegistry({
    docker: new DockerDriver({ docker, instance, logger: log }),
    vm: new VmDriver({
      bundleHost: new DockerDriver({ docker, instance, logger: log, runtime: 'vm', workspaceVolume: false }),
      docker,
      instance,
      stateDir: join(instanceStateDir(options), 'vm'),
      logger: log,
      role,
    }),
    smolvm: new SmolvmDriver({
      bundleHost: new DockerDriver({ docker, instance, logger: log, runtime: 'smolvm', workspaceVolume: false, ...smolvmBundlePublishing(options, reach) }),
      ...('problem' in reach ? { misconfigured: reach.problem } : {}),
      packer: new RegistryImagePacker({ docker, smolvm: new SmolvmCli(), cacheDir: join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'bottle', 'smolvm') }),
      instance,
      stateDir: join(instanceStateDir(options), 'smolvm'),
      logger: log,
    }),
  })
}

/**
 * How the smolvm bundle host lets boxes reach their bundles (see
 * runtime/smolvm/bundle-reach.ts): on loopback, the bundle's own ports on
 * each Agent's loopback address, from one address book beside the
 * instances' state folders, so Agents of every instance there stay apart.
 */
function smolvmBundlePublishing(options: InstanceOptions, reach: ReturnType<typeof smolvmBundleReach>): Partial<Pick<DockerDriverOptions, 'publishBundle'>> {
  if (!('reach' in reach) || reach.reach !== 'loopback') return {}
  const file = join(dirname(instanceStateDir(options)), 'loopback-addresses.json')
  return {
    publishBundle: {
      addresses: new FileLoopbackAddressBook({ file, instance: options.instance }),
      ports: Object.values(BUNDLE_SERVICES).map((service) => service.port),
    },
  }
}

/** Where the Agents' images come from (built on the Docker engine; a VM driver turns the same images into root filesystems). */
export function instanceImages(log: Logger): ImageStore {
  return new DockerImageStore({ logger: log, resolveMemoMs: 1000 })
}

/** The bundle runs as the controller's own uid:gid so it can read the 0600 files the controller writes for it. */
export function bundleUser(): string {
  const uid = process.getuid?.() ?? 0
  const gid = process.getgid?.() ?? 0
  return `${uid}:${gid}`
}
