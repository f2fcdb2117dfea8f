/**
 * The sidecar bundle's init. Without arguments it supervises the daemons
 * named in BOTTLE_DAEMONS (see supervisor.ts) and serves the control socket;
 * with `restart <daemon>` or `status` it is the client of that socket.
 *
 * Zombie reaping: Node cannot wait for processes it did not spawn, so the
 * driver runs this container with Docker's init (tini) as PID 1, which reaps
 * orphans and passes signals on to us. Started as PID 1 without it, we say so.
 */
import { mkdirSync } from 'node:fs'
import { ensurePasswdEntry } from './passwd-entry.js'
import type { Server } from 'node:net'
import type { Logger } from 'pino'
import { BUNDLE_MOUNTS } from '../shared/bundle-contract.js'
import { createDaemonLogger } from '../shared/daemon-logger.js'
import { InitConfigError, readInitConfig } from './config.js'
import { controlSocketPath, sendControl, serveControl, type ControlRequest } from './control-socket.js'
import { Supervisor } from './supervisor.js'

const USAGE = 'usage: init.mjs [restart <daemon> | status]'

function createLogger(): Logger {
  return createDaemonLogger({ component: 'init' })
}

async function supervise(log: Logger): Promise<void> {
  let config
  try {
    config = readInitConfig(process.env)
  } catch (error) {
    if (!(error instanceof InitConfigError)) throw error
    log.fatal({ event: 'config-invalid', error: error.message }, 'invalid configuration')
    process.exitCode = 2
    return
  }
  if (process.pid === 1) {
    log.warn({ event: 'no-reaper' }, 'running as PID 1 without an init: orphaned processes will not be reaped (run with --init)')
  }
  try {
    mkdirSync(config.runDir, { recursive: true, mode: 0o700 })
    const passwd = await ensurePasswdEntry({ basePath: '/etc/passwd.base', passwdPath: `${config.runDir}/passwd`, uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0, home: BUNDLE_MOUNTS.state })
    log.info({ event: 'passwd-entry', result: passwd }, 'passwd entry for the bundle user')
  } catch (error) {
    log.error({ event: 'passwd-entry-failed', error: (error as Error).message }, 'cannot write the passwd entry; ssh upstreams will fail')
  }
  const supervisor = new Supervisor(config, log)
  let server: Server | undefined
  const stop = (signal: NodeJS.Signals): void => {
    if (supervisor.shuttingDown) return
    server?.close()
    void supervisor.shutdown(signal).then((clean) => {
      process.exit(clean ? 0 : 1)
    })
  }
  process.on('SIGTERM', () => stop('SIGTERM'))
  process.on('SIGINT', () => stop('SIGINT'))
  process.on('SIGHUP', () => supervisor.forward('SIGHUP'))
  supervisor.start()
  try {
    mkdirSync(config.runDir, { recursive: true, mode: 0o700 })
    server = await serveControl(controlSocketPath(config.runDir), async (request) => {
      if (request.op === 'restart') await supervisor.restart(request.daemon)
      return { ok: true, daemons: supervisor.status() }
    })
    log.info({ event: 'control-listening', socket: controlSocketPath(config.runDir) }, 'control socket listening')
  } catch (error) {
    // The daemons matter more than the control channel: keep them running.
    log.error({ event: 'control-unavailable', error: (error as Error).message }, 'control socket unavailable')
  }
}

async function control(args: string[]): Promise<void> {
  const [op, daemon, ...rest] = args
  let request: ControlRequest
  if (op === 'restart' && daemon !== undefined && rest.length === 0) request = { op, daemon }
  else if (op === 'status' && daemon === undefined) request = { op }
  else {
    process.stderr.write(`${USAGE}\n`)
    process.exitCode = 2
    return
  }
  const runDir = process.env.BOTTLE_RUN_DIR || '/run/bottle'
  // A restart may wait for the daemon's whole stop grace period.
  const timeoutMs = Number(process.env.BOTTLE_STOP_GRACE_MS || 8000) + 10_000
  try {
    const response = await sendControl(controlSocketPath(runDir), request, timeoutMs)
    if (response.ok) {
      process.stdout.write(`${JSON.stringify(response)}\n`)
    } else {
      process.stderr.write(`init: ${response.error}\n`)
      process.exitCode = 1
    }
  } catch (error) {
    process.stderr.write(`init: ${(error as Error).message}\n`)
    process.exitCode = 1
  }
}

const args = process.argv.slice(2)
if (args.length === 0) await supervise(createLogger())
else await control(args)
