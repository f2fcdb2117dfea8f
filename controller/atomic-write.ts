import { randomBytes } from 'node:crypto'
import { chmod, mkdir, open, rename, unlink } from 'node:fs/promises'
import { dirname, join, basename } from 'node:path'

/**
 * Writes a file so readers see the old content or the new, never a mix:
 * write a temporary file beside it with the final mode, fsync, rename.
 * The mode is set before any content exists, so a secret is never readable
 * by others even for a moment.
 */
export async function writeFileAtomic(path: string, content: string, mode = 0o644): Promise<void> {
  await mkdir(dirname(path), { recursive: true })
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`)
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
}

/** Creates a folder only its owner can enter (state folders hold keys and tokens). */
export async function ensurePrivateDir(path: string): Promise<void> {
  await mkdir(path, { recursive: true, mode: 0o700 })
  await chmod(path, 0o700)
}
