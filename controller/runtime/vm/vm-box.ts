/**
 * One agent box on the vm runtime, start to finish: the composition of the
 * other modules that a `vm` RuntimeDriver's createPart / observe / exec call.
 * A box starts from its image's boot snapshot (booted once, see
 * boot-snapshot.ts), gets its workspace disk and identity, and reaches its
 * bundle's ports, which on the host side are the bundle container's address
 * on the Agent's internal network (the host reaches a container there
 * directly, internal network or not).
 */
import { randomBytes } from 'node:crypto'
import type Dockerode from 'dockerode'
import { ensureBootSnapshot, restoredSpec } from './boot-snapshot.js'
import { ensureInitramfs, ensureRootfs, type AssetPaths } from './guest-assets.js'
import type { ImageRunConfig } from '../guest-part.js'
import type { GuestChannel } from './guest-channel.js'
import { ensureExt4Disk } from './guest-disks.js'
import { busyboxNcHelper, guestHostsFile } from './guest-network.js'
import { hostTscKhz, type HostCapability } from './host-probe.js'
import { QemuVm, type VmSpec } from './qemu-process.js'

/** The serial the workspace disk is attached with, and mounted by. */
export const WORKSPACE_SERIAL = 'workspace'

export interface VmBoxRequest {
  /** The agent image (a Docker reference); its files become the box's root. */
  image: string
  hostname: string
  cpus?: number
  memoryMiB?: number
  bundle: {
    /** The bundle container's address as the host reaches it. */
    address: string
    /** Its ports; the box reaches each at the same port number. */
    ports: readonly number[]
    /** The names the box calls the bundle by (egress, git-gate, supervise...). */
    names: readonly string[]
  }
  workspace: {
    /** The Agent's workspace disk image; created empty the first time. */
    disk: string
    /** Where the box sees it. */
    target: string
  }
}

export interface VmBoxContext extends AssetPaths {
  docker: Dockerode
  /** A usable host, from probeHost(). */
  host: Extract<HostCapability, { usable: true }>
  /** The static busybox whose nc carries a bundle connection on the host side. */
  busybox: string
}

export interface VmBox {
  vm: QemuVm
  channel: GuestChannel
  /** What the image says about running it (env, user, entrypoint, command, workdir). */
  image: ImageRunConfig
}

/**
 * The machine every box of this host boots: the probed QEMU and kernel, the
 * image's assets, the bundle ports it may reach and the host's TSC clock
 * hint; the caller adds size and disks.
 */
export async function vmSpecFor(host: VmBoxContext['host'], assets: { initramfs: string; rootfs: string }, busybox: string, forwards: VmSpec['forwards']): Promise<VmSpec> {
  return {
    qemu: host.qemu,
    accelerator: host.accelerator,
    kernel: host.kernel.kernel,
    initramfs: assets.initramfs,
    rootfs: assets.rootfs,
    forwards,
    forwardHelper: busyboxNcHelper(busybox),
    tscKhz: await hostTscKhz(),
  }
}

/** Starts a box in `stateDir` (one folder per box, see qemu-process.ts) and returns it ready for commands. */
export async function startVmBox(stateDir: string, request: VmBoxRequest, context: VmBoxContext): Promise<VmBox> {
  const [rootfs, initramfs] = await Promise.all([
    ensureRootfs(request.image, context),
    ensureInitramfs(context.host.kernel, context),
    ensureExt4Disk(request.workspace.disk),
  ])
  const forwards = request.bundle.ports.map((port) => ({ guestPort: port, host: request.bundle.address, hostPort: port }))
  const spec: VmSpec = {
    ...(await vmSpecFor(context.host, { initramfs, rootfs: rootfs.path }, context.busybox, forwards)),
    ...(request.cpus === undefined ? {} : { cpus: request.cpus }),
    ...(request.memoryMiB === undefined ? {} : { memoryMiB: request.memoryMiB }),
    disks: [{ path: request.workspace.disk, readOnly: false, serial: WORKSPACE_SERIAL }],
  }
  const snapshot = await ensureBootSnapshot(spec, context)
  const vm = await QemuVm.launch(stateDir, restoredSpec(spec, snapshot))
  try {
    const channel = await vm.connectRestored({ readyTimeoutMs: 60_000 })
    await channel.configure({
      mounts: [{ serial: WORKSPACE_SERIAL, target: request.workspace.target }],
      hosts: guestHostsFile(request.hostname, request.bundle.names),
      hostname: request.hostname,
      timeMs: Date.now(),
      seed: randomBytes(64),
    })
    return { vm, channel, image: rootfs.config }
  } catch (error) {
    await vm.stop()
    throw error
  }
}

/**
 * The box already running in `stateDir` (a restarted controller, or a
 * command beside it on a spare port), connected again; undefined when none
 * runs there. Its identity and mounts are the
 * ones it was started with.
 */
export async function adoptVmBox(stateDir: string, port: 'main' | 'spare' = 'main'): Promise<Omit<VmBox, 'image'> | undefined> {
  const vm = await QemuVm.adopt(stateDir, { control: port === 'main' })
  if (vm === undefined) return undefined
  try {
    // A command beside the controller gives its spare port back as soon as it stops using it.
    return { vm, channel: await vm.connectGuest({ readyTimeoutMs: 10_000, port, ...(port === 'spare' ? { closeWhenIdleMs: 250 } : {}) }) }
  } catch (error) {
    vm.disconnect()
    throw error
  }
}

/** Stops a box with its writes on its disk. Idempotent. */
export async function stopVmBox(box: Omit<VmBox, 'image'>): Promise<void> {
  await box.channel.sync().catch(() => undefined)
  box.channel.close()
  await box.vm.stop()
}
