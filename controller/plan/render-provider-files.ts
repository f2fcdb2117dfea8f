/**
 * The files that set up the agent's CLI, rendered on the host into the
 * Agent's read-only config folder (`agent/`). The box's provisioner
 * (images/agent/bottle-agent-provision.mjs) applies them at every start:
 *
 *   agent/prompt.md           spec.prompt (or the .md body), copied to PROMPT_FILE.
 *   agent/claude.json         keys merged into Claude Code's .claude.json:
 *                             onboarding done, the workspace trusted.
 *   agent/claude-settings.json  merged into its settings.json: the
 *                             bypass-permissions warning accepted.
 *   agent/codex-config.toml   Codex's config.toml: the workspace trusted, the MCP servers.
 *   agent/codex-auth.json     a placeholder auth.json (never a real token).
 *   agent/skills/<name>/...   the spec repo's skills/<name>/, copied into the CLI's skills folder.
 *
 * Everything here is world-readable (0644): root in the box has no
 * CAP_DAC_OVERRIDE, and nothing here is secret.
 */
import type { ResolvedAgent } from '../spec/load-spec-tree.js'
import { AGENT_IMAGE_LAYOUT } from './agent-image-layout.js'
import type { RenderedFile } from './rendered-file.js'
import { type ProviderName } from './provider-runtime.js'
import { PROVIDER_PLACEHOLDER } from './render-egress-config.js'

export interface McpServer {
  name: string
  url: string
}

export interface ProviderFileInputs {
  agent: ResolvedAgent
  provider: ProviderName
  /** Codex lists them in config.toml; Claude's come from agent/mcp.json (render-supervise-files.ts). */
  mcpServers: readonly McpServer[]
  /** The placeholder auth.json Codex gets when it forwards the host's login (codex-host-credentials.ts). */
  codexPlaceholderAuth?: string
  /** Files of each skill the Agent names, relative to its skill folder. */
  skills: ReadonlyMap<string, ReadonlyMap<string, string>>
}

const startFile = (path: string, content: string): RenderedFile => ({ path, content, mode: 0o644, secret: false, onChange: 'none' })

export function renderProviderFiles(inputs: ProviderFileInputs): RenderedFile[] {
  const { agent, provider } = inputs
  const files: RenderedFile[] = []
  const prompt = agent.spec.prompt?.trim()
  if (prompt) files.push(startFile('agent/prompt.md', prompt + '\n'))
  if (provider === 'claude') {
    files.push(startFile('agent/claude.json', JSON.stringify(claudeState(), null, 2) + '\n'))
    files.push(startFile('agent/claude-settings.json', JSON.stringify(CLAUDE_USER_SETTINGS, null, 2) + '\n'))
  }
  if (provider === 'codex') {
    files.push(startFile('agent/codex-config.toml', codexConfig(inputs.mcpServers)))
    const auth = inputs.codexPlaceholderAuth ?? (agent.spec.auth?.tokenRef ? codexApiKeyAuth() : undefined)
    if (auth) files.push(startFile('agent/codex-auth.json', auth))
  }
  for (const [skill, skillFiles] of [...inputs.skills].sort(([a], [b]) => (a < b ? -1 : 1))) {
    for (const [path, content] of [...skillFiles].sort(([a], [b]) => (a < b ? -1 : 1))) files.push(startFile(`agent/skills/${skill}/${path}`, content))
  }
  return files
}

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

/** What `codex login --with-api-key` writes, holding the placeholder: egress swaps in the real key. */
function codexApiKeyAuth(): string {
  return JSON.stringify({ auth_mode: 'apikey', OPENAI_API_KEY: PROVIDER_PLACEHOLDER }, null, 2) + '\n'
}
