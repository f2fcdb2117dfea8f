/**
 * The pre-receive hook: receive-pack runs it (through the script in
 * .hooks/, see hook-scripts.ts) after the pushed objects arrived in
 * quarantine and before any ref moves. It
 *   1. scans everything the push adds (scan-push.ts) and, on any finding,
 *      declines with one `bottle-git-gate: refused push: <where>: <rule>`
 *      line per finding; nothing reaches upstream;
 *   2. otherwise forwards the push to upstream (forward-push.ts) and waits:
 *      upstream's refusal becomes the hook's refusal, with upstream's words.
 * Exit 0 lets receive-pack update the mirror; anything else declines the
 * whole push. Any failure of the hook itself declines too (fail closed).
 *
 * Output goes to stderr, which git relays to the agent as `remote:` lines;
 * every line first loses secrets, URL credentials and the gate's key paths
 * (relay-redaction.ts). The decision goes to the daemon as a push report
 * (push-report.ts).
 */
import type { DlpScanner, ScannerOptions } from '../dlp/types.js'
import { forwardPush } from './forward-push.js'
import { MARKER, oneLine, pushRefusalLines, redactSecrets } from './gate-rejection.js'
import { ENV, upstreamEnvironment } from './git-environment.js'
import { loadGateFolder } from './load-config.js'
import { writePushReport, type PushReport } from './push-report.js'
import { createRelayRedactor, relayRedactorFor, type RelayRedactor } from './relay-redaction.js'
import { gitRunner } from './run-git.js'
import { parsePushUpdates, scanPush } from './scan-push.js'

export interface HookContext {
  env: NodeJS.ProcessEnv
  /** The repository receive-pack runs the hook in (the mirror). */
  cwd: string
  stdin: string
  writeLine: (line: string) => void
  createScanner: (options: ScannerOptions) => DlpScanner
  now?: () => number
}

/** Returns the exit code: 0 accepts the push, 1 declines it. */
export async function runPreReceive(context: HookContext): Promise<number> {
  const now = context.now ?? Date.now
  const started = now()
  const remoteName = context.env[ENV.remote] ?? ''
  const reportPath = context.env[ENV.pushReport]
  const report: PushReport = { remote: remoteName, outcome: 'failed', refs: [], commits: 0, files: 0, scannedBytes: 0, findings: [], unscanned: [], durationMs: 0 }
  let secrets: Iterable<string> = []
  let redact: RelayRedactor = createRelayRedactor({ secrets: [], configDir: context.env[ENV.configDir] })
  const say = (line: string) => context.writeLine(redact(line))
  const finish = async (outcome: PushReport['outcome'], reason?: string): Promise<number> => {
    report.outcome = outcome
    if (reason !== undefined) report.reason = oneLine(redactSecrets(reason, secrets))
    report.durationMs = now() - started
    if (reportPath) await writePushReport(reportPath, report).catch(() => {})
    return outcome === 'forwarded' ? 0 : 1
  }

  try {
    const configDir = context.env[ENV.configDir]
    if (!configDir) {
      say(`${MARKER} refused push: the gate is misconfigured (no config folder)`)
      return await finish('failed', 'no config folder in the hook environment')
    }
    const loaded = await loadGateFolder(configDir)
    if (!loaded.ok) {
      say(`${MARKER} refused push: the gate's config is invalid; nothing was sent upstream`)
      return await finish('failed', `config invalid: ${loaded.error}`)
    }
    secrets = [...loaded.loaded.secrets.values()]
    redact = relayRedactorFor(loaded.loaded)
    const remote = loaded.loaded.remotes.get(remoteName)
    if (!remote) {
      say(`${MARKER} refused push: repository ${JSON.stringify(remoteName)} is no longer configured on this gate`)
      return await finish('failed', 'remote not configured')
    }
    const { scan, limits } = loaded.loaded.config
    const updates = parsePushUpdates(context.stdin)
    report.refs = updates.map((u) => u.ref)

    const local = gitRunner(context.cwd, hookGitEnv(context.env), limits.pushTimeoutSeconds * 1000)
    const scanner = context.createScanner({ knownSecrets: [...loaded.loaded.secrets.values()] })
    const result = await scanPush(local, updates, { scanner, maxFileBytes: scan.maxFileBytes, maxPushScanBytes: scan.maxPushScanBytes, oversized: scan.oversized })
    report.commits = result.commits
    report.files = result.files
    report.scannedBytes = result.scannedBytes
    report.findings = result.findings.map(({ rule, location, commit }) => ({ rule, location, ...(commit !== undefined ? { commit } : {}) }))
    report.unscanned = result.unscanned.map(({ rule, location, commit }) => ({ rule, location, ...(commit !== undefined ? { commit } : {}) }))
    if (result.findings.length > 0) {
      for (const line of pushRefusalLines(result.findings)) say(line)
      return await finish('refused', `${result.findings.length} finding(s)`)
    }
    for (const skipped of result.unscanned) say(`${MARKER} warning: not scanned (too large): ${skipped.location}${skipped.commit ? ` in commit ${skipped.commit}` : ''}`)

    const upstream = gitRunner(context.cwd, upstreamEnvironment(hookGitEnv(context.env), remote), limits.pushTimeoutSeconds * 1000)
    const forwarded = await forwardPush(upstream, remote.upstream.url, updates, limits.pushTimeoutSeconds * 1000)
    if (forwarded.ok) {
      say(`${MARKER} scanned ${result.commits} new commit(s); upstream accepted the push`)
      return await finish('forwarded')
    }
    if (forwarded.refs.length === 0) {
      // git never got to upstream's answer: unreachable, refused login, timed out.
      const reason = forwarded.error ?? 'no answer from upstream'
      say(`${MARKER} refused push: cannot deliver it to upstream ${remote.upstream.url} (${oneLine(reason, 200)}); nothing changed`)
      for (const message of forwarded.messages) say(`${MARKER} upstream: ${message}`)
      return await finish('failed', reason)
    }
    say(`${MARKER} upstream refused the push; the gate's copy is unchanged`)
    for (const ref of forwarded.refs.filter((r) => r.flag === '!')) say(`${MARKER} upstream: ${ref.ref}: ${ref.summary}`)
    for (const message of forwarded.messages) say(`${MARKER} upstream: ${message}`)
    return await finish('upstream-rejected', forwarded.refs.filter((r) => r.flag === '!').map((r) => `${r.ref} ${r.summary}`).join('; '))
  } catch (error) {
    say(`${MARKER} refused push: the gate could not check it (${oneLine((error as Error).message, 200)}); nothing was sent upstream`)
    return await finish('failed', (error as Error).message)
  }
}

/**
 * git's environment inside the hook: what receive-pack gave us (the gate's
 * clean environment plus GIT_DIR and the quarantine variables), minus the
 * role marker so that programs git starts pick their own.
 */
export function hookGitEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [name, value] of Object.entries(env)) {
    if (value !== undefined && name !== ENV.role && name !== ENV.pushReport) out[name] = value
  }
  return out
}
