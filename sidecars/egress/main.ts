/**
 * `node /opt/bottle/egress.mjs`: the egress daemon of the sidecar bundle.
 * Reads its environment (see sidecar.ts), serves until SIGTERM or SIGINT,
 * reloads its config folder on SIGHUP and on change. Logs are pino JSON
 * lines on stdout.
 */
// First: sets the heap's limits before it grows (see heap-limits.ts).
import './heap-limits.js'
import { createScanner } from '../dlp/index.js'
import { youngGenerationCollector } from './buffer-reclaim.js'
import { logEvent, createEgressLogger } from './event-log.js'
import { readEgressEnvironment, startEgressSidecar } from './sidecar.js'

async function main(): Promise<void> {
  let env
  try {
    env = readEgressEnvironment(process.env)
  } catch (error) {
    process.stderr.write(`bottle-egress: ${(error as Error).message}\n`)
    process.exit(2)
  }
  const log = createEgressLogger(undefined, env.logLevel)
  // A fault in one connection must not take the others down; the policy
  // holds no state a half-finished request could corrupt.
  process.on('uncaughtException', (error) => logEvent(log, { event: 'client.error', error: `uncaught: ${error.message}`.slice(0, 300) }))
  process.on('unhandledRejection', (reason) => logEvent(log, { event: 'client.error', error: `unhandled: ${String(reason)}`.slice(0, 300) }))

  let sidecar
  try {
    sidecar = await startEgressSidecar({ ...env, log, createScanner, collect: youngGenerationCollector() })
  } catch (error) {
    log.fatal({ event: 'proxy.start-failed', error: (error as Error).message }, 'egress proxy failed to start')
    process.exit(1)
  }
  const running = sidecar
  process.on('SIGHUP', () => void running.reloader.reload('signal'))
  const stop = (signal: string) => {
    logEvent(log, { event: 'proxy.stopping', signal })
    running.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    )
  }
  process.once('SIGTERM', () => stop('SIGTERM'))
  process.once('SIGINT', () => stop('SIGINT'))
}

void main()
