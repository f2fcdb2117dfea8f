/**
 * What `bottle attach` runs in the agent's box: the provider's interactive
 * CLI, continuing the last conversation when there is one (unless the user
 * asks for a new one), or a command the user named after `--`.
 */
import { AGENT_IMAGE_LAYOUT } from '../plan/agent-image-layout.js'
import { PROMPT_FILE, providerRuntime, type ProviderName } from '../plan/provider-runtime.js'
import type { RuntimeDriver } from '../runtime/driver.js'

export type SessionMode = 'continue' | 'new' | 'command'

export interface SessionCommand {
  argv: string[]
  /** Runs as the agent user, in its workspace, with this environment. */
  user: string
  workdir: string
  env: Record<string, string>
  mode: SessionMode
}

export type SessionRequest =
  | { command: string[] }
  | { provider: ProviderName; fresh: boolean }

export async function chooseSessionCommand(driver: RuntimeDriver, agent: string, request: SessionRequest): Promise<SessionCommand> {
  const asAgent = { user: AGENT_IMAGE_LAYOUT.user, workdir: AGENT_IMAGE_LAYOUT.workspace }
  if ('command' in request) return { ...asAgent, argv: request.command, env: { HOME: AGENT_IMAGE_LAYOUT.home }, mode: 'command' }

  const runtime = providerRuntime(request.provider)
  // The provider's config and session folders come from its env; probes see what the session will.
  const env = { HOME: AGENT_IMAGE_LAYOUT.home, ...runtime.env }
  const probe = async (argv: string[]): Promise<boolean> => (await driver.exec(agent, 'agent', argv, { ...asAgent, env })).exitCode === 0
  const resume = !request.fresh && (await probe(['sh', '-c', runtime.hasSessionTest]))
  const hasPrompt = await probe(['test', '-f', PROMPT_FILE])
  return {
    ...asAgent,
    argv: runtime.interactive({ resume, ...(hasPrompt ? { promptFile: PROMPT_FILE } : {}) }),
    env,
    mode: resume ? 'continue' : 'new',
  }
}
