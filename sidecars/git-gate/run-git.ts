/**
 * Running git: always an argument vector handed to execve (never a shell),
 * always with an environment the gate built (see git-environment.ts), always
 * bounded in time and in how much output is kept.
 */
import { spawn } from 'node:child_process'

export interface GitResult {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: Buffer
  /** Kept up to 64 KiB; for messages, after redaction by the caller. */
  stderr: string
  timedOut: boolean
  /** stdout went past maxStdoutBytes and the rest was dropped. */
  truncated: boolean
}

export interface GitRunOptions {
  /** Written to stdin, then stdin is closed. */
  input?: string | Buffer
  /** Keep at most this much stdout (default 64 MiB). */
  maxStdoutBytes?: number
  /** Called with each stdout chunk instead of keeping it. */
  onStdout?: (chunk: Buffer) => void
  timeoutMs?: number
  signal?: AbortSignal
}

export interface GitRunner {
  readonly cwd: string
  readonly env: Readonly<Record<string, string>>
  run(args: readonly string[], options?: GitRunOptions): Promise<GitResult>
}

const MAX_STDERR = 64 * 1024
const KILL_GRACE_MS = 2000

export class GitCommandError extends Error {
  override readonly name = 'GitCommandError'
  constructor(
    readonly command: string,
    readonly result: GitResult,
  ) {
    super(`git ${command} failed: ${result.timedOut ? 'timed out' : firstErrorLine(result.stderr) || `exit ${result.code ?? result.signal}`}`)
  }
}

/** What git prints after every failed connection; it says nothing about the cause. */
const BOILERPLATE = [/^fatal: Could not read from remote repository\.?$/, /^Please make sure you have the correct access rights$/, /^and the repository exists\.?$/, /^hint:/]

/** Lines of ssh and curl that name the cause outright; preferred over whatever else git printed. */
const DECISIVE = [
  /Host key verification failed/,
  /REMOTE HOST IDENTIFICATION HAS CHANGED/,
  /No \S+ host key is known/,
  /Permission denied/,
  /Could not resolve hostname/,
  /Connection refused/,
  /Connection timed out|Operation timed out/,
  /No route to host/,
  /Authentication failed/,
  /No user exists for uid/,
]

/**
 * The line of git's stderr that says what went wrong: a line naming the
 * cause outright (ssh's "Host key verification failed."), else the last
 * `fatal:` or `error:` line, else the first line. git's generic "Could not
 * read from remote repository" and ssh's banners of `@` are never it.
 */
export function firstErrorLine(stderr: string): string {
  const all = stderr
    .split(/[\r\n]+/)
    .map((line) => line.replace(/[\u0000-\u001f\u007f]/g, '').replace(/^@+|@+$/g, '').trim())
    .filter((line) => line !== '')
  const lines = all.filter((line) => !BOILERPLATE.some((re) => re.test(line)))
  const decisive = DECISIVE.map((re) => lines.find((line) => re.test(line))).find((line) => line !== undefined)
  const fatal = lines.filter((line) => /^(fatal|error|ERROR):/.test(line))
  return (decisive ?? fatal.at(-1) ?? lines[0] ?? all.at(-1) ?? '').slice(0, 300)
}

export function gitRunner(cwd: string, env: Readonly<Record<string, string>>, defaultTimeoutMs = 120_000): GitRunner {
  return {
    cwd,
    env,
    run(args, options = {}) {
      return runGit(args, { cwd, env, timeoutMs: defaultTimeoutMs, ...options })
    },
  }
}

export function runGit(
  args: readonly string[],
  options: GitRunOptions & { cwd: string; env: Readonly<Record<string, string>> },
): Promise<GitResult> {
  return new Promise((resolve) => {
    // Its own process group, so a timeout also stops what git started (ssh, a hook, a helper).
    const child = spawn('git', args, { cwd: options.cwd, env: options.env, stdio: ['pipe', 'pipe', 'pipe'], shell: false, detached: true })
    const maxStdout = options.maxStdoutBytes ?? 64 * 1024 * 1024
    const chunks: Buffer[] = []
    let stdoutBytes = 0
    let truncated = false
    let stderr = ''
    let timedOut = false
    let settled = false

    const kill = () => {
      killGroup(child.pid, 'SIGTERM')
      setTimeout(() => killGroup(child.pid, 'SIGKILL'), KILL_GRACE_MS).unref()
    }
    const timer = options.timeoutMs
      ? setTimeout(() => {
          timedOut = true
          kill()
        }, options.timeoutMs)
      : undefined
    const onAbort = () => kill()
    options.signal?.addEventListener('abort', onAbort, { once: true })

    child.stdout.on('data', (chunk: Buffer) => {
      if (options.onStdout) return options.onStdout(chunk)
      if (stdoutBytes + chunk.length > maxStdout) {
        truncated = true
        const room = maxStdout - stdoutBytes
        if (room > 0) chunks.push(chunk.subarray(0, room))
        stdoutBytes = maxStdout
        return
      }
      chunks.push(chunk)
      stdoutBytes += chunk.length
    })
    child.stderr.on('data', (chunk: Buffer) => {
      if (stderr.length < MAX_STDERR) stderr += chunk.toString('utf8').slice(0, MAX_STDERR - stderr.length)
    })
    // A child that exits before reading all of stdin closes the pipe: not our error.
    child.stdin.on('error', () => {})
    const finish = (code: number | null, signal: NodeJS.Signals | null) => {
      if (settled) return
      settled = true
      if (timer) clearTimeout(timer)
      options.signal?.removeEventListener('abort', onAbort)
      resolve({ code, signal, stdout: Buffer.concat(chunks), stderr, timedOut, truncated })
    }
    child.on('error', (error) => {
      stderr += `fatal: cannot run git: ${error.message}\n`
      finish(127, null)
    })
    child.on('close', finish)
    if (options.input !== undefined) child.stdin.end(options.input)
    else child.stdin.end()
  })
}

/** Signal a process group started with `detached: true`; a group already gone is fine. */
export function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return
  try {
    process.kill(-pid, signal)
  } catch {
    // already exited
  }
}

/** Run and throw a GitCommandError unless git exits 0. */
export async function runGitOk(git: GitRunner, args: readonly string[], options?: GitRunOptions): Promise<Buffer> {
  const result = await git.run(args, options)
  if (result.code !== 0 || result.timedOut) throw new GitCommandError(subcommandOf(args), result)
  return result.stdout
}

/** `fetch` of `['-c', 'a=b', 'fetch', '--prune', ...]`: what error messages call the command. */
export function subcommandOf(args: readonly string[]): string {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string
    if (arg === '-c' || arg === '-C') i++
    else if (!arg.startsWith('-')) return arg
  }
  return 'git'
}
