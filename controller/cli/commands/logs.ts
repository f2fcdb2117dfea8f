import { UsageError } from '../cli-error.js'
import { createLogger, instanceDrivers, type InstanceOptions } from '../instance-context.js'

export interface LogsOptions extends InstanceOptions {
  sidecar?: string
  follow?: boolean
  tail?: string
}

const DAEMONS = ['egress', 'git-gate', 'supervise', 'init']

/**
 * `bottle logs AGENT`: the agent box's output; `--sidecar NAME` the bundle's,
 * narrowed to one daemon's JSON lines (`--sidecar all` for the whole bundle).
 */
export async function runLogs(agent: string, options: LogsOptions, out: NodeJS.WritableStream): Promise<number> {
  if (options.sidecar !== undefined && options.sidecar !== 'all' && !DAEMONS.includes(options.sidecar)) {
    throw new UsageError(`--sidecar ${options.sidecar}: use one of ${[...DAEMONS, 'all'].join(', ')}`)
  }
  const tail = options.tail === undefined ? undefined : Number(options.tail)
  if (tail !== undefined && (!Number.isInteger(tail) || tail < 0)) throw new UsageError(`--tail ${options.tail}: expected a number of lines`)
  const driver = await instanceDrivers(options, createLogger(options.logLevel ?? 'warn')).driverOf(agent)
  const part = options.sidecar === undefined ? 'agent' : 'sidecars'
  const abort = new AbortController()
  process.once('SIGINT', () => abort.abort())
  for await (const line of driver.logs(agent, part, { follow: options.follow === true, ...(tail !== undefined ? { tail } : {}), signal: abort.signal })) {
    if (options.sidecar && options.sidecar !== 'all' && !fromDaemon(line, options.sidecar)) continue
    out.write(line.endsWith('\n') ? line : `${line}\n`)
  }
  return 0
}

/** Bundle daemons log pino JSON lines naming themselves in `component` (init's own lines say `init`). */
export function fromDaemon(line: string, daemon: string): boolean {
  try {
    const parsed = JSON.parse(line) as { component?: unknown; daemon?: unknown }
    return parsed.component === daemon || (parsed.component === undefined && parsed.daemon === daemon)
  } catch {
    return false
  }
}
