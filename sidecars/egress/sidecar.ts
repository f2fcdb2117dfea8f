/**
 * The egress sidecar assembled: config folder reloader, config compiler and
 * proxy, plus the environment contract of the bundle container. main.ts adds
 * the DLP engine, the process signals and nothing else, so tests and
 * benchmarks run exactly this assembly.
 *
 * Environment:
 *   BOTTLE_EGRESS_CONFIG_DIR  config folder (default /etc/bottle/egress)
 *   BOTTLE_EGRESS_STATE_DIR   where applied.json goes (default /var/lib/bottle/egress)
 *   BOTTLE_EGRESS_LISTEN      host:port (default 0.0.0.0:8888)
 *   BOTTLE_EGRESS_LOG_LEVEL   pino level (default info)
 *   BOTTLE_EGRESS_YOUNG_GENERATION  `grow` lets V8 grow its young generation (default: kept small; see young-generation.ts)
 *   BOTTLE_EGRESS_OLD_GENERATION    `grow` leaves V8's old-generation growth factor (default: fixed at 30%; see old-generation.ts)
 */
import type { Logger } from 'pino'
import type { DlpScanner, ScannerOptions } from '../dlp/types.js'
import { createBufferReclaimer, type Collect } from './buffer-reclaim.js'
import { compileEgress, readSystemCaBundle } from './compile-egress.js'
import type { Resolve } from './dial.js'
import { startEgressProxy, type EgressProxy } from './proxy-server.js'
import { createDomainRateLimiter } from './rate-limit.js'
import { FragmentWindows } from './fragment-window.js'
import { createConfigReloader, type ConfigReloader } from './reload.js'
import { configDirInBundle, stateDirInBundle } from '../shared/bundle-contract.js'

export interface EgressEnvironment {
  configDir: string
  stateDir: string
  host: string
  port: number
  logLevel: string
}

export const DEFAULT_CONFIG_DIR = configDirInBundle('egress')
export const DEFAULT_STATE_DIR = stateDirInBundle('egress')
export const DEFAULT_LISTEN = '0.0.0.0:8888'

/** Read the bundle's environment; throws one line on a bad value. */
export function readEgressEnvironment(env: NodeJS.ProcessEnv): EgressEnvironment {
  const listen = env.BOTTLE_EGRESS_LISTEN || DEFAULT_LISTEN
  const match = /^(\[[0-9a-fA-F:.]+\]|[^:\s]+):(\d{1,5})$/.exec(listen)
  const port = Number(match?.[2])
  if (!match || port > 65535) throw new Error(`BOTTLE_EGRESS_LISTEN must be host:port (got ${JSON.stringify(listen)})`)
  const rawHost = match[1] as string
  return {
    configDir: env.BOTTLE_EGRESS_CONFIG_DIR || DEFAULT_CONFIG_DIR,
    stateDir: env.BOTTLE_EGRESS_STATE_DIR || DEFAULT_STATE_DIR,
    host: rawHost.startsWith('[') ? rawHost.slice(1, -1) : rawHost,
    port,
    logLevel: env.BOTTLE_EGRESS_LOG_LEVEL || 'info',
  }
}

export interface EgressSidecarOptions {
  configDir: string
  stateDir: string
  host: string
  port: number
  log: Logger
  createScanner: (options: ScannerOptions) => DlpScanner
  /** Test-only name resolution; absent means the system resolver. */
  resolve?: Resolve
  /** Quiet period before a folder change is loaded. */
  debounceMs?: number
  /** A young-generation GC, to return streamed buffers promptly (buffer-reclaim.ts); absent: V8 decides. */
  collect?: Collect
}

export interface EgressSidecar {
  proxy: EgressProxy
  reloader: ConfigReloader
  stop(): Promise<void>
}

export async function startEgressSidecar(options: EgressSidecarOptions): Promise<EgressSidecar> {
  const limiter = createDomainRateLimiter()
  const windows = new FragmentWindows()
  const systemCaPem = readSystemCaBundle()
  const reloader = createConfigReloader({
    configDir: options.configDir,
    stateDir: options.stateDir,
    log: options.log,
    ...(options.debounceMs === undefined ? {} : { debounceMs: options.debounceMs }),
    build: (files, generation) => compileEgress(files, generation, { createScanner: options.createScanner, limiter, windows, systemCaPem }),
  })
  // Load before listening, so the first request already meets the config (or a clear no-config denial).
  await reloader.reload('startup')
  const proxy = await startEgressProxy({
    host: options.host,
    port: options.port,
    current: reloader.current,
    log: options.log,
    streamed: createBufferReclaimer(options.collect),
    ...(options.resolve ? { resolve: options.resolve } : {}),
  })
  await reloader.watch()
  return {
    proxy,
    reloader,
    stop: async () => {
      await reloader.close()
      await proxy.close()
    },
  }
}
