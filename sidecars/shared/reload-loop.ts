/**
 * The reload loop of a daemon that follows its config folder: a load at
 * start, on SIGHUP (the daemon wires the signal to `reload`) and when
 * anything in the folder changes. Bursts of changes collapse into one load
 * after a quiet period, and loads never overlap (coalescing-runner.ts). What
 * a load does, and what it keeps when the folder is bad, is the daemon's.
 */
import { coalescingRunner } from './coalescing-runner.js'
import { watchConfigFolder } from './watch-config-folder.js'

export interface ReloadLoopOptions {
  dir: string
  /** How deep below `dir` changes count (egress: its files; git-gate: keys/ too). */
  depth: number
  debounceMs: number
  load(reason: string): Promise<void>
  onWatchError(error: unknown): void
}

export interface ReloadLoop {
  /** Load now (coalesced with a load already running). */
  reload(reason: string): Promise<void>
  /** Start following the folder. */
  watch(): Promise<void>
  close(): Promise<void>
}

export function createReloadLoop(options: ReloadLoopOptions): ReloadLoop {
  const loads = coalescingRunner(options.load)
  let watcher: { close(): Promise<void> } | undefined
  return {
    reload: (reason) => loads.run(reason),
    async watch() {
      watcher = await watchConfigFolder({
        dir: options.dir,
        depth: options.depth,
        debounceMs: options.debounceMs,
        onChange: () => void loads.run('change'),
        onError: options.onWatchError,
      })
    },
    async close() {
      await watcher?.close()
      await loads.idle()
    },
  }
}
