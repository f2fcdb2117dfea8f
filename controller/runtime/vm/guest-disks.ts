/**
 * The Agent's persistent disks (workspace, sessions): sparse ext4 image
 * files on the host, attached to the VM as virtio disks and mounted by the
 * guest agent. They outlive every VM of the Agent, as the docker runtime's
 * workspace volume does.
 */
import { existsSync } from 'node:fs'
import { mkdir, open, rename, rm } from 'node:fs/promises'
import { dirname } from 'node:path'
import { execa } from 'execa'

/**
 * Every workspace disk has this size: a box restored from a boot snapshot
 * keeps the disk size its kernel saw when the snapshot was saved, so all
 * disks in one slot must be alike. Sparse, so only what is written costs.
 */
export const WORKSPACE_DISK_MIB = 64 * 1024

export interface DiskOptions {
  sizeMiB?: number
  /** Fills the new filesystem with this folder's files (for tests and imports). */
  fromDir?: string
}

/**
 * Creates an empty ext4 disk image at `path`, unless one is there: an
 * existing disk is never formatted again. Written under a temporary name,
 * so a crash leaves no half-formatted disk behind.
 */
export async function ensureExt4Disk(path: string, options: DiskOptions = {}): Promise<void> {
  if (existsSync(path)) return
  await mkdir(dirname(path), { recursive: true, mode: 0o700 })
  const temp = `${path}.tmp`
  try {
    const sizeMiB = options.sizeMiB ?? WORKSPACE_DISK_MIB
    if (!Number.isInteger(sizeMiB) || sizeMiB < 1) throw new RangeError(`disk size ${sizeMiB} MiB must be a positive integer`)
    await createSparse(temp, sizeMiB * 2 ** 20)
    // -m 0: no blocks reserved for root, the box's user owns the whole disk.
    // Lazy inode and journal initialisation keep the format instant; the
    // guest kernel finishes it in the background.
    await execa('mkfs.ext4', [
      '-q', '-F', '-m', '0',
      '-E', 'lazy_itable_init=1,lazy_journal_init=1',
      ...(options.fromDir === undefined ? [] : ['-d', options.fromDir]),
      temp,
    ])
    await rename(temp, path)
  } finally {
    await rm(temp, { force: true })
  }
}

/** A zero-filled sparse file of `sizeBytes`; it takes no space until written. */
export async function createSparse(path: string, sizeBytes: number): Promise<void> {
  const file = await open(path, 'w', 0o600)
  try {
    await file.truncate(sizeBytes)
  } finally {
    await file.close()
  }
}
