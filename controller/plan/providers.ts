/**
 * The provider table: everything bottle knows about each agent CLI (Claude
 * Code, Codex), one record per provider. Its command and image, the hosts
 * its API token and its host login are injected for, the variables it reads
 * a token from, the files that configure it, the flags that let it work
 * without prompting, and how it resumes a conversation. The one place that
 * knows the difference between them: the plan, attach and tasks read it;
 * which provider an Agent has is decided by effectiveProvider alone.
 */
import { homedir } from 'node:os'
import { join } from 'node:path'
import type { ImageRequest } from './image-request.js'
import { effectiveProvider, PROVIDER_NAMES, type ProviderName } from '../spec/effective-provider.js'
import type { ResolvedAgent } from '../spec/load-spec-tree.js'
import { AGENT_IMAGE_LAYOUT } from './agent-image-layout.js'

export { PROVIDER_NAMES, type ProviderName }

/** Inside the agent: the folder (a bind mount of the Agent's state folder) that keeps session state across recreates. */
export const SESSIONS_DIR = `${AGENT_IMAGE_LAYOUT.home}/.bottle-sessions`

/** Where the entrypoint puts the Agent's prompt (spec.prompt or the .md body). */
export const PROMPT_FILE = `${AGENT_IMAGE_LAYOUT.home}/.bottle/prompt.md`

/** What the agent holds instead of a provider token. Egress strips any header carrying it. */
export const PROVIDER_PLACEHOLDER = 'bottle-placeholder-token-not-a-secret'

export interface McpServer {
  name: string
  url: string
}

/** What a provider's config files depend on. */
export interface ProviderConfigInputs {
  /** Codex lists them in its config.toml; Claude's come from agent/mcp.json (render-supervise-files.ts). */
  mcpServers: readonly McpServer[]
  /** The Agent has an API token (auth.tokenRef): the CLI is told it is logged in with the placeholder. */
  apiToken: boolean
  /** The placeholder login file made from the host's login (auth.forwardHostCredentials). */
  hostLoginAuth?: string
}

/** A file of the Agent's read-only config folder, relative to it (`agent/...`); the box's provisioner applies it. */
export interface ProviderConfigFile {
  path: string
  content: string
}

/** The host user's own login of a CLI, which auth.forwardHostCredentials hands to the bundle. */
export interface ProviderHostLogin {
  /** Hosts the CLI talks to when logged in that way; egress injects the login's access token there. */
  hosts: readonly string[]
  /** Where the CLI keeps the login on the host. */
  authFile(env: NodeJS.ProcessEnv): string
}

export interface Provider {
  name: ProviderName
  command: string
  /** The bundled image that carries this CLI (images/agent-<name>), unless the Bottle names another. */
  image: ImageRequest & { kind: 'agent' }
  /** Hosts the CLI talks to with an API token (auth.tokenRef); egress injects the token there. */
  apiHosts: readonly string[]
  /** Variables the CLI reads an API token from; with auth.tokenRef they hold PROVIDER_PLACEHOLDER. */
  tokenEnv: readonly string[]
  /** Set when the CLI's host login can be forwarded (auth.forwardHostCredentials). */
  hostLogin?: ProviderHostLogin
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
  /** Files that configure the CLI so it starts with nothing to click through (images/agent/bottle-agent-provision.mjs applies them). */
  configFiles(inputs: ProviderConfigInputs): ProviderConfigFile[]
}

const claudeConfigDir = `${SESSIONS_DIR}/claude`
const codexHome = `${SESSIONS_DIR}/codex`

/** Claude Code names a project's transcript folder after its path with every `/` and `.` turned into `-`. */
export function claudeProjectFolder(projectPath: string): string {
  return projectPath.replace(/[/.]/g, '-')
}

const json = (value: unknown): string => JSON.stringify(value, null, 2) + '\n'

/**
 * Merged into .claude.json key by key; `projects` entry by entry, so Claude's
 * own notes about them stay. Only keys Claude Code 2.x keeps: it migrates
 * older ones away at start, which would make every start a change.
 */
function claudeState(): Record<string, unknown> {
  const trusted = { hasTrustDialogAccepted: true }
  return {
    hasCompletedOnboarding: true,
    projects: { [AGENT_IMAGE_LAYOUT.workspace]: trusted, [AGENT_IMAGE_LAYOUT.home]: trusted },
  }
}

