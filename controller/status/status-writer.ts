import { readFile, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { stringify } from 'yaml'
import { writeFileAtomic } from '../atomic-write.js'
import { stableStringify } from '../spec/spec-hash.js'
import { statusFilePath } from './status-file-path.js'
import type { ObjectStatus, StatusDocument } from './status-types.js'

const HEADER = '# Written by the bottle controller: what is true right now. Do not edit; it is rewritten when the status changes.\n'

export interface StatusEntry {
  kind: 'Bottle' | 'Agent'
  name: string
  status: ObjectStatus
}

/**
 * Writes `X.status.yaml` beside each spec file: atomically, and only when the
 * content changes (a status file that changed on every resync would churn
 * git and every watcher). As a backstop, any known secret value that reached
 * a status is replaced before writing.
 */
export class StatusWriter {
  private readonly written = new Map<string, string>()
  /** The entries behind each written file, as stable JSON: an unchanged status skips rendering YAML at all. */
  private readonly writtenEntries = new Map<string, string>()

  constructor(
    private readonly root: string,
    private readonly secretValues: () => Iterable<string> = () => [],
  ) {}

  /** Writes the status documents of one spec file, in the file's object order. Returns whether the file changed. */
  async write(specFile: string, entries: readonly StatusEntry[]): Promise<boolean> {
    const path = statusFilePath(join(this.root, specFile))
    const key = stableStringify(entries)
    if (this.writtenEntries.get(path) === key && this.written.has(path)) return false
    const docs: StatusDocument[] = entries.map((e) => ({ apiVersion: 'bottle.dev/v1alpha1', kind: e.kind, metadata: { name: e.name }, status: e.status }))
    const content = redact(HEADER + docs.map((d) => stringify(d, { lineWidth: 0 })).join('---\n'), this.secretValues())
    let current = this.written.get(path)
    if (current === undefined) current = await readFile(path, 'utf8').catch(() => undefined)
    if (current === content) {
      this.written.set(path, content)
      this.writtenEntries.set(path, key)
      return false
    }
    await writeFileAtomic(path, content, 0o644)
    this.written.set(path, content)
    this.writtenEntries.set(path, key)
    return true
  }

  /** The spec file is gone: its status goes with it. */
  async remove(specFile: string): Promise<void> {
    const path = statusFilePath(join(this.root, specFile))
    this.written.delete(path)
    this.writtenEntries.delete(path)
    await rm(path, { force: true })
  }
}

/** Replaces every occurrence of a known secret value (8 characters or more, to avoid mangling words). */
export function redact(text: string, secrets: Iterable<string>): string {
  let out = text
  for (const secret of secrets) {
    if (secret.length >= 8 && out.includes(secret)) out = out.split(secret).join('[redacted]')
  }
  return out
}
