/**
 * The gate's HTTP side: git smart HTTP, one repository per configured
 * remote, at http://git-gate:9420/<name>.git.
 *
 *   fetch/clone  info/refs?service=git-upload-pack refreshes the mirror from
 *                upstream first; when upstream cannot be reached the fetch
 *                fails closed with git's own error packet, unless the remote
 *                has allowStale. The pack exchange is served from the mirror.
 *   push         info/refs?service=git-receive-pack refreshes too (the agent
 *                sees upstream's refs). The push runs receive-pack on the
 *                mirror, one push per remote at a time; its pre-receive hook
 *                scans and forwards (pre-receive-hook.ts).
 *
 * Every refusal goes through protocol-responses.ts and is one log line; what
 * it tells the agent first loses secrets, URL credentials and the gate's key
 * paths (relay-redaction.ts), since it can quote git, ssh and the upstream.
 * Nothing a client sends can crash the daemon: each request's failure ends
 * that request only.
 */
import { randomUUID } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { join } from 'node:path'
import type { Logger } from 'pino'
import { logEvent } from './event-log.js'
import { GateRejection, oneLine } from './gate-rejection.js'
import { ENV } from './git-environment.js'
import type { GateRemote, LoadedGateConfig } from './load-config.js'
import type { MirrorStore } from './mirror.js'
import { advertise, drain, serveRpc, type ServiceTarget } from './pack-service.js'
import { sendAdvertisementError, sendRejection } from './protocol-responses.js'
import { takePushReport, type PushReport } from './push-report.js'
import { receivePackRefusal } from './receive-pack-request.js'
import { relayRedactorFor } from './relay-redaction.js'
import { routeRequest, type GitService } from './route-request.js'
import type { StatusFile } from './status-file.js'

export interface GateHandlerOptions {
  mirrors: MirrorStore
  baseEnv: Readonly<Record<string, string>>
  pushReportsDir: string
  current: () => LoadedGateConfig | undefined
  configError: () => string | undefined
  status: StatusFile
  log: Logger
  now?: () => Date
}

const GIT_PROTOCOL = /^[A-Za-z0-9=:._,-]{1,256}$/
const ADVERTISE_TIMEOUT_MS = 60_000

