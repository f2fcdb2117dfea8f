import { randomBytes } from 'node:crypto'
import { mkdir, open, rename, unlink } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'

/**
 * Writes a file so readers see the old content or the new, never a mix, and
 * a crash right after leaves the new one: a temporary file beside it (a dot
 * file with a random name, so concurrent writers and folder listings never
 * meet it) with the final mode, fsync, rename, fsync of the folder. The mode
 * is set before any content exists, so a secret is never readable by others
 * even for a moment. The one atomic write of the controller and the bundle.
 */
export async function writeFileAtomic(path: string, content: string | Uint8Array, mode = 0o644): Promise<void> {
  const dir = dirname(path)
  await mkdir(dir, { recursive: true })
  const tmp = join(dir, `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`)
  const handle = await open(tmp, 'wx', mode)
  try {
    await handle.chmod(mode) // open() honours the umask; chmod does not
    await handle.writeFile(content)
    await handle.sync()
  } finally {
    await handle.close()
  }
  try {
    await rename(tmp, path)
  } catch (err) {
    await unlink(tmp).catch(() => undefined)
    throw err
  }
  await syncFolder(dir)
}

/** Makes a rename in `dir` durable. A file system that cannot sync a folder (some network mounts) still has the rename. */
async function syncFolder(dir: string): Promise<void> {
  let handle
  try {
    handle = await open(dir, 'r')
    await handle.sync()
  } catch {
    // EISDIR/EINVAL/EPERM on file systems without folder fsync: nothing more to do
  } finally {
    await handle?.close()
  }
}
