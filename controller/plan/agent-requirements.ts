import type { ResolvedAgent } from '../spec/load-spec-tree.js'
import { renderEgressConfig } from './render-egress-config.js'
import { renderGitGateConfig, type GitGateFileCopy } from './render-git-gate-config.js'
import type { SecretRequirement } from './secret-slots.js'

/** What the controller must read before it can render an Agent's config: secrets by reference, and git identity files. */
export interface AgentRequirements {
  secrets: SecretRequirement[]
  identityFiles: GitGateFileCopy[]
}

export function agentRequirements(agent: ResolvedAgent, homeDir: string): AgentRequirements {
  const secrets = [...renderEgressConfig(agent).secrets]
  const remotes = agent.bottle.spec.git?.remotes ?? []
  const gate = remotes.length > 0 ? renderGitGateConfig(remotes, { homeDir }) : undefined
  for (const s of gate?.secrets ?? []) if (!secrets.some((x) => x.slot === s.slot)) secrets.push(s)
  return { secrets, identityFiles: gate?.identityFiles ?? [] }
}
