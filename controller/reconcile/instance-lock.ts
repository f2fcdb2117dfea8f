import { open, readFile, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { ensurePrivateDir } from '../atomic-write.js'

/**
 * One controller per instance: two would fight over the same containers.
 * The lock is a file holding the owner's pid; a lock whose process is gone
 * (a kill -9) is taken over.
 */
export async function acquireInstanceLock(stateDir: string): Promise<{ release(): Promise<void> }> {
  await ensurePrivateDir(stateDir)
  const path = join(stateDir, 'controller.lock')
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await open(path, 'wx', 0o600)
      await handle.writeFile(`${process.pid}\n`)
      await handle.close()
      return { release: () => rm(path, { force: true }) }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
      const pid = Number((await readFile(path, 'utf8').catch(() => '')).trim())
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && isAlive(pid)) {
        throw new Error(`another controller (pid ${pid}) runs this instance; stop it or use --instance`)
      }
      await rm(path, { force: true })
    }
  }
  throw new Error(`cannot take the controller lock ${path}`)
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}
