/**
 * Live config: the folder is loaded at start, on SIGHUP (the caller wires the
 * signal to `reload`) and when anything in it changes (the folder is watched,
 * not a file: editors and atomic renames replace files). Bursts of changes
 * collapse into one load after a quiet period; loads never overlap. A load
 * that fails keeps the config in force and says why in the log and in
 * status.json. Requests already running finish with the config they started
 * with; a push's hook reads the folder itself when it runs.
 */
import type { Logger } from 'pino'
import { createReloadLoop } from '../shared/reload-loop.js'
import { logEvent } from './event-log.js'
import { loadGateFolder, type LoadedGateConfig } from './load-config.js'
import type { StatusFile } from './status-file.js'

export interface GateReloaderOptions {
  configDir: string
  status: StatusFile
  log: Logger
  /** Called after a new config is in force. */
  onApplied?: (loaded: LoadedGateConfig) => void
  debounceMs?: number
}

export interface GateReloader {
  current(): LoadedGateConfig | undefined
  /** The last load's error, when it failed. */
  error(): string | undefined
  reload(reason: string): Promise<void>
  watch(): Promise<void>
  close(): Promise<void>
}

export function createGateReloader(options: GateReloaderOptions): GateReloader {
  const debounceMs = options.debounceMs ?? 250
  let loaded: LoadedGateConfig | undefined
  let lastError: string | undefined

  const remotesOf = (config: LoadedGateConfig | undefined) => new Map([...(config?.remotes.values() ?? [])].map((r) => [r.name, r.upstream.url]))

  const attempt = async (reason: string): Promise<void> => {
    let result: Awaited<ReturnType<typeof loadGateFolder>>
    try {
      result = await loadGateFolder(options.configDir)
    } catch (error) {
      result = { ok: false, error: `cannot read ${options.configDir}: ${(error as Error).message}`, configHash: null }
    }
    if (result.ok) {
      lastError = undefined
      if (loaded?.fingerprint !== result.loaded.fingerprint) {
        loaded = result.loaded
        logEvent(options.log, { event: 'config.applied', reason, configHash: loaded.configHash, remotes: [...loaded.remotes.keys()] })
        options.onApplied?.(loaded)
      }
    } else {
      lastError = result.error
      logEvent(options.log, { event: 'config.rejected', reason, error: result.error, keptConfigHash: loaded?.configHash ?? null })
    }
    await options.status.setConfig(loaded?.configHash ?? null, lastError, remotesOf(loaded))
  }
  const loop = createReloadLoop({
    dir: options.configDir,
    depth: 2,
    debounceMs,
    load: attempt,
    onWatchError: (error) => logEvent(options.log, { event: 'config.watch-failed', error: String(error).slice(0, 300) }),
  })
  return { current: () => loaded, error: () => lastError, reload: loop.reload, watch: loop.watch, close: loop.close }
}
