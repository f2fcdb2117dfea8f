/**
 * The `smolvm` command line, as this driver uses it, and nothing else: every
 * call is an argv (execa, never a shell), and no secret value is ever one of
 * its words. Environment for the guest goes in through a file (see
 * guest-exec.ts), never `-e K=V`, because a command line is readable by
 * every user of the host (`ps`).
 *
 * The contract is the one the older tool relied on (smolvm 0.8.0):
 *   smolvm pack create --image <registry ref> -o <out>
 *     writes <out> (a launcher) and <out>.smolmachine (what --from takes)
 *   smolvm machine create --name <m> --from <artifact> [--net --allow-cidr <ip>/32] [-v <host>:<guest>[:ro]]
 *   smolvm machine start|stop|delete --name <m>
 *   smolvm machine exec --name <m> [-i] [-t] -- <argv>     (runs as root in the guest)
 *   smolvm machine cp <host path> <m>:<guest path>
 *   smolvm machine ls --json
 */
import { access, constants } from 'node:fs/promises'
import { delimiter, isAbsolute, join } from 'node:path'
import { isIPv4 } from 'node:net'
import { execa, type ResultPromise } from 'execa'
import { z } from 'zod'

/** Where smolvm comes from, for the reason a host without it is given. */
export const SMOLVM_INSTALL_HINT = 'install: https://smolmachines.com'

/** A running smolvm client whose stdin, stdout and stderr are pipes. */
export type SessionProcess = ResultPromise<{ stdin: 'pipe'; stdout: 'pipe'; stderr: 'pipe'; buffer: false; reject: false }>

export interface SmolvmCommandResult {
  exitCode: number
  stdout: string
  stderr: string
}

/** A smolvm call that failed: its argv (never secret, see above) and what it said. */
export class SmolvmError extends Error {
  override readonly name = 'SmolvmError'
  constructor(
    readonly argv: readonly string[],
    readonly result: SmolvmCommandResult,
    message?: string,
  ) {
    super(message ?? `smolvm ${argv.slice(0, 3).join(' ')} failed (exit ${result.exitCode}): ${firstLine(result.stderr) || firstLine(result.stdout) || 'no output'}`)
  }
}

export interface SmolvmCliOptions {
  /** The executable: a name looked up on PATH, or a path. Default `smolvm`. */
  executable?: string
  /** The PATH a bare name is looked up on. Default: this process's. */
  path?: string
}

/** A machine as `machine ls --json` reports it. */
export interface SmolvmMachine {
  name: string
  running: boolean
}

export interface MachineCreate {
  name: string
  /** The packed artifact (`<out>.smolmachine`); `--smolfile` is never used with it (0.8.0 refuses both). */
  from: string
  /** The one address the guest may reach (the bundle's); absent, the guest gets no network at all. */
  allowAddress?: string
  volumes: Array<{ host: string; guest: string; readOnly: boolean }>
}

/**
 * The network words of `machine create`: none without an address (no
 * network), else `--net` and exactly one `--allow-cidr <address>/32`.
 * smolvm 0.8.0 silently creates a machine without network when
 * `--allow-cidr` comes without `--net`, so both always go together; `--net`
 * without `--allow-cidr` would open the whole network and never happens.
 */
export function networkArgs(allowAddress: string | undefined): string[] {
  if (allowAddress === undefined) return []
  if (!isIPv4(allowAddress)) throw new RangeError(`bundle address ${JSON.stringify(allowAddress)} is not an IPv4 address`)
  return ['--net', '--allow-cidr', `${allowAddress}/32`]
}

/** The argv (after `smolvm`) that creates a machine. */
export function machineCreateArgv(create: MachineCreate): string[] {
  const volumes = create.volumes.flatMap((v) => {
    if (!isAbsolute(v.host) || !isAbsolute(v.guest) || `${v.host}${v.guest}`.includes(':')) throw new RangeError(`volume ${v.host} -> ${v.guest}: both paths must be absolute and free of ':'`)
    return ['-v', `${v.host}:${v.guest}${v.readOnly ? ':ro' : ''}`]
  })
  return ['machine', 'create', '--name', create.name, '--from', create.from, ...networkArgs(create.allowAddress), ...volumes]
}

/** The argv (after `smolvm`) that runs `argv` in a machine; `-i` when stdin is given. */
export function machineExecArgv(name: string, argv: readonly string[], options: { stdin?: boolean; tty?: boolean } = {}): string[] {
  return ['machine', 'exec', '--name', name, ...(options.stdin ? ['-i'] : []), ...(options.tty ? ['-t'] : []), '--', ...argv]
}

const machineList = z.union([
  z.array(z.record(z.string(), z.unknown())),
  z.object({ machines: z.array(z.record(z.string(), z.unknown())) }).transform((o) => o.machines),
])

