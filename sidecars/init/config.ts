/**
 * The init's settings, read from its environment. The controller sets
 * `BOTTLE_DAEMONS`; the rest have defaults that fit `docker stop`'s 10 s
 * timeout and exist as variables so tests can run the init fast.
 *
 * Invalid settings are a refusal to start (one line, exit 2), never a guess:
 * a bundle that silently runs fewer daemons than asked would look healthy.
 */
import { existsSync } from 'node:fs'
import { join } from 'node:path'

export interface InitConfig {
  /** Daemon names in start order, e.g. ['egress', 'git-gate']. */
  daemons: string[]
  /** Folder holding `<daemon>.mjs`. */
  daemonDir: string
  /** Folder for the control socket. */
  runDir: string
  /** How long a daemon may take to stop after SIGTERM before it is SIGKILLed. */
  stopGraceMs: number
  /** First restart delay after an unexpected exit; doubles per consecutive failure. */
  backoffInitialMs: number
  backoffMaxMs: number
  /** A daemon that ran this long before dying starts again from the initial delay. */
  stableAfterMs: number
}

export class InitConfigError extends Error {
  override readonly name = 'InitConfigError'
}

const DAEMON_NAME = /^[a-z][a-z0-9-]{0,62}$/

const DEFAULTS = {
  daemonDir: '/opt/bottle',
  runDir: '/run/bottle',
  stopGraceMs: 8_000,
  backoffInitialMs: 500,
  backoffMaxMs: 30_000,
  stableAfterMs: 10_000,
} as const

function readMs(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name]
  if (raw === undefined || raw === '') return fallback
  if (!/^\d+$/.test(raw)) throw new InitConfigError(`${name} must be a whole number of milliseconds, got "${raw}"`)
  return Number(raw)
}

export function parseDaemonList(raw: string | undefined): string[] {
  const names = (raw ?? '')
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name !== '')
  if (names.length === 0) throw new InitConfigError('BOTTLE_DAEMONS is empty: name at least one daemon (e.g. "egress,git-gate")')
  const seen = new Set<string>()
  for (const name of names) {
    if (!DAEMON_NAME.test(name)) throw new InitConfigError(`BOTTLE_DAEMONS: "${name}" is not a daemon name (lowercase letters, digits, dashes)`)
    if (seen.has(name)) throw new InitConfigError(`BOTTLE_DAEMONS: "${name}" is listed twice`)
    seen.add(name)
  }
  return names
}

export function daemonPath(config: Pick<InitConfig, 'daemonDir'>, daemon: string): string {
  return join(config.daemonDir, `${daemon}.mjs`)
}

export function readInitConfig(env: NodeJS.ProcessEnv, fileExists: (path: string) => boolean = existsSync): InitConfig {
  const config: InitConfig = {
    daemons: parseDaemonList(env.BOTTLE_DAEMONS),
    daemonDir: env.BOTTLE_DAEMON_DIR || DEFAULTS.daemonDir,
    runDir: env.BOTTLE_RUN_DIR || DEFAULTS.runDir,
    stopGraceMs: readMs(env, 'BOTTLE_STOP_GRACE_MS', DEFAULTS.stopGraceMs),
    backoffInitialMs: readMs(env, 'BOTTLE_RESTART_BACKOFF_MS', DEFAULTS.backoffInitialMs),
    backoffMaxMs: readMs(env, 'BOTTLE_RESTART_BACKOFF_MAX_MS', DEFAULTS.backoffMaxMs),
    stableAfterMs: readMs(env, 'BOTTLE_STABLE_AFTER_MS', DEFAULTS.stableAfterMs),
  }
  if (config.backoffInitialMs < 1) throw new InitConfigError('BOTTLE_RESTART_BACKOFF_MS must be at least 1')
  if (config.backoffMaxMs < config.backoffInitialMs) {
    throw new InitConfigError('BOTTLE_RESTART_BACKOFF_MAX_MS must not be below BOTTLE_RESTART_BACKOFF_MS')
  }
  const missing = config.daemons.filter((daemon) => !fileExists(daemonPath(config, daemon)))
  if (missing.length > 0) {
    throw new InitConfigError(
      `daemon${missing.length > 1 ? 's' : ''} not in this image: ${missing.map((d) => daemonPath(config, d)).join(', ')}`,
    )
  }
  return config
}
