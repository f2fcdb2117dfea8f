/**
 * `node /opt/bottle/git-gate.mjs`: the git gate of the sidecar bundle, in one
 * of three roles chosen by BOTTLE_GIT_GATE_ROLE:
 *
 *   (unset)       the daemon: serves git smart HTTP until SIGTERM or SIGINT,
 *                 reloads its config folder on SIGHUP and on change; logs are
 *                 pino JSON lines on stdout;
 *   pre-receive   the hook receive-pack runs for each push (pre-receive-hook.ts);
 *   credential    the credential helper git runs for https upstreams.
 *
 * The hook and the helper are small scripts the daemon writes into its state
 * folder; they set the role and import this very module (import.meta.url).
 */
import { fileURLToPath } from 'node:url'
import { createScanner } from '../dlp/index.js'
import { answerCredentialRequest } from './credential-helper.js'
import { createGateLogger, logEvent } from './event-log.js'
import { readGateEnvironment, startGateDaemon } from './gate-daemon.js'
import { ENV } from './git-environment.js'
import { runPreReceive } from './pre-receive-hook.js'

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}

async function daemon(): Promise<void> {
  let env
  try {
    env = readGateEnvironment(process.env)
  } catch (error) {
    process.stderr.write(`bottle-git-gate: ${(error as Error).message}\n`)
    process.exit(2)
  }
  const log = createGateLogger(undefined, env.logLevel)
  // A fault in one request must not take the others down.
  process.on('uncaughtException', (error) => logEvent(log, { event: 'client.error', error: `uncaught: ${error.message}`.slice(0, 300) }))
  process.on('unhandledRejection', (reason) => logEvent(log, { event: 'client.error', error: `unhandled: ${String(reason)}`.slice(0, 300) }))
  let gate
  try {
    gate = await startGateDaemon({ ...env, log, entryUrl: import.meta.url, nodePath: process.execPath, inheritedEnv: process.env })
  } catch (error) {
    log.fatal({ event: 'gate.start-failed', error: (error as Error).message }, 'git gate failed to start')
    process.exit(1)
  }
  const running = gate
  process.on('SIGHUP', () => void running.reloader.reload('signal'))
  const stop = (signal: string) => {
    logEvent(log, { event: 'gate.stopping', signal })
    running.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    )
  }
  process.once('SIGTERM', () => stop('SIGTERM'))
  process.once('SIGINT', () => stop('SIGINT'))
}

async function preReceive(): Promise<void> {
  process.exitCode = await runPreReceive({
    env: process.env,
    cwd: process.cwd(),
    stdin: await readStdin(),
    writeLine: (line) => process.stderr.write(`${line}\n`),
    createScanner,
  })
}

async function credential(): Promise<void> {
  const answer = await answerCredentialRequest(process.argv[2], await readStdin(), process.env).catch(() => '')
  process.stdout.write(answer)
}

const role = process.env[ENV.role]
if (role === 'pre-receive') await preReceive()
else if (role === 'credential') await credential()
else if (role === undefined || role === '') await daemon()
else {
  process.stderr.write(`bottle-git-gate: unknown role ${JSON.stringify(role)} in ${fileURLToPath(import.meta.url)}\n`)
  process.exit(2)
}
