/**
 * What each agent CLI needs from bottle: the command, the flags that let it
 * work without prompting, how it resumes a conversation, how it takes the
 * Agent's prompt, and where it keeps its sessions. The one place that knows
 * the difference between Claude Code and Codex; attach, tasks and
 * provisioning all read it.
 */
import type { ResolvedAgent } from '../spec/load-spec-tree.js'
import { AGENT_IMAGE_LAYOUT } from './agent-image-layout.js'

export type ProviderName = 'claude' | 'codex'

export const PROVIDERS: readonly ProviderName[] = ['claude', 'codex']

/** Inside the agent: the folder (a bind mount of the Agent's state folder) that keeps session state across recreates. */
export const SESSIONS_DIR = `${AGENT_IMAGE_LAYOUT.home}/.bottle-sessions`

/** Where the entrypoint puts the Agent's prompt (spec.prompt or the .md body). */
export const PROMPT_FILE = `${AGENT_IMAGE_LAYOUT.home}/.bottle/prompt.md`

export interface ProviderRuntime {
  name: ProviderName
  command: string
  /** Lets the CLI act without asking: the bottle is the sandbox. */
  bypassArgs: readonly string[]
  /** Environment the CLI reads its config and session folder from (both under SESSIONS_DIR). */
  env: Readonly<Record<string, string>>
  /** Folder that holds the CLI's config and transcripts. */
  configDir: string
  /**
   * A POSIX shell test (run as the agent, in the workspace) that succeeds when
   * there is a conversation to resume.
   */
  hasSessionTest: string
  /** argv of an interactive session. */
  interactive(options: { resume: boolean; promptFile?: string }): string[]
  /** argv of a headless run of `task`. */
  headless(task: string, options: { promptFile?: string }): string[]
}

const claudeConfigDir = `${SESSIONS_DIR}/claude`
const codexHome = `${SESSIONS_DIR}/codex`

/** Claude Code names a project's transcript folder after its path with every `/` and `.` turned into `-`. */
export function claudeProjectFolder(projectPath: string): string {
  return projectPath.replace(/[/.]/g, '-')
}

const claude: ProviderRuntime = {
  name: 'claude',
  command: 'claude',
  bypassArgs: ['--dangerously-skip-permissions'],
  env: {
    CLAUDE_CONFIG_DIR: claudeConfigDir,
    // No telemetry, error reports or update checks: none of those hosts are routes.
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
    DISABLE_ERROR_REPORTING: '1',
    DISABLE_AUTOUPDATER: '1',
  },
  configDir: claudeConfigDir,
  hasSessionTest: `ls "${claudeConfigDir}/projects/${claudeProjectFolder(AGENT_IMAGE_LAYOUT.workspace)}/"*.jsonl >/dev/null 2>&1`,
  interactive({ resume, promptFile }) {
    return ['claude', ...this.bypassArgs, ...(resume ? ['--continue'] : []), ...(promptFile ? ['--append-system-prompt-file', promptFile] : [])]
  },
  headless(task, { promptFile }) {
    return ['claude', '-p', task, ...this.bypassArgs, ...(promptFile ? ['--append-system-prompt-file', promptFile] : [])]
  },
}

const codex: ProviderRuntime = {
  name: 'codex',
  command: 'codex',
  bypassArgs: ['--dangerously-bypass-approvals-and-sandbox'],
  env: {
    CODEX_HOME: codexHome,
    // Codex reads its own CA variable; the system bundle has the Agent's CA in it.
    CODEX_CA_CERTIFICATE: AGENT_IMAGE_LAYOUT.caBundle,
  },
  configDir: codexHome,
  hasSessionTest: `[ -n "$(find "${codexHome}/sessions" -type f -name '*.jsonl' 2>/dev/null | head -n 1)" ]`,
  interactive({ resume, promptFile }) {
    // Codex has no system-prompt file flag: a new session starts by reading it.
    if (resume) return ['codex', 'resume', '--last', ...this.bypassArgs]
    return ['codex', ...this.bypassArgs, ...(promptFile ? [`Read and follow the instructions in ${promptFile}.`] : [])]
  },
  headless(task, { promptFile }) {
    const prompt = promptFile ? `Read and follow the instructions in ${promptFile}.\n\n${task}` : task
    return ['codex', 'exec', ...this.bypassArgs, '--skip-git-repo-check', prompt]
  },
}

const RUNTIMES: Record<ProviderName, ProviderRuntime> = { claude, codex }

export function providerRuntime(name: ProviderName | undefined): ProviderRuntime {
  return RUNTIMES[name ?? 'claude']
}

/** The CLI an Agent runs: its own choice, else its Bottle's image, else Claude Code. */
export function agentProvider(agent: ResolvedAgent): ProviderName {
  return agent.spec.provider ?? agent.bottle.spec.image?.provider ?? 'claude'
}
