/**
 * What a VM-backed driver keeps instead of an engine's records: one 0700
 * folder per Agent under the runtime's state folder, holding the part's
 * record as JSON. The record is replaced whole (write, then rename), so a
 * crash leaves the old one or the new one, never half of either.
 */
import { readdir, readFile } from 'node:fs/promises'
import { ensurePrivateDir, writeFileAtomic } from '../atomic-write.js'
import { AGENT_NAME } from './agent-names.js'

/** The Agents that have a folder under `root`; none when `root` does not exist yet. */
export async function agentFolders(root: string): Promise<string[]> {
  try {
    return (await readdir(root, { withFileTypes: true })).filter((e) => e.isDirectory() && AGENT_NAME.test(e.name)).map((e) => e.name)
  } catch {
    return []
  }
}

/** The record in `file`, or undefined when there is none (or it cannot be read, as after a crash before the first write). */
export async function readPartRecord<R>(file: string): Promise<R | undefined> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as R
  } catch {
    return undefined
  }
}

/** Replaces the record in `file`, making its Agent folder `dir` (0700) when needed; the record is 0600. */
export async function writePartRecord<R>(dir: string, file: string, record: R): Promise<void> {
  await ensurePrivateDir(dir)
  await writeFileAtomic(file, JSON.stringify(record, null, 2), 0o600)
}
