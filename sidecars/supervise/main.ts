/**
 * `node /opt/bottle/supervise.mjs`: the supervise daemon of the sidecar
 * bundle, an MCP server (Streamable HTTP, /mcp) through which the agent
 * lists its routes and proposes new ones. Reads its environment (see
 * environment.ts), serves until SIGTERM or SIGINT. SIGHUP (the bundle's
 * reload signal, sent to every daemon) changes nothing: the config files are
 * read on every call. Logs are pino JSON lines on stdout.
 */
import { createSuperviseLogger, logEvent } from './event-log.js'
import { readSuperviseEnvironment } from './environment.js'
import { startSuperviseHttp } from './http-server.js'
import { ProposalDesk } from './proposal-desk.js'

async function main(): Promise<void> {
  let env
  try {
    env = readSuperviseEnvironment(process.env)
  } catch (error) {
    process.stderr.write(`bottle-supervise: ${(error as Error).message}\n`)
    process.exit(2)
  }
  const log = createSuperviseLogger(undefined, env.logLevel)
  // A fault in one request must not take the others down.
  process.on('uncaughtException', (error) => logEvent(log, { event: 'client.error', error: `uncaught: ${error.message}`.slice(0, 300) }))
  process.on('unhandledRejection', (reason) => logEvent(log, { event: 'client.error', error: `unhandled: ${String(reason)}`.slice(0, 300) }))
  process.on('SIGHUP', () => logEvent(log, { event: 'supervise.reload', signal: 'SIGHUP' }))

  const desk = new ProposalDesk({ configDir: env.configDir, stateDir: env.stateDir, appliedPath: env.appliedPath })
  let http
  try {
    http = await startSuperviseHttp({ host: env.host, port: env.port, desk, log })
  } catch (error) {
    log.fatal({ event: 'supervise.start-failed', error: (error as Error).message }, 'supervise failed to start')
    process.exit(1)
  }
  const running = http
  const stop = (signal: string) => {
    logEvent(log, { event: 'supervise.stopping', signal })
    running.close().then(
      () => process.exit(0),
      () => process.exit(1),
    )
  }
  process.once('SIGTERM', () => stop('SIGTERM'))
  process.once('SIGINT', () => stop('SIGINT'))
}

void main()
