import { realpath } from 'node:fs/promises'
import { basename } from 'node:path'
import { watch, type FSWatcher } from 'chokidar'
import { isStatusFile } from '../list-spec-files.js'
import { coalesce } from './coalesce.js'
import type { SpecSnapshot, SpecSource } from './spec-source.js'

export interface LocalFolderOptions {
  /** Quiet time before a burst of events becomes one change. */
  debounceMs?: number
  maxWaitMs?: number
}

/**
 * A folder on this machine, watched with chokidar. Status files, dot files
 * and node_modules never count as changes: the controller writes status
 * files itself and must not wake itself up with them.
 */
export class LocalFolderSource implements SpecSource {
  private watcher: FSWatcher | undefined
  private snapshot: SpecSnapshot | undefined
  private trigger: ReturnType<typeof coalesce> | undefined

  constructor(
    private readonly folder: string,
    private readonly options: LocalFolderOptions = {},
  ) {}

  get description(): string {
    return `folder ${this.folder}`
  }

  async start(onChange: () => void): Promise<SpecSnapshot> {
    const root = await realpath(this.folder)
    this.snapshot = { root }
    this.trigger = coalesce(onChange, this.options.debounceMs ?? 150, this.options.maxWaitMs ?? 2000)
    this.watcher = watch(root, {
      ignoreInitial: true,
      followSymlinks: false,
      ignored: (path: string) => {
        const name = basename(path)
        return path !== root && (name.startsWith('.') || name === 'node_modules' || isStatusFile(name))
      },
    })
    this.watcher.on('all', () => this.trigger?.poke())
    await new Promise<void>((resolve, reject) => {
      this.watcher!.once('ready', () => resolve())
      this.watcher!.once('error', reject)
    })
    return this.snapshot
  }

  current(): SpecSnapshot {
    if (!this.snapshot) throw new Error('source not started')
    return this.snapshot
  }

  async stop(): Promise<void> {
    this.trigger?.cancel()
    await this.watcher?.close()
    this.watcher = undefined
  }
}
