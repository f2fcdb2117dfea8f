import { AGENT_IMAGE_LAYOUT } from '../../plan/agent-image-layout.js'
import { UsageError } from '../cli-error.js'
import { createLogger, instanceDrivers, type InstanceOptions } from '../instance-context.js'
import { waitForEntrypoint } from '../wait-for-entrypoint.js'

export interface ExecOptions extends InstanceOptions {
  sidecars?: boolean
  user?: string
  workdir?: string
  stdin?: boolean
}

/** `bottle exec AGENT -- CMD...`: runs a command in the agent's box and passes its exit code through. */
export async function runExec(agent: string, argv: string[], options: ExecOptions, out: NodeJS.WritableStream, err: NodeJS.WritableStream): Promise<number> {
  if (argv.length === 0) throw new UsageError('exec needs a command after --, e.g. bottle exec impl -- git status')
  const driver = await instanceDrivers(options, createLogger(options.logLevel ?? 'warn')).driverOf(agent)
  const stdin = options.stdin ? await readStdin() : undefined
  // In the agent's box, commands run as the agent does: its user, its home, its workspace.
  const inAgent = !options.sidecars
  if (inAgent) await waitForEntrypoint(driver, agent)
  const user = options.user ?? (inAgent ? AGENT_IMAGE_LAYOUT.user : undefined)
  const workdir = options.workdir ?? (inAgent ? AGENT_IMAGE_LAYOUT.workspace : undefined)
  const result = await driver.exec(agent, inAgent ? 'agent' : 'sidecars', argv, {
    ...(stdin !== undefined ? { stdin } : {}),
    ...(user ? { user } : {}),
    ...(workdir ? { workdir } : {}),
    ...(inAgent ? { env: { HOME: AGENT_IMAGE_LAYOUT.home } } : {}),
  })
  out.write(result.stdout)
  err.write(result.stderr)
  return result.exitCode
}

async function readStdin(): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
}
