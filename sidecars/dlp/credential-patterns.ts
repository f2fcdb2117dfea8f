/**
 * Credential formats the engine knows by shape. The spec loader rejects any
 * spec value these match ("secrets must be references"), and the proxy and
 * git gate block them, so every rule leans towards precision: a checksum or
 * a structural check where the format has one, word boundaries everywhere,
 * entropy floors, context (the provider's name assigned a value) for formats
 * that are plain alphanumeric strings, and placeholders dropped for every
 * rule (`known-placeholders.ts`).
 *
 * The catalog lives in `catalog/`, one file per provider family. It covers
 * every provider family of gitleaks' default config (commit b58d3f1, MIT, see
 * `catalog/LICENSE-gitleaks`), whose formats were taken as facts; which
 * bottle rule covers which gitleaks rule is in `catalog/gitleaks-coverage.ts`.
 *
 * Every rule has keywords (the one exception says why) and a truthful
 * `keywordLead`: a rule without one opens every match with a keyword, as
 * the catalog test checks on random samples. Only the two rules keyed on
 * everyday words (`pass`, `token`, `://`) are anchored (`startsWithKeyword`):
 * the matcher clears each anchored rule's start list on every call, about
 * 27 ns per rule, which on small bodies outweighs what anchoring saves for
 * rules whose keywords are rare. The others run once over a text that holds
 * one of their keywords.
 *
 * Rule ids are stable kebab-case names: callers log and match on them.
 */
import { AI_PATTERNS } from './catalog/ai.js'
import { CLOUD_PATTERNS } from './catalog/cloud.js'
import { GENERIC_PATTERNS } from './catalog/generic.js'
import { INFRA_PATTERNS } from './catalog/infra.js'
import { KEY_PATTERNS } from './catalog/keys.js'
import { MESSAGING_PATTERNS } from './catalog/messaging.js'
import { OBSERVABILITY_PATTERNS } from './catalog/observability.js'
import { PACKAGE_PATTERNS } from './catalog/packages.js'
import { PAYMENT_PATTERNS } from './catalog/payments.js'
import { SAAS_PATTERNS } from './catalog/saas.js'
import { SOCIAL_PATTERNS } from './catalog/social.js'
import { SOURCE_CONTROL_PATTERNS } from './catalog/source-control.js'
import { compileCredentialMatcher } from './credential-matcher.js'
import type { CredentialMatch, CredentialPattern } from './types.js'

/**
 * Providers' own formats first, key material next, and the context rules
 * for no provider last: where one value matches several rules, callers that
 * report only the first (the spec loader) name the most specific one.
 */
export const CREDENTIAL_PATTERNS: readonly CredentialPattern[] = [
  ...CLOUD_PATTERNS,
  ...SOURCE_CONTROL_PATTERNS,
  ...AI_PATTERNS,
  ...MESSAGING_PATTERNS,
  ...PAYMENT_PATTERNS,
  ...PACKAGE_PATTERNS,
  ...INFRA_PATTERNS,
  ...OBSERVABILITY_PATTERNS,
  ...SAAS_PATTERNS,
  ...SOCIAL_PATTERNS,
  ...KEY_PATTERNS,
  ...GENERIC_PATTERNS,
]

/** Every credential of a known format in `text`, with its offset and length (never its value). */
export const findCredentials: (text: string) => CredentialMatch[] = compileCredentialMatcher(CREDENTIAL_PATTERNS)