/** Merged into the user settings.json: the bypass-permissions warning was accepted (the bottle is the sandbox). */
const CLAUDE_USER_SETTINGS = { skipDangerousModePermissionPrompt: true }

const claude = {
  name: 'claude',
  command: 'claude',
  image: { kind: 'agent', provider: 'claude' },
  apiHosts: ['api.anthropic.com'],
  tokenEnv: ['CLAUDE_CODE_OAUTH_TOKEN'],
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
    return [this.command, ...this.bypassArgs, ...(resume ? ['--continue'] : []), ...(promptFile ? ['--append-system-prompt-file', promptFile] : [])]
  },
  headless(task, { promptFile }) {
    return [this.command, '-p', task, ...this.bypassArgs, ...(promptFile ? ['--append-system-prompt-file', promptFile] : [])]
  },
  configFiles() {
    return [
      // Keys merged into Claude Code's .claude.json: onboarding done, the workspace trusted.
      { path: 'agent/claude.json', content: json(claudeState()) },
      // Merged into its settings.json: the bypass-permissions warning accepted.
      { path: 'agent/claude-settings.json', content: json(CLAUDE_USER_SETTINGS) },
    ]
  },
} satisfies Provider

function tomlString(value: string): string {
  return JSON.stringify(value) // a JSON string is a valid TOML basic string
}

function codexConfig(mcpServers: readonly McpServer[]): string {
  const lines = [
    '# Written by bottle at every start of the agent; edits here do not last.',
    `[projects.${tomlString(AGENT_IMAGE_LAYOUT.workspace)}]`,
    'trust_level = "trusted"',
    // Neither plugin sync (github.com) nor analytics (ab.chatgpt.com) is a route: asking only costs retries.
    '',
    '[features]',
    'plugins = false',
    '',
    '[analytics]',
    'enabled = false',
  ]
  for (const server of mcpServers) lines.push('', `[mcp_servers.${tomlString(server.name)}]`, `url = ${tomlString(server.url)}`)
  return lines.join('\n') + '\n'
}

const codex = {
  name: 'codex',
  command: 'codex',
  image: { kind: 'agent', provider: 'codex' },
  apiHosts: ['api.openai.com'],
  tokenEnv: ['OPENAI_API_KEY', 'CODEX_API_KEY'],
  hostLogin: {
    hosts: ['api.openai.com', 'chatgpt.com'],
    authFile(env) {
      const home = env.CODEX_HOME?.trim()
      if (home) return join(home.startsWith('~/') ? join(env.HOME ?? homedir(), home.slice(2)) : home, 'auth.json')
      return join(env.HOME ?? homedir(), '.codex', 'auth.json')
    },
  },
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
    if (resume) return [this.command, 'resume', '--last', ...this.bypassArgs]
    return [this.command, ...this.bypassArgs, ...(promptFile ? [`Read and follow the instructions in ${promptFile}.`] : [])]
  },
  headless(task, { promptFile }) {
    const prompt = promptFile ? `Read and follow the instructions in ${promptFile}.\n\n${task}` : task
    return [this.command, 'exec', ...this.bypassArgs, '--skip-git-repo-check', prompt]
  },
  configFiles({ mcpServers, apiToken, hostLoginAuth }) {
    const files = [{ path: 'agent/codex-config.toml', content: codexConfig(mcpServers) }]
    // A placeholder auth.json, never a real token: what `codex login --with-api-key` writes, or the forwarded login's shape.
    const auth = hostLoginAuth ?? (apiToken ? json({ auth_mode: 'apikey', OPENAI_API_KEY: PROVIDER_PLACEHOLDER }) : undefined)
    if (auth !== undefined) files.push({ path: 'agent/codex-auth.json', content: auth })
    return files
  },
} satisfies Provider

export const PROVIDERS = { claude, codex } as const satisfies Readonly<Record<ProviderName, Provider>>

/** The provider record of an Agent (see effectiveProvider for which one). */
export function agentProvider(agent: ResolvedAgent): Provider {
  return PROVIDERS[effectiveProvider(agent.spec, agent.bottle.spec)]
}
