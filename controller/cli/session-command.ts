/**
 * What `bottle attach` runs in the agent's box: the provider's interactive
 * CLI, continuing the last conversation when there is one (unless the user
 * asks for a new one), or a command the user named after `--`.
 *
 * The provider's CLI runs inside the box's own tmux (an invisible one:
 * images/agent/bottle-agent-tmux.conf), so a detach leaves it working and the
 * next attach returns to the very same process. Without a live session it
 * starts one, continuing the last conversation from its transcript. A box
 * without tmux (a custom image) runs the CLI directly.
 */
import { AGENT_IMAGE_LAYOUT } from '../plan/agent-image-layout.js'
import { PROMPT_FILE, PROVIDERS, type ProviderName } from '../plan/providers.js'
import type { RuntimeDriver } from '../runtime/driver.js'

export type SessionMode = 'reattach' | 'continue' | 'new' | 'command'

/** The in-box tmux: its own socket, so it never meets a tmux the agent runs itself. */
export const LIVE_SESSION = { socket: 'bottle', name: 'agent', config: '/usr/local/lib/bottle/bottle-agent-tmux.conf' } as const

export function liveSessionTmux(...args: string[]): string[] {
  return ['tmux', '-L', LIVE_SESSION.socket, '-f', LIVE_SESSION.config, ...args]
}

/**
 * Ends the live session: tmux hangs up its CLI, which saves its transcript and
 * exits; one that is still there after 5 s gets a TERM, so --new never leaves
 * two CLIs writing one conversation.
 */
const endLiveSession = [
  `pid=$(${liveSessionTmux('list-panes', '-t', LIVE_SESSION.name, '-F', "'#{pane_pid}'").join(' ')}) || exit 1`,
  `${liveSessionTmux('kill-session', '-t', LIVE_SESSION.name).join(' ')} || exit 1`,
  'for i in $(seq 50); do kill -0 "$pid" 2>/dev/null || exit 0; sleep 0.1; done',
  'kill -TERM "$pid" 2>/dev/null; exit 0',
].join('; ')

export interface SessionCommand {
  argv: string[]
  /** Runs in the box's tmux: a detach leaves it running. */
  live: boolean
  /** A live session that --new ended to make room for the new one. */
  endedLive?: boolean
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
  if ('command' in request) return { ...asAgent, argv: request.command, env: { HOME: AGENT_IMAGE_LAYOUT.home }, mode: 'command', live: false }

  const provider = PROVIDERS[request.provider]
  // The provider's config and session folders come from its env; probes see what the session will.
  const env = { HOME: AGENT_IMAGE_LAYOUT.home, ...provider.env }
  const probe = async (argv: string[]): Promise<boolean> => (await driver.exec(agent, 'agent', argv, { ...asAgent, env })).exitCode === 0
  const hasTmux = await probe(['sh', '-c', `command -v tmux >/dev/null && test -f ${LIVE_SESSION.config}`])
  let endedLive = false
  if (hasTmux && (await probe(liveSessionTmux('has-session', '-t', LIVE_SESSION.name)))) {
    // -d detaches a client left behind by a dropped connection, so the window takes this terminal's size.
    if (!request.fresh) return { ...asAgent, argv: liveSessionTmux('attach-session', '-d', '-t', LIVE_SESSION.name), env, mode: 'reattach', live: true }
    // --new: the running CLI is hung up (it keeps its transcript) to make room for a new conversation.
    endedLive = await probe(['sh', '-c', endLiveSession])
  }
  const resume = !request.fresh && (await probe(['sh', '-c', provider.hasSessionTest]))
  const hasPrompt = await probe(['test', '-f', PROMPT_FILE])
  const cli = provider.interactive({ resume, ...(hasPrompt ? { promptFile: PROMPT_FILE } : {}) })
  return {
    ...asAgent,
    argv: hasTmux ? liveSessionTmux('new-session', '-s', LIVE_SESSION.name, '--', ...cli) : cli,
    env,
    mode: resume ? 'continue' : 'new',
    live: hasTmux,
    ...(endedLive ? { endedLive } : {}),
  }
}
