/**
 * What the pre-receive hook decided, handed back to the daemon. The hook's
 * own output goes to the agent (git relays it as `remote:` lines); the
 * daemon logs one decision line per push and keeps status.json, so the hook
 * writes this small file (path in BOTTLE_GIT_GATE_PUSH_REPORT) and the
 * daemon reads and deletes it when receive-pack exits. Rule ids, locations
 * and counts only: never a matched value.
 */
import { readFile, rm } from 'node:fs/promises'
import { writeFileAtomic } from '../shared/atomic-write.js'

export type PushOutcome = 'forwarded' | 'refused' | 'upstream-rejected' | 'failed'

export interface PushReport {
  remote: string
  outcome: PushOutcome
  refs: string[]
  commits: number
  files: number
  scannedBytes: number
  findings: Array<{ rule: string; location: string; commit?: string }>
  /** Content over the caps that went through unscanned (oversized: allow). */
  unscanned: Array<{ rule: string; location: string; commit?: string }>
  /** One line: why upstream refused, or why the hook failed. */
  reason?: string
  durationMs: number
}

export async function writePushReport(path: string, report: PushReport): Promise<void> {
  await writeFileAtomic(path, JSON.stringify(report), 0o600)
}

/** Read and delete; undefined when the hook never wrote one (it did not run, or died). */
export async function takePushReport(path: string): Promise<PushReport | undefined> {
  try {
    const text = await readFile(path, 'utf8')
    return JSON.parse(text) as PushReport
  } catch {
    return undefined
  } finally {
    await rm(path, { force: true })
    await rm(`${path}.tmp`, { force: true })
  }
}
