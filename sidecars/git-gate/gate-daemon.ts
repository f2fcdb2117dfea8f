/**
 * The git gate assembled: environment contract, state folder, config
 * reloader, mirrors, status file and the HTTP server. main.ts adds process
 * signals and nothing else, so tests run exactly this assembly.
 *
 * Environment:
 *   BOTTLE_GIT_GATE_CONFIG_DIR  config folder, read-only (default /etc/bottle/git-gate)
 *   BOTTLE_GIT_GATE_STATE_DIR   mirrors and status.json (default /var/lib/bottle/git-gate)
 *   BOTTLE_GIT_GATE_LISTEN      host:port (default 0.0.0.0:9420)
 *   BOTTLE_GIT_GATE_LOG_LEVEL   pino level (default info)
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Logger } from 'pino'
import { logEvent } from './event-log.js'
import { GIT_GATE_PORT } from './config.js'
import { gatePaths, gitEnvironment } from './git-environment.js'
import { installGateHome } from './hook-scripts.js'
import type { LoadedGateConfig } from './load-config.js'
import { MirrorStore } from './mirror.js'
import { createGateReloader, type GateReloader } from './reload.js'
import { createGateHandler } from './smart-http-server.js'
import { StatusFile } from './status-file.js'
import { configDirInBundle, stateDirInBundle } from '../shared/bundle-contract.js'

export interface GateEnvironment {
  configDir: string
  stateDir: string
  host: string
  port: number
  logLevel: string
}

export const DEFAULT_CONFIG_DIR = configDirInBundle('git-gate')
export const DEFAULT_STATE_DIR = stateDirInBundle('git-gate')
export const DEFAULT_LISTEN = `0.0.0.0:${GIT_GATE_PORT}`

/** Read the bundle's environment; throws one line on a bad value. */
export function readGateEnvironment(env: NodeJS.ProcessEnv): GateEnvironment {
  const listen = env.BOTTLE_GIT_GATE_LISTEN || DEFAULT_LISTEN
  const match = /^(\[[0-9a-fA-F:.]+\]|[^:\s]+):(\d{1,5})$/.exec(listen)
  const port = Number(match?.[2])
  if (!match || port > 65535) throw new Error(`BOTTLE_GIT_GATE_LISTEN must be host:port (got ${JSON.stringify(listen)})`)
  const rawHost = match[1] as string
  const configDir = env.BOTTLE_GIT_GATE_CONFIG_DIR || DEFAULT_CONFIG_DIR
  const stateDir = env.BOTTLE_GIT_GATE_STATE_DIR || DEFAULT_STATE_DIR
  for (const [name, dir] of [['BOTTLE_GIT_GATE_CONFIG_DIR', configDir], ['BOTTLE_GIT_GATE_STATE_DIR', stateDir]] as const) {
    if (!/^\/[A-Za-z0-9_./-]*$/.test(dir)) throw new Error(`${name} must be an absolute path of A-Z a-z 0-9 _ . / - (got ${JSON.stringify(dir)})`)
  }
  return { configDir, stateDir, host: rawHost.startsWith('[') ? rawHost.slice(1, -1) : rawHost, port, logLevel: env.BOTTLE_GIT_GATE_LOG_LEVEL || 'info' }
}

export interface GateDaemonOptions extends GateEnvironment {
  log: Logger
  /** URL of the module the hook and the credential helper import (the daemon's own bundle). */
  entryUrl: string
  /** The node binary those scripts run with. */
  nodePath: string
  /** The daemon's environment; only PATH and TLS trust settings reach git. */
  inheritedEnv: NodeJS.ProcessEnv
  debounceMs?: number
  /** Refresh each remote once when its config first applies, so status.json fills in (default true). */
  warmUp?: boolean
}

export interface GateDaemon {
  port: number
  reloader: GateReloader
  stop(): Promise<void>
}

export async function startGateDaemon(options: GateDaemonOptions): Promise<GateDaemon> {
  const { log } = options
  const paths = gatePaths(options.configDir, options.stateDir)
  await installGateHome(paths, options.nodePath, options.entryUrl)
  const baseEnv = gitEnvironment(paths, options.inheritedEnv)
  const mirrors = new MirrorStore({ paths, baseEnv })
  const status = new StatusFile(paths.statusFile, undefined, (error) => logEvent(log, { event: 'state.write-failed', error: error.message.slice(0, 300) }))
  const warmed = new Set<string>()
  const warmUp = (loaded: LoadedGateConfig) => {
    if (options.warmUp === false) return
    for (const remote of loaded.remotes.values()) {
      if (warmed.has(remote.name)) continue
      warmed.add(remote.name)
      void mirrors.refresh(remote, loaded.config.limits.refreshTimeoutSeconds * 1000, loaded.secrets.values()).then((outcome) => {
        const at = new Date().toISOString()
        if (outcome.ok) {
          logEvent(log, { event: 'refresh.succeeded', remote: remote.name, durationMs: outcome.durationMs })
          return status.recordRefresh(remote.name, { at, result: 'ok', message: 'mirror matches upstream', durationMs: outcome.durationMs })
        }
        logEvent(log, { event: 'refresh.failed', remote: remote.name, reason: outcome.reason, durationMs: outcome.durationMs, servedStale: false })
        return status.recordRefresh(remote.name, { at, result: 'failed', message: `cannot reach ${remote.upstream.url}: ${outcome.reason}`, durationMs: outcome.durationMs })
      })
    }
  }
  const reloader = createGateReloader({ configDir: options.configDir, status, log, onApplied: warmUp, ...(options.debounceMs !== undefined ? { debounceMs: options.debounceMs } : {}) })
  await reloader.reload('start')
  await reloader.watch()

  const handler = createGateHandler({
    mirrors,
    baseEnv,
    pushReportsDir: paths.pushReports,
    current: reloader.current,
    configError: reloader.error,
    status,
    log,
  })
  const server: Server = createServer(handler)
  // Pushes upload for as long as they need; an idle connection is closed after ten minutes.
  server.requestTimeout = 0
  server.headersTimeout = 60_000
  server.setTimeout(10 * 60_000, (socket) => socket.destroy())
  server.on('clientError', (error, socket) => {
    logEvent(log, { event: 'client.error', error: String((error as Error).message ?? error).slice(0, 200) })
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n')
    else socket.destroy()
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port, options.host, () => resolve())
  })
  const address = server.address() as AddressInfo
  logEvent(log, { event: 'gate.listening', address: address.address, port: address.port })

  return {
    port: address.port,
    reloader,
    async stop() {
      await reloader.close()
      await new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeIdleConnections()
        setTimeout(() => {
          server.closeAllConnections()
          resolve()
        }, 5000).unref()
      })
      await status.save()
    },
  }
}
