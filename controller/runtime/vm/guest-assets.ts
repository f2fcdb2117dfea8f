/**
 * What a micro-VM boots from, built on the host without privileges beyond
 * reading a Docker image:
 *   - the kernel: Debian's cloud kernel, extracted from its package into the
 *     cache by scripts/fetch-vm-kernel (or any kernel named by
 *     BOTTLE_VM_KERNEL, with its modules beside it);
 *   - the initramfs: static busybox, the few modules the guest needs, the
 *     /init and the guest agent of images/vm-guest, as a cpio archive
 *     written here and cached by a digest of all of those;
 *   - the root filesystem: the agent image's files (`docker export`) as a
 *     read-only erofs image, cached by image id, so the VM runs exactly the
 *     image the docker runtime would run.
 * Every cached file is written under a temporary name and renamed into
 * place, so a crash or a concurrent build never leaves a half-written asset.
 */
import { createHash, randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { delimiter, join } from 'node:path'
import { pipeline } from 'node:stream/promises'
import type Dockerode from 'dockerode'
import { execa } from 'execa'
import { findPackageRoot } from '../../package-root.js'
import { imageRunConfig, type ImageRunConfig } from '../guest-part.js'
import { writeCpio, type CpioEntry } from './cpio.js'

/**
 * Modules the guest loads, in dependency order (the cloud kernel builds all
 * of them as modules): the virtio-mmio transport, block (root and disks),
 * console (the agent's port), net (the bundle's ports), entropy, and the
 * root filesystem's erofs and overlay.
 */
export const GUEST_MODULES: readonly string[] = [
  'virtio_ring',
  'virtio',
  'virtio_mmio',
  'virtio_blk',
  'virtio_console',
  'failover',
  'net_failover',
  'virtio_net',
  'virtio-rng',
  'libcrc32c',
  'erofs',
  'overlay',
]

export interface GuestKernel {
  /** The bzImage QEMU boots. */
  kernel: string
  /** lib/modules/<version> of the same kernel. */
  modulesDir: string
  version: string
}

export interface AssetPaths {
  /** Folder of every cached VM asset. Default: BOTTLE_VM_CACHE, else <package>/.cache/vm. */
  cacheDir?: string
  /** A kernel to boot instead of the cached Debian one. Default: BOTTLE_VM_KERNEL. */
  kernel?: string
  /** That kernel's lib/modules/<version>. Default: BOTTLE_VM_MODULES, else found beside the kernel. */
  modulesDir?: string
}

export class GuestAssetError extends Error {
  override readonly name = 'GuestAssetError'
}

export function vmCacheDir(paths: AssetPaths = {}): string {
  return paths.cacheDir ?? nonEmpty(process.env.BOTTLE_VM_CACHE) ?? join(findPackageRoot(), '.cache', 'vm')
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value
}

/**
 * The kernel to boot. An explicit one must come with its modules (found at
 * ../lib/modules/<version> of a package's boot/ folder, or named); otherwise
 * the newest kernel extracted into <cache>/kernel/<version>/.
 */
export async function locateKernel(paths: AssetPaths = {}): Promise<GuestKernel> {
  const explicit = paths.kernel ?? nonEmpty(process.env.BOTTLE_VM_KERNEL)
  const explicitModules = paths.modulesDir ?? nonEmpty(process.env.BOTTLE_VM_MODULES)
  if (explicit !== undefined) {
    if (!existsSync(explicit)) throw new GuestAssetError(`kernel ${explicit} does not exist`)
    const version = /vmlinuz-(.+)$/.exec(explicit)?.[1]
    const modulesDir = explicitModules ?? (version === undefined ? undefined : join(explicit, '..', '..', 'lib', 'modules', version))
    if (modulesDir === undefined || !existsSync(modulesDir)) {
      throw new GuestAssetError(`no modules for kernel ${explicit}: set BOTTLE_VM_MODULES to its lib/modules/<version> folder`)
    }
    return { kernel: explicit, modulesDir, version: version ?? 'custom' }
  }
  const root = join(vmCacheDir(paths), 'kernel')
  const versions = existsSync(root) ? (await readdir(root)).filter((name) => !name.startsWith('.')).sort() : []
  for (const version of versions.reverse()) {
    const kernel = join(root, version, 'boot', `vmlinuz-${version}`)
    const modulesDir = join(root, version, 'lib', 'modules', version)
    if (existsSync(kernel) && existsSync(modulesDir)) return { kernel, modulesDir, version }
  }
  throw new GuestAssetError(`no guest kernel in ${root}: run scripts/fetch-vm-kernel (or set BOTTLE_VM_KERNEL)`)
}

/** A program on PATH, or undefined. */
export function findOnPath(program: string, path: string = process.env.PATH ?? ''): string | undefined {
  for (const dir of path.split(delimiter)) {
    if (dir === '') continue
    const candidate = join(dir, program)
    if (existsSync(candidate)) return candidate
  }
  return undefined
}

/**
 * True when the ELF file names no program interpreter (PT_INTERP): the
 * initramfs has no C library, so a dynamic busybox would make /init fail
 * with a bare ENOENT and a kernel panic.
 */
export function isStaticElf(bytes: Buffer): boolean {
  if (bytes.length < 64 || bytes.readUInt32BE(0) !== 0x7f454c46 || bytes[4] !== 2) return false
  const phoff = Number(bytes.readBigUInt64LE(32))
  const phentsize = bytes.readUInt16LE(54)
  const phnum = bytes.readUInt16LE(56)
  for (let i = 0; i < phnum; i++) {
    const offset = phoff + i * phentsize
    if (offset + 4 > bytes.length) return false
    if (bytes.readUInt32LE(offset) === 3) return false
  }
  return true
}

export interface InitramfsOptions extends AssetPaths {
  /** A static busybox. Default: BOTTLE_VM_BUSYBOX, else busybox on PATH. */
  busybox?: string
}

/** The busybox the initramfs and the bundle forwards run: BOTTLE_VM_BUSYBOX, else busybox on PATH. */
export function locateBusybox(): string | undefined {
  return nonEmpty(process.env.BOTTLE_VM_BUSYBOX) ?? findOnPath('busybox')
}

/** Builds (or finds cached) the initramfs for `kernel`; returns its path. */
export async function ensureInitramfs(kernel: GuestKernel, options: InitramfsOptions = {}): Promise<string> {
  const busybox = options.busybox ?? locateBusybox()
  if (busybox === undefined) throw new GuestAssetError('no busybox on PATH (install busybox-static)')
  const busyboxBytes = await readFile(busybox)
  if (!isStaticElf(busyboxBytes)) throw new GuestAssetError(`${busybox} is not a static 64-bit executable (install busybox-static)`)
  const guestDir = join(findPackageRoot(), 'images', 'vm-guest')
  const init = await readFile(join(guestDir, 'init'))
  const agent = await readFile(join(guestDir, 'guest-agent.mjs'))
  const modules = await Promise.all(GUEST_MODULES.map(async (name) => ({ name, data: await readModule(kernel.modulesDir, name) })))

  const digest = createHash('sha256')
  for (const part of [busyboxBytes, init, agent, ...modules.map((m) => m.data)]) digest.update(part)
  digest.update(kernel.version)
  const out = join(vmCacheDir(options), 'initramfs', `${digest.digest('hex').slice(0, 16)}.cpio`)
  if (existsSync(out)) return out

  const entries: CpioEntry[] = [
    { kind: 'dir', path: 'bin', mode: 0o755 },
    { kind: 'file', path: 'bin/busybox', mode: 0o755, data: busyboxBytes },
    // /init's #!/bin/sh must exist before busybox --install runs.
    { kind: 'symlink', path: 'bin/sh', target: 'busybox' },
    { kind: 'file', path: 'init', mode: 0o755, data: init },
    { kind: 'file', path: 'guest-agent.mjs', mode: 0o644, data: agent },
    { kind: 'file', path: 'modules.order', mode: 0o644, data: Buffer.from(`${GUEST_MODULES.join('\n')}\n`) },
    { kind: 'dir', path: 'lib', mode: 0o755 },
    { kind: 'dir', path: 'lib/modules', mode: 0o755 },
    ...modules.map((m): CpioEntry => ({ kind: 'file', path: `lib/modules/${m.name}.ko`, mode: 0o644, data: m.data })),
  ]
  // Uncompressed: under TCG the kernel's gunzip costs more than reading 3 MB.
  await writeAtomically(out, writeCpio(entries))
  return out
}

async function readModule(modulesDir: string, name: string): Promise<Buffer> {
  const path = await findModule(join(modulesDir, 'kernel'), `${name}.ko`)
  if (path === undefined) throw new GuestAssetError(`module ${name} not found under ${modulesDir}`)
  return await readFile(path)
}

async function findModule(dir: string, file: string): Promise<string | undefined> {
  const entries = await readdir(dir, { withFileTypes: true })
  for (const entry of entries) {
    if (entry.isFile() && entry.name === file) return join(dir, entry.name)
  }
  for (const entry of entries) {
    if (!entry.isDirectory()) continue
    const found = await findModule(join(dir, entry.name), file)
    if (found !== undefined) return found
  }
  return undefined
}

async function writeAtomically(path: string, data: Buffer): Promise<void> {
  await mkdir(join(path, '..'), { recursive: true })
  const temp = `${path}.${randomBytes(4).toString('hex')}.tmp`
  try {
    await writeFile(temp, data)
    await rename(temp, path)
  } finally {
    await rm(temp, { force: true })
  }
}

export interface GuestRootfs {
  /** The erofs image, attached read-only. */
  path: string
  imageId: string
  config: ImageRunConfig
}

export interface RootfsOptions extends AssetPaths {
  docker: Dockerode
  /** Told each step of a build; not called when the cache has the image's root filesystem. */
  onProgress?: (line: string) => void
}

/**
 * The image's root filesystem as erofs, built once per image id. The files
 * come from `docker export` of a created (never started) container; they are
 * unpacked into a temporary folder because erofs-utils of this generation
 * cannot read a tar stream. Unpacking keeps file owners only when this
 * process is root.
 */
export async function ensureRootfs(image: string, options: RootfsOptions): Promise<GuestRootfs> {
  const info = await options.docker.getImage(image).inspect()
  const imageId = info.Id.replace(/^sha256:/, '')
  const config = imageRunConfig(info.Config)
  const dir = join(vmCacheDir(options), 'rootfs')
  const out = join(dir, `${imageId}.erofs`)
  if (existsSync(out)) return { path: out, imageId, config }

  options.onProgress?.(`building the VM root filesystem of ${image} (once per image): unpacking its files`)
  await mkdir(dir, { recursive: true })
  const unpacked = await mkdtemp(join(dir, `.unpack-${imageId.slice(0, 12)}-`))
  const temp = `${out}.${randomBytes(4).toString('hex')}.tmp`
  // A throwaway container only to export its files; it never starts.
  const container = await options.docker.createContainer({
    Image: info.Id,
    Entrypoint: ['/bin/true'],
    Labels: { 'bottle.vm-rootfs-export': imageId.slice(0, 12) },
  })
  try {
    const tar = execa('tar', ['-x', '-f', '-', '-C', unpacked, '--numeric-owner'], { stdin: 'pipe', stderr: 'pipe' })
    const stream = await container.export()
    if (tar.stdin === null) throw new GuestAssetError('tar has no stdin')
    await Promise.all([pipeline(stream, tar.stdin), tar])
    options.onProgress?.(`building the VM root filesystem of ${image} (once per image): writing the erofs image`)
    await execa('mkfs.erofs', ['--quiet', temp, unpacked])
    await rename(temp, out)
  } catch (error) {
    throw new GuestAssetError(`building the root filesystem of ${image}: ${briefly(error)}`, { cause: error })
  } finally {
    await container.remove({ force: true }).catch(() => undefined)
    await rm(unpacked, { recursive: true, force: true })
    await rm(temp, { force: true })
  }
  return { path: out, imageId, config }
}

/** A tool's failure in one line: its first line of stderr, not its whole usage text. */
function briefly(error: unknown): string {
  const said = (error as { stderr?: unknown }).stderr
  const line = typeof said === 'string' ? said.trim().split('\n')[0] : undefined
  return line !== undefined && line !== '' ? line : (error as Error).message.split('\n')[0] ?? 'failed'
}
