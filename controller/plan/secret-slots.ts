import type { TokenRef } from '../spec/generated/spec-types.js'
import type { ProviderName } from '../spec/effective-provider.js'
import { digest } from '../spec/spec-hash.js'

/** A secret the rendered config needs, named by its reference (never by value). */
/** Where a secret comes from: a reference in a spec, or the host user's own CLI login. */
export type SecretSource = TokenRef | HostLogin

/** The host user's own login of the Agent's CLI (auth.forwardHostCredentials), e.g. the access token in ~/.codex/auth.json. */
export interface HostLogin {
  hostLogin: ProviderName
}

export function isHostLogin(ref: SecretSource): ref is HostLogin {
  return 'hostLogin' in ref
}

export interface SecretRequirement {
  slot: string
  ref: SecretSource
  /** What needs it, for messages: `route api.github.com`, `provider claude`. */
  purpose: string
}

/** The slot a reference is stored under in secrets.json: readable, stable, and no secret itself. */
export function slotFor(ref: SecretSource): string {
  if (isHostLogin(ref)) return `host-login.${ref.hostLogin}`
  if (ref.env !== undefined) return `env.${ref.env}`
  return `file.${digest(ref.file ?? '', 12)}`
}

/** How a reference reads in status and logs. */
export function describeRef(ref: SecretSource): string {
  if (isHostLogin(ref)) return `${ref.hostLogin} host login`
  return ref.env !== undefined ? `env:${ref.env}` : `file:${ref.file ?? ''}`
}

/** Resolved secret values by slot. Only the reconciler holds one; it is rendered to secrets.json (0600) and nowhere else. */
export type SecretValues = ReadonlyMap<string, string>
