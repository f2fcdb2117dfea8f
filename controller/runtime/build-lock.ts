/**
 * One build of an image at a time across processes on this machine (the
 * controller, `build-images` and a test run may all want the same image at
 * once; the offline base takes a minute or two). A lock is a folder created
 * atomically under the cache folder, holding the owner's pid. A lock whose
 * owner is gone is taken over; whoever waits re-checks whether the image
 * appeared in the meantime instead of building it again.
 */
import { hostname } from 'node:os'
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'

export interface BuildLockOptions {
  /** How often a waiter looks again. */
  pollMs?: number
  /** A lock older than this is taken over whatever its owner says. */
  staleMs?: number
}

function ownerIsGone(owner: string): boolean {
  const [host, pidText] = owner.split(':')
  const pid = Number(pidText)
  if (host !== hostname() || !Number.isInteger(pid) || pid <= 0) return false
  try {
    process.kill(pid, 0)
    return false
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH'
  }
}

async function isStale(lock: string, staleMs: number): Promise<boolean> {
  try {
    const info = await stat(lock)
    if (Date.now() - info.mtimeMs > staleMs) return true
    return ownerIsGone(await readFile(join(lock, 'owner'), 'utf8'))
  } catch {
    // Gone between our mkdir and our look, or the owner file is not written yet.
    return false
  }
}

/**
 * Runs `build` while holding the lock for `key`, unless `existing` finds the
 * result first (before taking the lock, or after waiting for another holder).
 */
export async function withBuildLock<T>(
  lockDir: string,
  key: string,
  existing: () => Promise<T | undefined>,
  build: () => Promise<T>,
  options: BuildLockOptions = {},
): Promise<T> {
  const pollMs = options.pollMs ?? 1000
  const staleMs = options.staleMs ?? 60 * 60 * 1000
  await mkdir(lockDir, { recursive: true })
  const lock = join(lockDir, `${key.replace(/[^A-Za-z0-9_.-]/g, '_')}.lock`)
  for (;;) {
    try {
      await mkdir(lock)
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
      if (await isStale(lock, staleMs)) {
        await rm(lock, { recursive: true, force: true })
        continue
      }
      await new Promise((resolve) => setTimeout(resolve, pollMs))
      const found = await existing()
      if (found !== undefined) return found
      continue
    }
    try {
      await writeFile(join(lock, 'owner'), `${hostname()}:${process.pid}`)
      const found = await existing()
      return found !== undefined ? found : await build()
    } finally {
      await rm(lock, { recursive: true, force: true })
    }
  }
}
