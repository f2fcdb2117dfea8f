import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { hostOf, webhookUrlProblem } from '../../proposals/proposal-notifier.js'
import { Controller } from '../../reconcile/controller.js'
import { acquireInstanceLock } from '../../reconcile/instance-lock.js'
import { GitRemoteSource, parseGitSource } from '../../spec/sources/git-remote-source.js'
import { LocalFolderSource } from '../../spec/sources/local-folder-source.js'
import type { SpecSource } from '../../spec/sources/spec-source.js'
import { UsageError } from '../cli-error.js'
import { parseDuration } from '../../spec/duration.js'
import { startHealthServer } from '../health-server.js'
import { bundleUser, createLogger, instanceDrivers, instanceImages, instanceStateDir, type InstanceOptions } from '../instance-context.js'
import type { LogFields } from '../../log-events.js'

export interface ControllerCommandOptions extends InstanceOptions {
  dir?: string
  source?: string
  interval: string
  concurrency: string
  resync: string
  listen: string
  once?: boolean
  upstreamCa?: string[]
  notify?: string[]
}

/** Every PEM certificate in the files (a bundle holds several), each on its own. */
async function readCertificates(files: readonly string[]): Promise<string[]> {
  const out: string[] = []
  for (const file of files) {
    const text = await readFile(file, 'utf8').catch(() => {
      throw new UsageError(`--upstream-ca ${file}: cannot be read`)
    })
    const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []
    if (blocks.length === 0) throw new UsageError(`--upstream-ca ${file}: no PEM certificate in it`)
    out.push(...blocks.map((b) => `${b}\n`))
  }
  return out
}

/** `bottle controller`: the daemon. Runs until SIGINT/SIGTERM (or, with --once, until one pass has converged). */
export async function runController(options: ControllerCommandOptions): Promise<number> {
  if (options.dir && options.source) throw new UsageError('use --dir or --source, not both')
  for (const url of options.notify ?? []) {
    const problem = webhookUrlProblem(url)
    if (problem) throw new UsageError(`--notify ${hostOf(url)}: the URL ${problem}`)
  }
  const log = createLogger(options.logLevel)
  const stateDir = instanceStateDir(options)
  const lock = await acquireInstanceLock(stateDir)
  let source: SpecSource
  if (options.source) {
    source = new GitRemoteSource(parseGitSource(options.source), join(stateDir, 'sources'), parseDuration(options.interval), log)
  } else {
    source = new LocalFolderSource(options.dir ?? process.env.BOTTLE_DIR ?? '.')
  }
  const drivers = instanceDrivers(options, log, 'controller')
  const images = instanceImages(log)
  const concurrency = Number(options.concurrency)
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new UsageError(`--concurrency ${options.concurrency}: expected a positive integer`)
  const upstreamCaCerts = await readCertificates(options.upstreamCa ?? [])
  const controller = new Controller({
    source,
    drivers,
    images,
    stateDir,
    bundleUser: bundleUser(),
    env: process.env,
    log,
    concurrency,
    resyncMs: parseDuration(options.resync),
    ...(upstreamCaCerts.length ? { upstreamCaCerts } : {}),
    ...(options.notify?.length ? { notify: options.notify } : {}),
  })
  try {
    await controller.start()
  } catch (err) {
    await lock.release()
    throw err
  }
  if (options.once) {
    await controller.idle()
    await controller.stop()
    await lock.release()
    return 0
  }
  const server = await startHealthServer(controller, options.listen)
  log.info({ event: 'controller.listening', address: options.listen } satisfies LogFields, 'health and metrics endpoints listening')
  await new Promise<void>((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      log.info({ event: 'controller.signal', signal } satisfies LogFields, 'stopping')
      resolve()
    }
    process.once('SIGINT', stop)
    process.once('SIGTERM', stop)
  })
  server.close()
  await controller.stop()
  await lock.release()
  return 0
}
