import { chmod, mkdir } from 'node:fs/promises'

/** The controller writes its files as the bundle does: sidecars/shared/atomic-write.ts. */
export { writeFileAtomic } from '../sidecars/shared/atomic-write.js'

/** Creates a folder only its owner can enter (state folders hold keys and tokens). */
export async function ensurePrivateDir(path: string): Promise<void> {
  await mkdir(path, { recursive: true, mode: 0o700 })
  await chmod(path, 0o700)
}
