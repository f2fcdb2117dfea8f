import { effectiveProvider, type ProviderName } from '../spec/effective-provider.js'
import type { SpecTree } from '../spec/load-spec-tree.js'

/**
 * The provider of a listed Agent, as `get`, `describe` and `attach` show it:
 * the one the plan gives it. An Agent whose spec is not valid now has no
 * spec to read it from (its last good box may still run), so it reads as
 * the default.
 */
export function listedAgentProvider(tree: SpecTree, agent: { name: string; file: string }): ProviderName {
  const resolved = tree.agents.get(agent.name)
  if (resolved && resolved.file === agent.file) return effectiveProvider(resolved.spec, resolved.bottle.spec)
  return effectiveProvider({}, undefined)
}
