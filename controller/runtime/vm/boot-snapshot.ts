/**
 * Per-image boot snapshots: a box of a given image starts by restoring a VM
 * that was booted once to a ready guest agent and saved, instead of booting
 * (a restore is several times faster than a cold boot under TCG). The
 * snapshot holds nothing of any Agent: it is taken before a box gets its
 * identity, and every restored box then gets its own hosts file, hostname,
 * clock and entropy (see GuestChannel.configure).
 *
 * A restore needs the same machine as the save: the same kernel, initramfs
 * and root filesystem, memory, vCPUs, devices and forwarded guest ports. All
 * of those go into the snapshot's key, so a change to any of them makes a
 * new snapshot rather than a broken restore. The helper commands behind the
 * forwarded ports, and the files behind the extra disks, may differ.
 */
import { createHash, randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { chmod, mkdir, mkdtemp, readFile, rename, rm, stat, writeFile } from 'node:fs/promises'
import { basename, join } from 'node:path'
import { withBuildLock } from '../build-lock.js'
import { vmCacheDir, type AssetPaths } from './guest-assets.js'
import { createSparse } from './guest-disks.js'
import { QemuVm, vmLayout, type VmSpec } from './qemu-process.js'

/** Where template VMs run: short, since their sockets must fit a Unix socket path. */
const TEMPLATE_DIR_PREFIX = '/tmp/bottle-vmsnap-'

/** Commands a template runs before it is saved; see ensureBootSnapshot. */
const WARM_UP_COMMANDS = 5

/** Bumped when what a snapshot holds changes in a way the other inputs do not show. */
const SNAPSHOT_FORMAT = 5

/**
 * The key of the snapshot `spec` restores from: every input a restore must
 * match. `diskSizes` are the sizes in bytes of spec.disks, in order: a
 * restored guest keeps the disk sizes it saw when the snapshot was saved.
 */
export function snapshotKey(spec: VmSpec, diskSizes: readonly number[]): string {
  const inputs = {
    format: SNAPSHOT_FORMAT,
    qemu: spec.qemu,
    accelerator: spec.accelerator,
    kernel: spec.kernel,
    // Cached assets are named by their content (initramfs digest, image id).
    initramfs: basename(spec.initramfs),
    rootfs: basename(spec.rootfs),
    cpus: spec.cpus ?? 1,
    memoryMiB: spec.memoryMiB ?? 512,
    guestPorts: spec.forwards.map((f) => f.guestPort).sort((a, b) => a - b),
    disks: (spec.disks ?? []).map((d, i) => ({ serial: d.serial, readOnly: d.readOnly, size: diskSizes[i] })),
    tscKhz: spec.tscKhz,
  }
  return createHash('sha256').update(JSON.stringify(inputs)).digest('hex').slice(0, 24)
}

/**
 * `<root fs>_<initramfs>_<key>.vmstate`: the names of the cached assets it
 * was booted from come first, so pruning the cache can tell which snapshots
 * an asset's removal makes useless. The guest's memory is beside it, with
 * the same stem and MEMORY_SUFFIX.
 */
export function snapshotFileName(spec: VmSpec, key: string): string {
  const stem = (path: string): string => basename(path).replace(/\.[^.]*$/, '')
  return `${stem(spec.rootfs)}_${stem(spec.initramfs)}_${key}${STATE_SUFFIX}`
}

export const STATE_SUFFIX = '.vmstate'
export const MEMORY_SUFFIX = '.ram'

/** A booted guest, saved: its devices' state, and its memory, which restored boxes map copy-on-write. */
export interface BootSnapshot {
  state: string
  memory: string
}

/** `spec`, restored from `snapshot` instead of booted. */
export function restoredSpec(spec: VmSpec, snapshot: BootSnapshot): VmSpec {
  return { ...spec, incoming: snapshot.state, memoryFile: { path: snapshot.memory, shared: false } }
}

export interface BootSnapshotOptions extends AssetPaths {
  /** How long the template VM may take to boot. */
  bootTimeoutMs?: number
  /** Told each step of a build; not called when the snapshot is cached. */
  onProgress?: (line: string) => void
}

/**
 * The path of the boot snapshot for `spec`, booting and saving it first when
 * it is missing. One build per key at a time across processes; the file
 * appears complete or not at all.
 */
export async function ensureBootSnapshot(spec: VmSpec, options: BootSnapshotOptions = {}): Promise<BootSnapshot> {
  const cache = join(vmCacheDir(options), 'snapshots')
  const diskSizes = await Promise.all((spec.disks ?? []).map(async (disk) => (await stat(disk.path)).size))
  const key = snapshotKey(spec, diskSizes)
  const state = join(cache, snapshotFileName(spec, key))
  const snapshot: BootSnapshot = { state, memory: state.slice(0, -STATE_SUFFIX.length) + MEMORY_SUFFIX }
  // The state file is renamed into place last: with it there, the memory is complete too.
  const existing = async (): Promise<BootSnapshot | undefined> => (existsSync(snapshot.state) && existsSync(snapshot.memory) ? snapshot : undefined)
  return await withBuildLock(join(cache, 'locks'), key, existing, async () => {
    await mkdir(cache, { recursive: true })
    // A builder that died mid-build (the lock was taken over) may have left its template VM running.
    const templateNote = join(cache, 'locks', `${key}.template`)
    await killLeftTemplate(templateNote)
    const stateDir = await mkdtemp(TEMPLATE_DIR_PREFIX)
    await writeFile(templateNote, stateDir)
    // Names pruning leaves alone (see vm-cache): a build may run beside a prune.
    const temp = join(cache, `.${key}.${randomBytes(4).toString('hex')}`)
    const temporary: BootSnapshot = { state: `${temp}${STATE_SUFFIX}.tmp`, memory: `${temp}${MEMORY_SUFFIX}.tmp` }
    let vm: QemuVm | undefined
    try {
      // The template boots with blank disks of the same sizes in the same
      // slots: the kernel reads a disk's first blocks when it finds it, and
      // no Agent's disk contents may end up in a snapshot others restore.
      const { incoming: _incoming, memoryFile: _memoryFile, ...bootSpec } = spec
      const blanks = await Promise.all(
        (spec.disks ?? []).map(async (disk, i) => {
          const blank = join(stateDir, `blank${i}.img`)
          await createSparse(blank, diskSizes[i] ?? 0)
          return { ...disk, path: blank }
        }),
      )
      // The guest's memory is written straight into the snapshot's memory file as it runs.
      options.onProgress?.('making the boot snapshot (once per image and machine size): booting a template VM')
      vm = await QemuVm.launch(stateDir, { ...bootSpec, disks: blanks, memoryFile: { path: temporary.memory, shared: true } })
      const channel = await vm.connectGuest({ readyTimeoutMs: options.bootTimeoutMs ?? 120_000 })
      // Warmed before it is saved: the guest agent's code for running a
      // command is compiled once here instead of in every restored box,
      // where it would be the first command's cost (under TCG, most of it).
      // A program and a shell, so the files a first command reads (the program, its libraries) are in the guest's page cache too.
      for (let i = 0; i < WARM_UP_COMMANDS; i++) await channel.exec(i % 2 === 0 ? ['true'] : ['sh', '-c', 'true'], { env: { WARM_UP: String(i) } })
      options.onProgress?.('making the boot snapshot (once per image and machine size): saving it')
      // Saved with the main port connected, so the guest agent waits in a read of it (see QemuVm.connectRestored).
      await vm.saveSnapshot(temporary.state)
      channel.close()
      // Nothing may write the memory file once boxes map it: QEMU is gone before it is renamed into place.
      await vm.stop()
      vm = undefined
      // QEMU made both with the controller's umask; a booted guest's memory is for its owner only.
      await Promise.all([chmod(temporary.memory, 0o600), chmod(temporary.state, 0o600)])
      await rename(temporary.memory, snapshot.memory)
      await rename(temporary.state, snapshot.state)
      return snapshot
    } finally {
      await vm?.stop()
      await rm(temporary.state, { force: true })
      await rm(temporary.memory, { force: true })
      await rm(stateDir, { recursive: true, force: true })
      await rm(templateNote, { force: true })
    }
  })
}

/** Kills the template VM named in `note` if it still runs, and removes its folder. */
async function killLeftTemplate(note: string): Promise<void> {
  const dir = await readFile(note, 'utf8').catch(() => undefined)
  // Only ever a template's own folder: the note is a file anyone with the cache could edit.
  if (dir === undefined || !dir.startsWith(TEMPLATE_DIR_PREFIX)) return
  const pid = await QemuVm.runningPid(vmLayout(dir))
  if (pid !== undefined) process.kill(pid, 'SIGKILL')
  await rm(dir, { recursive: true, force: true })
  await rm(note, { force: true })
}
