/**
 * Forwarding a scanned push to the real upstream, from inside the
 * pre-receive hook: the pushed objects are still in quarantine and the hook
 * can read them, so `git push <upstream> <new>:<ref>` sends exactly what the
 * agent pushed. The hook waits for upstream's answer, so the agent sees
 * upstream's own refusal, and receive-pack updates the mirror's refs only
 * when upstream took them.
 *
 * Each ref is sent with a lease on the value the agent saw (the mirror's
 * value): if upstream moved since the last refresh, the push is refused as
 * stale instead of overwriting someone else's work. The push is atomic: the
 * hook can only accept or decline all refs, so upstream must take all or none.
 */
import { firstErrorLine, type GitRunner } from './run-git.js'
import { isZeroId, type PushUpdate } from './scan-push.js'

export interface ForwardedRef {
  ref: string
  /** From git push --porcelain: ' ' fast-forward, '+' forced, '-' deleted, '*' new, '=' up to date, '!' rejected. */
  flag: string
  summary: string
}

export interface ForwardResult {
  ok: boolean
  refs: ForwardedRef[]
  /** What upstream said (its `remote:` lines and git's error), one line each, progress dropped. */
  messages: string[]
  /** One line when git itself failed (unreachable, auth, timeout). */
  error?: string
}

/** `git push` arguments; ref names and ids were checked by receive-pack and go in argv only (no shell). */
export function forwardArgs(upstreamUrl: string, updates: readonly PushUpdate[]): string[] {
  const leases = updates.map((u) => `--force-with-lease=${u.ref}:${isZeroId(u.oldId) ? '' : u.oldId}`)
  const refspecs = updates.map((u) => (isZeroId(u.newId) ? `:${u.ref}` : `+${u.newId}:${u.ref}`))
  return ['push', '--porcelain', '--atomic', '--no-verify', '--no-progress', ...leases, upstreamUrl, ...refspecs]
}

/** Parse `git push --porcelain` stdout: `<flag>\t<from>:<to>\t<summary>`. */
export function parsePorcelain(stdout: string): ForwardedRef[] {
  const refs: ForwardedRef[] = []
  for (const line of stdout.split('\n')) {
    const match = /^([ +\-*=!])\t([^\t]*):([^\t]+)\t(.*)$/.exec(line)
    if (match) refs.push({ flag: match[1] as string, ref: match[3] as string, summary: (match[4] as string).trim() })
  }
  return refs
}

/** Upstream's messages: its `remote:` lines and git's errors, without progress or hints. */
export function upstreamMessages(stderr: string): string[] {
  return stderr
    .split('\n')
    .map((line) => line.split('\r').at(-1) ?? '')
    .map((line) => line.replace(/\u001b\[[0-9;]*[A-Za-z]/g, '').replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, '').trimEnd())
    .filter((line) => line.trim() !== '' && !line.startsWith('hint:') && !line.startsWith('To '))
    .slice(0, 50)
}

export async function forwardPush(git: GitRunner, upstreamUrl: string, updates: readonly PushUpdate[], timeoutMs: number): Promise<ForwardResult> {
  const result = await git.run(forwardArgs(upstreamUrl, updates), { timeoutMs, maxStdoutBytes: 1024 * 1024 })
  const refs = parsePorcelain(result.stdout.toString('utf8'))
  const messages = upstreamMessages(result.stderr)
  const rejected = refs.length === 0 || refs.some((r) => r.flag === '!')
  if (result.code === 0 && !result.timedOut && !rejected) return { ok: true, refs, messages }
  const error = result.timedOut
    ? `upstream did not answer within ${Math.round(timeoutMs / 1000)} s`
    : refs.length === 0
      ? firstErrorLine(result.stderr) || `git push exited ${result.code ?? result.signal}`
      : undefined
  return { ok: false, refs, messages, ...(error !== undefined ? { error } : {}) }
}
