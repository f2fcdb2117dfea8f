import type { ResolvedAgent } from '../spec/load-spec-tree.js'
import { renderEgressConfig, type RenderedEgress } from './render-egress-config.js'
import { renderGitGateConfig, type GitGateFileCopy, type RenderedGitGate } from './render-git-gate-config.js'
import type { SecretRequirement } from './secret-slots.js'

/**
 * The bundle's configs for one Agent, rendered once per reconcile (or diff):
 * the slots and files they name are what the controller must read before it
 * can write them, and the same rendering then becomes the files.
 */
export interface SidecarConfigs {
  egress: RenderedEgress
  /** Absent when the Bottle has no git remotes (the bundle runs no gate). */
  gate?: RenderedGitGate
  /** Every secret either config needs, each slot once (egress's first). */
  secrets: SecretRequirement[]
  /** The git identity files the gate pushes with. */
  identityFiles: GitGateFileCopy[]
}

export interface SidecarConfigOptions {
  /** What `~/` means in identityFile paths (the controller user's home). */
  homeDir: string
  /** Extra CA certificates (PEM) the egress proxy trusts for origins: the operator's choice, not the agent's. */
  upstreamCaCerts?: readonly string[]
}

export function renderSidecarConfigs(agent: ResolvedAgent, options: SidecarConfigOptions): SidecarConfigs {
  const egress = renderEgressConfig(agent, options.upstreamCaCerts ? { upstreamCaCerts: options.upstreamCaCerts } : {})
  const remotes = agent.bottle.spec.git?.remotes ?? []
  const gate = remotes.length > 0 ? renderGitGateConfig(remotes, { homeDir: options.homeDir }) : undefined
  const secrets = [...egress.secrets, ...(gate?.secrets ?? []).filter((g) => !egress.secrets.some((e) => e.slot === g.slot))]
  return { egress, ...(gate ? { gate } : {}), secrets, identityFiles: gate?.identityFiles ?? [] }
}
