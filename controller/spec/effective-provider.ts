import type { AgentSpec, BottleSpec } from './generated/spec-types.js'

/** The agent CLIs bottle knows (the `provider` enum of crds/agent.yaml and crds/bottle.yaml). */
export type ProviderName = NonNullable<AgentSpec['provider']>

export const PROVIDER_NAMES: readonly ProviderName[] = ['claude', 'codex']

export function isProviderName(value: unknown): value is ProviderName {
  return PROVIDER_NAMES.includes(value as ProviderName)
}

/**
 * The CLI an Agent runs: its own `provider`, else its Bottle's
 * `image.provider`, else Claude Code. The only place this default is
 * decided, so the plan, validation, attach, get and describe never disagree
 * about which CLI an Agent has.
 */
export function effectiveProvider(agent: Pick<AgentSpec, 'provider'>, bottle: Pick<BottleSpec, 'image'> | undefined): ProviderName {
  return agent.provider ?? bottle?.image?.provider ?? 'claude'
}
