/**
 * Runs the real init (bundled from source with esbuild, as the image does)
 * as a child process against fixture daemons, and collects its JSON lines
 * together with the fixtures' own lines.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { build } from 'esbuild'

const repoRoot = resolve(import.meta.dirname, '../../../..')
const fixtureDir = join(repoRoot, 'fixtures/daemons')

export type LogLine = Record<string, unknown>

let bundled: Promise<string> | undefined

/** Bundles sidecars/init/main.ts once per test file. */
export function bundleInit(): Promise<string> {
  bundled ??= (async () => {
    const outdir = mkdtempSync(join(tmpdir(), 'bottle-init-bundle-'))
    const outfile = join(outdir, 'init.mjs')
    await build({
      entryPoints: [join(repoRoot, 'sidecars/init/main.ts')],
      outfile,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      banner: { js: "import { createRequire as __r } from 'node:module'; const require = __r(import.meta.url);" },
      logLevel: 'error',
    })
    return outfile
  })()
  return bundled
}

export interface InitProcess {
  child: ChildProcess
  lines: LogLine[]
  runDir: string
  env: NodeJS.ProcessEnv
  /** Resolves with the first line (seen so far or later) matching `predicate`. */
  waitFor(predicate: (line: LogLine) => boolean, timeoutMs?: number): Promise<LogLine>
  /** Resolves with the exit code once the init has exited. */
  exited: Promise<number | null>
  /** Runs `init.mjs <args>` as a control client against this init. */
  control(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }>
  cleanup(): Promise<void>
}

/**
 * `daemons` maps each daemon name the init is told about to the fixture
 * program (without .mjs) it runs as.
 */
export async function startInit(daemons: Record<string, string>, extraEnv: Record<string, string> = {}): Promise<InitProcess> {
  const initFile = await bundleInit()
  const workDir = mkdtempSync(join(tmpdir(), 'bottle-init-'))
  const daemonDir = join(workDir, 'daemons')
  const runDir = join(workDir, 'run')
  mkdirSync(daemonDir)
  for (const [name, fixture] of Object.entries(daemons)) {
    symlinkSync(join(fixtureDir, `${fixture}.mjs`), join(daemonDir, `${name}.mjs`))
  }
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    BOTTLE_DAEMONS: Object.keys(daemons).join(','),
    BOTTLE_DAEMON_DIR: daemonDir,
    BOTTLE_RUN_DIR: runDir,
    BOTTLE_STOP_GRACE_MS: '400',
    BOTTLE_RESTART_BACKOFF_MS: '20',
    BOTTLE_RESTART_BACKOFF_MAX_MS: '160',
    BOTTLE_STABLE_AFTER_MS: '60000',
    ...extraEnv,
  }
  // Its own process group, which its daemons share: cleanup ends them all, even one init started
  // a moment before, whose first line has not been read yet.
  const child = spawn(process.execPath, [initFile], { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true })
  const lines: LogLine[] = []
  const listeners = new Set<() => void>()
  let partial = ''
  child.stdout?.setEncoding('utf8')
  child.stdout?.on('data', (chunk: string) => {
    partial += chunk
    const complete = partial.split('\n')
    partial = complete.pop() ?? ''
    for (const text of complete) {
      if (text.trim() === '') continue
      try {
        lines.push(JSON.parse(text) as LogLine)
      } catch {
        lines.push({ unparsed: text })
      }
    }
    for (const listener of listeners) listener()
  })
  child.stderr?.resume()
  const exited = new Promise<number | null>((resolveExit) => child.once('exit', (code) => resolveExit(code)))

  const waitFor = (predicate: (line: LogLine) => boolean, timeoutMs = 5000): Promise<LogLine> =>
    new Promise((resolveLine, reject) => {
      const check = (): boolean => {
        const found = lines.find(predicate)
        if (found === undefined) return false
        listeners.delete(listener)
        clearTimeout(timer)
        resolveLine(found)
        return true
      }
      const listener = (): void => void check()
      const timer = setTimeout(() => {
        listeners.delete(listener)
        reject(new Error(`no matching line within ${timeoutMs} ms; saw:\n${lines.map((l) => JSON.stringify(l)).join('\n')}`))
      }, timeoutMs)
      listeners.add(listener)
      check()
    })

  const control = (args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> =>
    new Promise((resolveRun) => {
      const client = spawn(process.execPath, [initFile, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] })
      let stdout = ''
      let stderr = ''
      client.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
      client.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
      client.once('exit', (code) => resolveRun({ code, stdout, stderr }))
    })

  const cleanup = async (): Promise<void> => {
    try {
      if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL')
    } catch {
      // the group is gone
    }
    if (child.exitCode === null && child.signalCode === null) await exited
    // Fixture daemons of a SIGKILLed init would outlive it; they are ours to end.
    for (const line of lines) {
      if (typeof line.fixture === 'string' && typeof line.pid === 'number') {
        try {
          process.kill(line.pid, 'SIGKILL')
        } catch {
          // already gone
        }
      }
    }
    rmSync(workDir, { recursive: true, force: true })
  }

  return { child, lines, runDir, env, waitFor, exited, control, cleanup }
}

export const isEvent =
  (event: string, fields: LogLine = {}) =>
  (line: LogLine): boolean =>
    line.event === event && Object.entries(fields).every(([key, value]) => line[key] === value)
