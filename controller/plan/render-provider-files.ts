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
 * The CLI's own files come from its record in the provider table (providers.ts).
 * Everything here is world-readable (0644): root in the box has no
 * CAP_DAC_OVERRIDE, and nothing here is secret.
 */
import type { ResolvedAgent } from '../spec/load-spec-tree.js'
import type { RenderedFile } from './rendered-file.js'
import type { McpServer, Provider } from './providers.js'

export interface ProviderFileInputs {
  agent: ResolvedAgent
  provider: Provider
  mcpServers: readonly McpServer[]
  /** The placeholder login file the CLI gets when it forwards the host's login (codex-host-credentials.ts). */
  hostLoginAuth?: string
  /** Files of each skill the Agent names, relative to its skill folder. */
  skills: ReadonlyMap<string, ReadonlyMap<string, string>>
}

const startFile = (path: string, content: string): RenderedFile => ({ path, content, mode: 0o644, secret: false, onChange: 'none' })

export function renderProviderFiles(inputs: ProviderFileInputs): RenderedFile[] {
  const { agent, provider } = inputs
  const files: RenderedFile[] = []
  const prompt = agent.spec.prompt?.trim()
  if (prompt) files.push(startFile('agent/prompt.md', prompt + '\n'))
  const configFiles = provider.configFiles({
    mcpServers: inputs.mcpServers,
    apiToken: agent.spec.auth?.tokenRef !== undefined,
    ...(inputs.hostLoginAuth !== undefined ? { hostLoginAuth: inputs.hostLoginAuth } : {}),
  })
  for (const file of configFiles) files.push(startFile(file.path, file.content))
  for (const [skill, skillFiles] of [...inputs.skills].sort(([a], [b]) => (a < b ? -1 : 1))) {
    for (const [path, content] of [...skillFiles].sort(([a], [b]) => (a < b ? -1 : 1))) files.push(startFile(`agent/skills/${skill}/${path}`, content))
  }
  return files
}