export function createGateHandler(options: GateHandlerOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const { log } = options
  const now = options.now ?? (() => new Date())

  const refuse = (res: ServerResponse, rejection: GateRejection, context: { remote?: string; service?: GitService } = {}) => {
    logEvent(log, { event: 'request.refused', code: rejection.code, status: rejection.status, reason: rejection.reason, ...context })
    const loaded = options.current()
    sendRejection(res, loaded ? new GateRejection(rejection.code, relayRedactorFor(loaded)(rejection.reason)) : rejection)
  }

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const routed = routeRequest(req.method, req.url)
    if (routed instanceof GateRejection) return drainThen(req, () => refuse(res, routed))
    const loaded = options.current()
    if (!loaded) {
      const error = options.configError()
      return drainThen(req, () => refuse(res, new GateRejection('no-config', `the gate has no valid config${error ? ` (${oneLine(error, 200)})` : ''}`)))
    }
    const remote = loaded.remotes.get(routed.repo)
    if (!remote) {
      const names = [...loaded.remotes.keys()].map((n) => `${n}.git`).join(', ') || 'none'
      return drainThen(req, () => refuse(res, new GateRejection('not-found', `no repository ${routed.repo}.git on this gate (configured: ${names})`)))
    }
    const context = { remote: remote.name, service: routed.service }
    const protocolHeader = req.headers['git-protocol']
    const gitProtocol = typeof protocolHeader === 'string' && GIT_PROTOCOL.test(protocolHeader) ? protocolHeader : undefined

    if (routed.kind === 'advertise') return serveAdvertisement(res, loaded, remote, routed.service, gitProtocol)

    const contentType = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase()
    if (contentType !== `application/x-${routed.service}-request`) {
      return drainThen(req, () => refuse(res, new GateRejection('unsupported-media-type', `expected Content-Type application/x-${routed.service}-request`), context))
    }
    if (!(await options.mirrors.exists(remote.name))) {
      return drainThen(req, () => refuse(res, new GateRejection('no-mirror', 'the repository has not been fetched yet; ask for info/refs first'), context))
    }
    if (routed.service === 'git-upload-pack') return serveUploadPack(req, res, loaded, remote, gitProtocol)
    return options.mirrors.exclusive(remote.name, () => serveReceivePack(req, res, loaded, remote))
  }

  const serveAdvertisement = async (res: ServerResponse, loaded: LoadedGateConfig, remote: GateRemote, service: GitService, gitProtocol: string | undefined) => {
    const started = Date.now()
    const refreshed = await options.mirrors.refresh(remote, loaded.config.limits.refreshTimeoutSeconds * 1000, loaded.secrets.values())
    const at = now().toISOString()
    const stale = !refreshed.ok && service === 'git-upload-pack' && remote.config.allowStale && (await options.mirrors.hasRefs(remote.name))
    if (refreshed.ok) {
      logEvent(log, { event: 'refresh.succeeded', remote: remote.name, durationMs: refreshed.durationMs })
      void options.status.recordRefresh(remote.name, { at, result: 'ok', message: 'mirror matches upstream', durationMs: refreshed.durationMs })
    } else {
      logEvent(log, { event: 'refresh.failed', remote: remote.name, reason: refreshed.reason, durationMs: refreshed.durationMs, servedStale: stale })
      void options.status.recordRefresh(remote.name, {
        at,
        result: stale ? 'stale' : 'failed',
        message: `cannot reach ${remote.upstream.url}: ${refreshed.reason}`,
        durationMs: refreshed.durationMs,
      })
      if (!stale) {
        const what = service === 'git-upload-pack' ? 'refusing to serve a stale copy' : 'cannot push'
        logEvent(log, { event: 'request.refused', code: 'upstream-unreachable', status: 200, reason: refreshed.reason, remote: remote.name, service })
        return sendAdvertisementError(res, service, relayRedactorFor(loaded)(`upstream ${remote.upstream.url} is unreachable (${refreshed.reason}); ${what}`))
      }
    }
    const target = serviceTarget(remote, service, gitProtocol)
    const { bytesOut } = await advertise(target, res, ADVERTISE_TIMEOUT_MS)
    logEvent(log, { event: 'request.served', remote: remote.name, service, phase: 'advertise', bytesIn: 0, bytesOut, durationMs: Date.now() - started })
  }

  const serveUploadPack = async (req: IncomingMessage, res: ServerResponse, loaded: LoadedGateConfig, remote: GateRemote, gitProtocol: string | undefined) => {
    const started = Date.now()
    const limits = rpcLimits(loaded)
    const outcome = await serveRpc(serviceTarget(remote, 'git-upload-pack', gitProtocol), req, res, limits)
    const context = { remote: remote.name, service: 'git-upload-pack' as const }
    if (outcome.kind === 'served') {
      logEvent(log, { event: 'request.served', ...context, phase: 'rpc', bytesIn: outcome.bytesIn, bytesOut: outcome.bytesOut, durationMs: Date.now() - started, encoding: outcome.encoding })
    } else if (outcome.kind === 'too-large') {
      refuse(res, new GateRejection('too-large', `the request is larger than the gate's ${mib(limits.maxRequestBytes)} limit`), context)
    } else if (outcome.kind === 'refused') {
      refuse(res, outcome.rejection, context)
    }
  }

  const serveReceivePack = async (req: IncomingMessage, res: ServerResponse, loaded: LoadedGateConfig, remote: GateRemote) => {
    const limits = rpcLimits(loaded)
    const reportPath = join(options.pushReportsDir, `${randomUUID()}.json`)
    const target: ServiceTarget = {
      ...serviceTarget(remote, 'git-receive-pack', undefined),
      env: { ...options.baseEnv, [ENV.remote]: remote.name, [ENV.pushReport]: reportPath },
      gitConfig: [`receive.maxInputSize=${limits.maxRequestBytes}`],
    }
    const outcome = await serveRpc(target, req, res, limits)
    const report = await takePushReport(reportPath)
    const context = { remote: remote.name, service: 'git-receive-pack' as const }
    const at = now().toISOString()
    if (outcome.kind === 'too-large') {
      const refs = outcome.commands?.commands.map((c) => c.ref) ?? []
      const message = `the push is larger than the gate's ${mib(limits.maxRequestBytes)} limit; nothing was sent upstream`
      logEvent(log, { event: 'push.too-large', remote: remote.name, refs, limitBytes: limits.maxRequestBytes })
      void options.status.recordPush(remote.name, { at, result: 'too-large', message })
      if (outcome.commands && !res.headersSent) {
        const body = receivePackRefusal(outcome.commands, `bottle-git-gate: refused push: ${message}`, 'pack exceeds the gate size limit')
        res.writeHead(200, { 'content-type': 'application/x-git-receive-pack-result', 'content-length': body.length, 'cache-control': 'no-cache' })
        res.end(body)
      } else {
        sendRejection(res, new GateRejection('too-large', `refused push: ${message}`))
      }
      return
    }
    if (outcome.kind === 'refused') {
      refuse(res, outcome.rejection, context)
      return
    }
    if (outcome.kind === 'aborted') {
      if (report) recordPush(report, at)
      return
    }
    if (report) recordPush(report, at)
    else if (outcome.exitCode !== 0) logEvent(log, { event: 'rpc.failed', ...context, reason: oneLine(outcome.stderr) || `exit ${outcome.exitCode}` })
  }

  const recordPush = (report: PushReport, at: string) => {
    const base = { remote: report.remote, refs: report.refs }
    switch (report.outcome) {
      case 'forwarded':
        logEvent(log, { event: 'push.forwarded', ...base, commits: report.commits, files: report.files, scannedBytes: report.scannedBytes, durationMs: report.durationMs, unscanned: report.unscanned })
        void options.status.recordPush(report.remote, { at, result: 'forwarded', message: `${report.commits} new commit(s) scanned and accepted upstream` })
        break
      case 'refused':
        logEvent(log, { event: 'push.refused', ...base, commits: report.commits, findings: report.findings, durationMs: report.durationMs })
        void options.status.recordPush(report.remote, {
          at,
          result: 'refused',
          message: oneLine(`secret scan: ${report.findings.slice(0, 5).map((f) => `${f.location}: ${f.rule}`).join('; ')}`),
        })
        break
      case 'upstream-rejected':
        logEvent(log, { event: 'push.upstream-rejected', ...base, reason: report.reason ?? '', durationMs: report.durationMs })
        void options.status.recordPush(report.remote, { at, result: 'upstream-rejected', message: oneLine(`upstream refused: ${report.reason ?? ''}`) })
        break
      case 'failed':
        logEvent(log, { event: 'push.failed', ...base, reason: report.reason ?? '' })
        void options.status.recordPush(report.remote, { at, result: 'failed', message: oneLine(report.reason ?? 'failed') })
        break
    }
  }

  const serviceTarget = (remote: GateRemote, service: GitService, gitProtocol: string | undefined): ServiceTarget => ({
    service,
    repoDir: options.mirrors.path(remote.name),
    env: gitProtocol !== undefined ? { ...options.baseEnv, GIT_PROTOCOL: gitProtocol } : options.baseEnv,
  })

  return (req, res) => {
    handle(req, res).catch((error: unknown) => {
      const rejection = error instanceof GateRejection ? error : new GateRejection('internal', `internal error: ${oneLine((error as Error).message ?? String(error), 200)}`)
      refuse(res, rejection)
    })
  }
}

function rpcLimits(loaded: LoadedGateConfig): { maxRequestBytes: number; maxDrainBytes: number } {
  const max = loaded.config.limits.maxRequestBytes
  return { maxRequestBytes: max, maxDrainBytes: Math.max(max, 256 * 1024 * 1024) }
}

function mib(bytes: number): string {
  return `${(bytes / (1024 * 1024)).toFixed(0)} MiB`
}

/** Answer only once the client has finished sending, so it reads the answer instead of a reset. */
function drainThen(req: IncomingMessage, answer: () => void): void {
  if (req.method === 'GET' || req.method === 'HEAD') return answer()
  drain(req, 64 * 1024 * 1024, answer)
}
