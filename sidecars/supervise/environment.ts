/**
 * The supervise daemon's environment contract:
 *
 *   BOTTLE_SUPERVISE_LISTEN        host:port (default 0.0.0.0:9100); the MCP endpoint is /mcp
 *   BOTTLE_SUPERVISE_CONFIG_DIR    read-only folder the controller writes (default /etc/bottle/supervise):
 *                                  config.json and decisions.json (supervise-config.ts)
 *   BOTTLE_SUPERVISE_STATE_DIR     read-write folder (default /var/lib/bottle/supervise):
 *                                  requests/<id>.json for the controller (route-request.ts)
 *   BOTTLE_SUPERVISE_EGRESS_APPLIED  egress's report of the routes it enforces
 *                                  (default /var/lib/bottle/egress/applied.json)
 *   BOTTLE_SUPERVISE_LOG_LEVEL     pino level (default info)
 */
import { APPLIED_STATE_FILE, configDirInBundle, stateDirInBundle } from '../shared/bundle-contract.js'

export interface SuperviseEnvironment {
  host: string
  port: number
  configDir: string
  stateDir: string
  appliedPath: string
  logLevel: string
}

export const DEFAULT_LISTEN = '0.0.0.0:9100'
export const DEFAULT_CONFIG_DIR = configDirInBundle('supervise')
export const DEFAULT_STATE_DIR = stateDirInBundle('supervise')
export const DEFAULT_APPLIED_PATH = `${stateDirInBundle('egress')}/${APPLIED_STATE_FILE}`
export const MCP_PATH = '/mcp'

const LEVELS = new Set(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'])

/** Reads the environment; throws one line on a bad value. */
export function readSuperviseEnvironment(env: NodeJS.ProcessEnv): SuperviseEnvironment {
  const listen = env.BOTTLE_SUPERVISE_LISTEN || DEFAULT_LISTEN
  const match = /^(\[[0-9a-fA-F:.]+\]|[^:\s[\]]+):(\d{1,5})$/.exec(listen)
  const port = Number(match?.[2])
  if (!match || port > 65535) throw new Error(`BOTTLE_SUPERVISE_LISTEN must be host:port (got ${JSON.stringify(listen)})`)
  const rawHost = match[1] as string
  const logLevel = env.BOTTLE_SUPERVISE_LOG_LEVEL || 'info'
  if (!LEVELS.has(logLevel)) throw new Error(`BOTTLE_SUPERVISE_LOG_LEVEL must be one of ${[...LEVELS].join(', ')} (got ${JSON.stringify(logLevel)})`)
  return {
    host: rawHost.startsWith('[') ? rawHost.slice(1, -1) : rawHost,
    port,
    configDir: env.BOTTLE_SUPERVISE_CONFIG_DIR || DEFAULT_CONFIG_DIR,
    stateDir: env.BOTTLE_SUPERVISE_STATE_DIR || DEFAULT_STATE_DIR,
    appliedPath: env.BOTTLE_SUPERVISE_EGRESS_APPLIED || DEFAULT_APPLIED_PATH,
    logLevel,
  }
}