/**
 * `machine ls --json`, read leniently: a list of machines (or `{machines: [...]}`),
 * each with a `name` and a `state` or `status` where `running` means running.
 */
export function parseMachineList(text: string): SmolvmMachine[] {
  const parsed = machineList.safeParse(JSON.parse(text.trim() === '' ? '[]' : text))
  if (!parsed.success) throw new Error(`unexpected \`smolvm machine ls --json\` output: ${firstLine(text)}`)
  const out: SmolvmMachine[] = []
  for (const entry of parsed.data) {
    if (typeof entry.name !== 'string') continue
    const state = entry.state ?? entry.status
    out.push({ name: entry.name, running: typeof state === 'string' && state.toLowerCase() === 'running' })
  }
  return out
}

export class SmolvmCli {
  readonly #executable: string
  readonly #path: string | undefined

  constructor(options: SmolvmCliOptions = {}) {
    this.#executable = options.executable ?? 'smolvm'
    this.#path = options.path
  }

  /** The executable's path, or undefined when there is none to run. */
  async locate(): Promise<string | undefined> {
    const candidates = this.#executable.includes('/') ? [this.#executable] : (this.#path ?? process.env.PATH ?? '').split(delimiter).filter(Boolean).map((dir) => join(dir, this.#executable))
    for (const candidate of candidates) {
      if (await access(candidate, constants.X_OK).then(() => true, () => false)) return candidate
    }
    return undefined
  }

  /** Runs `smolvm <argv>`; resolves with whatever exit code it had. */
  async run(argv: readonly string[], options: { stdin?: string | Buffer; signal?: AbortSignal } = {}): Promise<SmolvmCommandResult> {
    const executable = (await this.locate()) ?? this.#executable
    const result = await execa(executable, argv, {
      reject: false,
      stripFinalNewline: false,
      encoding: 'utf8',
      ...(options.stdin === undefined ? { stdin: 'ignore' as const } : { input: options.stdin }),
      ...(options.signal === undefined ? {} : { cancelSignal: options.signal }),
      ...(this.#path === undefined ? {} : { env: { PATH: this.#path } }),
    })
    if (result.failed && result.exitCode === undefined) {
      throw new SmolvmError(argv, { exitCode: -1, stdout: '', stderr: result.shortMessage ?? 'could not run smolvm' })
    }
    return { exitCode: result.exitCode ?? -1, stdout: String(result.stdout ?? ''), stderr: String(result.stderr ?? '') }
  }

  /** Runs `smolvm <argv>` and fails with a SmolvmError on a non-zero exit. */
  async checked(argv: readonly string[], options: { stdin?: string | Buffer } = {}): Promise<SmolvmCommandResult> {
    const result = await this.run(argv, options)
    if (result.exitCode !== 0) throw new SmolvmError(argv, result)
    return result
  }

  /**
   * Starts `smolvm <argv>` with stdin, stdout and stderr as pipes, for a
   * person's session. Wrapped, because a running execa child is itself a
   * promise and an async function would wait for it to end.
   */
  async start(argv: readonly string[]): Promise<{ child: SessionProcess }> {
    const executable = (await this.locate()) ?? this.#executable
    const child = execa(executable, argv, {
      reject: false,
      stdin: 'pipe',
      stdout: 'pipe',
      stderr: 'pipe',
      buffer: false,
      ...(this.#path === undefined ? {} : { env: { PATH: this.#path } }),
    })
    return { child }
  }

  async machines(): Promise<SmolvmMachine[]> {
    return parseMachineList((await this.checked(['machine', 'ls', '--json'])).stdout)
  }

  /**
   * Waits until the machine runs commands: `machine exec true` every 0.1 s,
   * doubling, at most 0.5 s apart, until `timeoutMs`. A machine that never
   * answers most likely did not boot.
   */
  async waitExecReady(name: string, timeoutMs = 5000): Promise<void> {
    const argv = machineExecArgv(name, ['true'])
    const deadline = Date.now() + timeoutMs
    let delay = 100
    let last: SmolvmCommandResult = { exitCode: -1, stdout: '', stderr: '' }
    for (;;) {
      last = await this.run(argv)
      if (last.exitCode === 0) return
      if (Date.now() + delay > deadline) break
      await new Promise((r) => setTimeout(r, delay))
      delay = Math.min(delay * 2, 500)
    }
    const seconds = Math.round(timeoutMs / 100) / 10
    throw new SmolvmError(argv, { ...last, stderr: `exec channel not ready after ${seconds}s — VM may have failed to boot.` }, `exec channel not ready after ${seconds}s — VM may have failed to boot.`)
  }
}

function firstLine(text: string): string {
  return text.trim().split('\n')[0] ?? ''
}
