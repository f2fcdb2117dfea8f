import { watch, type FSWatcher } from 'chokidar'

/**
 * Watches a daemon's config folder (the folder, not a file: the controller
 * replaces files by renaming, which a single-file watch loses) and calls
 * `onChange` once per burst of events, after `debounceMs` of quiet.
 */
export async function watchConfigFolder(options: { dir: string; depth: number; debounceMs: number; onChange(): void; onError(error: unknown): void }): Promise<{ close(): Promise<void> }> {
  let timer: NodeJS.Timeout | undefined
  const watcher: FSWatcher = watch(options.dir, { ignoreInitial: true, depth: options.depth, followSymlinks: true })
  watcher.on('all', () => {
    if (timer) clearTimeout(timer)
    timer = setTimeout(() => {
      timer = undefined
      options.onChange()
    }, options.debounceMs)
  })
  watcher.on('error', options.onError)
  await new Promise<void>((resolve) => watcher.once('ready', () => resolve()))
  return {
    async close() {
      if (timer) clearTimeout(timer)
      await watcher.close()
    },
  }
}
