/**
 * Pruning the VM cache. Every agent image the controller ever ran leaves a
 * root filesystem (the image's full size) and boot snapshots (the guest's
 * used memory) behind, and every change to the guest files an initramfs, so
 * the cache only ever grows unless the controller says what is still wanted.
 * Files a running VM has open may be removed: the VM keeps its open copy.
 */
import { existsSync } from 'node:fs'
import { readdir, rm } from 'node:fs/promises'
import { basename, join } from 'node:path'
import { MEMORY_SUFFIX, STATE_SUFFIX } from './boot-snapshot.js'
import { vmCacheDir, type AssetPaths } from './guest-assets.js'

export interface PruneOptions extends AssetPaths {
  /** Image ids (with or without `sha256:`) whose root filesystems stay. */
  keepImageIds: readonly string[]
  /** The initramfs in use (ensureInitramfs's answer); every other one goes. */
  currentInitramfs: string
}

/** Removes unwanted root filesystems, initramfs archives and the snapshots made from them; returns what it removed. */
export async function pruneVmCache(options: PruneOptions): Promise<string[]> {
  const cache = vmCacheDir(options)
  const keepRootfs = new Set(options.keepImageIds.map((id) => id.replace(/^sha256:/, '')))
  const currentInitramfs = basename(options.currentInitramfs).replace(/\.cpio$/, '')
  const removed: string[] = []
  const remove = async (path: string): Promise<void> => {
    await rm(path, { force: true })
    removed.push(path)
  }
  const list = async (dir: string): Promise<string[]> => (existsSync(dir) ? await readdir(dir) : [])

  for (const name of await list(join(cache, 'rootfs'))) {
    if (name.endsWith('.erofs') && !keepRootfs.has(name.slice(0, -'.erofs'.length))) await remove(join(cache, 'rootfs', name))
  }
  for (const name of await list(join(cache, 'initramfs'))) {
    if (name.endsWith('.cpio') && name !== `${currentInitramfs}.cpio`) await remove(join(cache, 'initramfs', name))
  }
  for (const name of await list(join(cache, 'snapshots'))) {
    if (!name.endsWith(STATE_SUFFIX) && !name.endsWith(MEMORY_SUFFIX)) continue
    // Asset names are hex digests, so '_' only ever separates them.
    const [rootfs, initramfs] = name.split('_')
    if (rootfs === undefined || initramfs === undefined || !keepRootfs.has(rootfs) || initramfs !== currentInitramfs) {
      await remove(join(cache, 'snapshots', name))
    }
  }
  return removed
}
