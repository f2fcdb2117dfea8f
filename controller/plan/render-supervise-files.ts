/**
 * The files the plan renders for an Agent whose Bottle has
 * `supervise: {enabled: true}` (none otherwise):
 *
 *   sidecars/supervise/config.json  who the agent is, its Bottle and its
 *                                   proposal limits; the daemon reads it on
 *                                   every call, so a change needs no signal.
 *   agent/mcp.json                  the MCP server entry the agent's
 *                                   entrypoint merges into ~/.claude.json
 *                                   (`mcpServers.supervise`), read at start.
 *
 * decisions.json, beside config.json, is not rendered here: it depends on
 * the proposals folder and the intake (proposal-intake.ts) writes it.
 */
import type { RenderedFile } from './rendered-file.js'
import type { ResolvedAgent } from '../spec/load-spec-tree.js'
import { DEFAULT_LIMITS, superviseConfigSchema, type SuperviseConfig } from '../../sidecars/supervise/supervise-config.js'
import { SUPERVISE_CONFIG_PATH } from '../../sidecars/shared/bundle-contract.js'

/** The proposal limits as the supervise daemon reads them (proposals/rate-limits.ts enforces the same shape). */
type ProposalLimits = SuperviseConfig['limits']

/** The name Claude Code lists the server under, and the URL the agent reaches it at. */
export const SUPERVISE_MCP_NAME = 'supervise'

export function renderSuperviseConfig(agent: ResolvedAgent, limits: ProposalLimits = DEFAULT_LIMITS): RenderedFile {
  const config: SuperviseConfig = superviseConfigSchema.parse({ version: 1, agent: agent.name, bottle: agent.bottle.name, limits: { ...limits } })
  return { path: SUPERVISE_CONFIG_PATH, content: JSON.stringify(config, null, 2) + '\n', mode: 0o600, secret: false, onChange: 'none' }
}

/** `{"mcpServers": {"supervise": {"type": "http", "url": ...}}}`, world-readable (the entrypoint reads it before dropping to the agent user). */
export function renderAgentMcpConfig(url: string): RenderedFile {
  const content = { mcpServers: { [SUPERVISE_MCP_NAME]: { type: 'http', url } } }
  return { path: 'agent/mcp.json', content: JSON.stringify(content, null, 2) + '\n', mode: 0o644, secret: false, onChange: 'none' }
}

/** Both files when the Agent's Bottle enables supervise; nothing otherwise. */
export function superviseFiles(agent: ResolvedAgent, url: string, limits: ProposalLimits = DEFAULT_LIMITS): RenderedFile[] {
  if (!agent.bottle.spec.supervise?.enabled) return []
  return [renderSuperviseConfig(agent, limits), renderAgentMcpConfig(url)]
}
