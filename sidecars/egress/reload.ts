/**
 * Live config: load the folder at startup, on SIGHUP (the caller wires the
 * signal to `reload`) and when anything in the folder changes (the folder is
 * watched, not a file, because editors and atomic renames replace files).
 * Bursts of changes collapse into one load after a quiet period; loads never
 * overlap. A load that fails keeps the compiled config in force, says why in the log
 * and in applied.json, and the next change tries again. Swapping the compiled config
 * is one assignment: requests already in flight finish under the compiled config
 * they started with, the next request on the same connection sees the new one.
 */
import type { Logger } from 'pino'
import type { EgressAppliedState } from '../shared/bundle-contract.js'
import { enforcedRoutes, writeAppliedState } from './applied-state.js'
import { createReloadLoop } from '../shared/reload-loop.js'
import { logEvent } from './event-log.js'
import { loadEgressFolder, type LoadedEgressFiles } from './load-config.js'
import type { CompiledEgress } from './proxy-context.js'

export interface ConfigReloaderOptions {
  configDir: string
  stateDir: string
  /** Build a compiled config from loaded files; a throw rejects the load like a validation error. */
  build: (files: LoadedEgressFiles, generation: number) => CompiledEgress
  log: Logger
  debounceMs?: number
  now?: () => Date
}

export interface ConfigReloader {
  /** The compiled config in force, or undefined when no load has succeeded yet. */
  current(): CompiledEgress | undefined
  /** Load now (coalesced with a load already running). Resolves when applied.json reflects it. */
  reload(reason: string): Promise<void>
  /** Start watching the config folder. */
  watch(): Promise<void>
  close(): Promise<void>
}

export function createConfigReloader(options: ConfigReloaderOptions): ConfigReloader {
  const debounceMs = options.debounceMs ?? 250
  const now = options.now ?? (() => new Date())
  let compiled: CompiledEgress | undefined
  let applied: { files: LoadedEgressFiles; at: string } | undefined
  let generation = 0

  const attempt = async (reason: string): Promise<void> => {
    const attemptedAt = now().toISOString()
    let result: Awaited<ReturnType<typeof loadEgressFolder>>
    try {
      result = await loadEgressFolder(options.configDir)
    } catch (error) {
      result = { ok: false, error: `cannot read ${options.configDir}: ${(error as Error).message}`, configHash: null }
    }
    let error: string | undefined
    let attemptedConfigHash: string | null = null
    if (result.ok) {
      attemptedConfigHash = result.files.configHash
      if (applied?.files.fingerprint !== result.files.fingerprint) {
        try {
          const next = options.build(result.files, ++generation)
          compiled = next
          applied = { files: result.files, at: attemptedAt }
          logEvent(options.log, { event: 'config.applied', configHash: result.files.configHash, routes: result.files.config.routes.length })
        } catch (buildError) {
          error = `cannot apply config: ${(buildError as Error).message}`.replace(/\s+/g, ' ').slice(0, 1000)
        }
      }
    } else {
      error = result.error
      attemptedConfigHash = result.configHash
    }
    if (error !== undefined) logEvent(options.log, { event: 'config.rejected', error, keptConfigHash: applied?.files.configHash ?? null })
    const state: EgressAppliedState = {
      appliedAt: applied?.at ?? null,
      configHash: applied?.files.configHash ?? null,
      routes: applied ? enforcedRoutes(applied.files.config) : [],
      attemptedAt,
      attemptedConfigHash,
    }
    if (error !== undefined) state.error = error
    try {
      await writeAppliedState(options.stateDir, state)
    } catch (writeError) {
      logEvent(options.log, { event: 'state.write-failed', error: `${reason}: ${(writeError as Error).message}`.slice(0, 300) })
    }
  }

  const loop = createReloadLoop({
    dir: options.configDir,
    depth: 0,
    debounceMs,
    load: attempt,
    onWatchError: (error) => logEvent(options.log, { event: 'config.watch-failed', error: String(error).slice(0, 300) }),
  })
  return { current: () => compiled, reload: loop.reload, watch: loop.watch, close: loop.close }
}
