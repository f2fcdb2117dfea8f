import { join } from 'node:path'
import type { SpecTree } from '../spec/load-spec-tree.js'
import { readStatusFile } from '../status/read-status-file.js'
import type { ObjectStatus } from '../status/status-types.js'
import type { StatusEntry, StatusWriter } from '../status/status-writer.js'
import type { AgentStatusSink } from './agent-reconciler.js'

/**
 * Keeps the latest status of every object, grouped by the spec file it
 * belongs to, and rewrites a file's status when one of its objects changes.
 * Writes to one status file are serialized.
 */
export class StatusBook implements AgentStatusSink {
  private readonly byFile = new Map<string, Map<string, StatusEntry>>()
  private readonly fileOf = new Map<string, string>()
  private readonly previousByKey = new Map<string, ObjectStatus>()
  private readonly chains = new Map<string, Promise<unknown>>()

  constructor(
    private readonly writer: StatusWriter,
    private tree: SpecTree,
  ) {}

  /** Loads statuses written by an earlier run, so transition times survive a restart. */
  async load(): Promise<void> {
    for (const file of this.tree.files) {
      for (const [key, doc] of await readStatusFile(join(this.tree.root, file.path))) this.previousByKey.set(key, doc.status)
    }
  }

  updateTree(tree: SpecTree): void {
    this.tree = tree
  }

  previous(agent: string): ObjectStatus | undefined {
    return this.byFile.get(this.fileOf.get(`Agent/${agent}`) ?? '')?.get(`Agent/${agent}`)?.status ?? this.previousByKey.get(`Agent/${agent}`)
  }

  previousOf(kind: 'Bottle' | 'Agent', name: string): ObjectStatus | undefined {
    const key = `${kind}/${name}`
    return this.byFile.get(this.fileOf.get(key) ?? '')?.get(key)?.status ?? this.previousByKey.get(key)
  }

  async set(agent: string, file: string, status: ObjectStatus): Promise<void> {
    await this.setEntry({ kind: 'Agent', name: agent, status }, file)
  }

  async setBottle(name: string, file: string, status: ObjectStatus): Promise<void> {
    await this.setEntry({ kind: 'Bottle', name, status }, file)
  }

  async forget(agent: string): Promise<void> {
    const key = `Agent/${agent}`
    const file = this.fileOf.get(key)
    this.fileOf.delete(key)
    this.previousByKey.delete(key)
    if (file === undefined) return
    this.byFile.get(file)?.delete(key)
    await this.flush(file)
  }

  /**
   * Drops what belongs to spec files that are gone. Bottles go at once;
   * Agents stay until their reconcile prunes them (and calls forget), so a
   * status file disappears with the last object that was reported in it.
   */
  async sweep(): Promise<void> {
    const present = new Set(this.tree.files.map((f) => f.path))
    for (const [file, entries] of [...this.byFile.entries()]) {
      if (present.has(file)) continue
      for (const [key, entry] of [...entries.entries()]) {
        if (entry.kind === 'Bottle') {
          entries.delete(key)
          this.fileOf.delete(key)
        }
      }
      if (entries.size === 0) this.byFile.delete(file)
      await this.flush(file)
    }
  }

  private async setEntry(entry: StatusEntry, file: string): Promise<void> {
    const key = `${entry.kind}/${entry.name}`
    const before = this.fileOf.get(key)
    if (before !== undefined && before !== file) {
      this.byFile.get(before)?.delete(key)
      await this.flush(before)
    }
    this.fileOf.set(key, file)
    let entries = this.byFile.get(file)
    if (!entries) this.byFile.set(file, (entries = new Map()))
    entries.set(key, entry)
    await this.flush(file)
  }

  private async flush(file: string): Promise<void> {
    const entries = this.byFile.get(file) ?? new Map<string, StatusEntry>()
    const spec = this.tree.files.find((f) => f.path === file)
    const order = new Map((spec?.objects ?? []).map((o, i) => [`${o.kind}/${o.name}`, i]))
    const ordered = [...entries.entries()].sort(([a], [b]) => (order.get(a) ?? 1e9) - (order.get(b) ?? 1e9)).map(([, e]) => e)
    await this.serialize(file, async () => {
      if (ordered.length > 0) await this.writer.write(file, ordered)
      else if (!spec) await this.writer.remove(file)
    })
  }

  private serialize<T>(file: string, work: () => Promise<T>): Promise<T> {
    const previous = this.chains.get(file) ?? Promise.resolve()
    const next = previous.then(work, work)
    this.chains.set(file, next.catch(() => undefined))
    return next
  }
}
