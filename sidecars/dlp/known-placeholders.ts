/**
 * Values that stand in for a secret rather than being one: template
 * references, masks, tutorial filler, and documentation values that are
 * public by design (AWS's `...EXAMPLE` keys, jwt.io's sample token). The
 * credential matcher drops every match this accepts, for every rule, so a
 * README or a spec that says `password: ${DB_PASSWORD}` or
 * `ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx` is not reported as a leak.
 *
 * Besides bottle's own list, this holds the general non-secret facts of
 * gitleaks' default config (commit b58d3f1, MIT, see
 * `catalog/LICENSE-gitleaks`): its global allowlist (template syntaxes,
 * single-character runs, true/false/null), its AWS `EXAMPLE` allowlist, its
 * curl and NuGet placeholder passwords and its list of public Google API
 * keys.
 *
 * Every check here must stay rare on random tokens: a word that a random
 * token of a few hundred characters could hold by chance would cost recall.
 * Words are 6+ characters or carry a separator; runs are 8+ characters
 * (4+ for `*`, which no token alphabet holds).
 */
import { createHash } from 'node:crypto'

const TEMPLATE_REFERENCE = [
  /^\$\{.*\}?$/s, // ${VAR}, ${{ secrets.X }}
  /^\$\(.*\)?$/s, // $(command)
  /^\$[A-Za-z_][A-Za-z0-9_]*$/, // $VAR
  /^\$\d+$/, // $1
  /^%[A-Za-z_][A-Za-z0-9_]*%$/, // %VAR%
  /^%[+\-# 0]?[bcdeEfFgGoOpqstTUvxX]$/, // printf verbs
  /^\{\{.*\}\}$/s, // {{ var }}
  /^\{\d{0,2}\}$/, // {0}
  /^@(?:[A-Z_]+|[a-z_]+)@$/, // @VAR@ (autoconf, Maven resource filtering)
  /^<[^<>]*>$/, // <your-token>
  /^\[[^[\]]*\]$/, // [token]
]

/**
 * Filler that marks a value as an example rather than a credential,
 * anywhere in it. `your_...` needs the noun after it (`YOUR_API_KEY`,
 * `your-token-here`): `YOUR_` alone turns up in one random base64url token
 * in a hundred thousand.
 */
const FILLER =
  /(?:changeme|change_me|change-me|changeit|placeholder|redacted|example|your[_-](?:[a-z]+[_-]){0,3}(?:key|token|secret|password|pass|id|here)|your(?:api)?(?:key|token|secret|password)|[_-]here$|replace[_-]?me|notasecret|not[_-]a[_-]secret|abcdefgh|<|>)/i

/** Masks: runs that no random token holds (`ghp_xxxxxxxx...`, `********`, `sk-abc…xyz`). */
const MASK_RUN = /[xX]{8}|0{8}|\*{4}|#{4}|•{3}|…/

/** Whole values that are a word, not a secret: gitleaks' global and curl allowlists. */
const WORD_VALUE = /^(?:true|false|null|nil|none|undefined|password|passwd|pwd|secret|token|test|changeit)$/i

/** System paths (gitleaks' global allowlist): a file a value points to, not a value. */
const SYSTEM_PATH = /^(?:\/Users\/[A-Za-z0-9]+|\/(?:bin|etc|home|opt|tmp|usr|var))\/[\w ./-]+$/

/**
 * SHA-256 of documentation values that have a real token's shape and are
 * public on purpose. Hashed so that this file holds nothing a secret
 * scanner would flag.
 */
const PUBLIC_VALUES = new Set([
  // jwt.io's sample token (HS256, "John Doe", secret "your-256-bit-secret").
  '7f75367e7881255134e1375e723d1dea8ad5f6a4fdb79d938df1f1754a830606',
  // Stripe's documentation test key.
  '2cafc0970149a84f3b9e62eaf169f36f59907a3b3e31f7b82e68c69cd27f7326',
  // The Azure storage emulator's (Azurite's) account key for devstoreaccount1.
  '0011cc25eb4320717494d2703e8cba85743e71b500283c21c8b88147992f9059',
  // gitleaks' global stopword UUID.
  '7f39f457679583387ececc66df37c07add0f10c3aaf66bc3667ee034ee2a0456',
  // NuGet's documentation passwords for packageSourceCredentials.
  'dba72c00f41f4e4c435e2491a5e1ce0140c7b5a6a498dc4847396b5e6368970c',
  'a0702bc91d699f600970f4dc4992b13ede1a29d49fa0942dd4bed2b5e4b1016e',
  // Google API keys that gitleaks lists as public (shipped in open-source apps and samples).
  'f56e323494a6ffc2064e7a955908957d84f0755e5f975dabd64328d0359a8f7c',
  '2037abcaffb2b77785da716cf7ccff4ff4d00c4ea930db0167b7d71f50af7eb4',
  '3f370c9dd8225c63b5c77de1f785edc9712958f18bb612d5fa2e0ae33aeca682',
  'e4a5542bb7fd7b67e943c71ad29c34b5972c9840597e7eda53e666f44d5da0b9',
  'a19f89ab3555eac10c40741f6df79ecf0935998f15569f8db9d67bce0181fff6',
  '0b476bdf9acf2123d547b5ae76f1e59884d8ec9553ee0c47e9f31fd4768f3f3c',
  'eb540d2b6ee2a0a47c5779bc8a0141784c6b753840d4c6f4e2428a6e86e9e0b1',
  '37f8f09bdf12c2f2eae4ead7273a62ddb0c23459cbf902892f282b57f7ed6619',
  '8731261cb72d86267a32a532ebd3df429e2144e5e4ced7e13568bc9e6c8fb1b1',
  '49f777db995e8260da7ca9ffdf0c08d66f0453e97ec967018baf2cdfe3b582d0',
  '27a9a42931dff7eb2f8434e20a9bce976ea364e7bee49187f19d5cfeca9c7045',
  'dc0fcf046c61640cbd1e8b999ada3262d722c2ca4bf42dceac999020ffdbb614',
  '4c98242dcadc8b29005c6b4aad526552d5ea1842149154c0694adeec75847583',
  'ea9bb1082cf95663f5faca23b8b15ef2aa0fce0a5c6df9c32dcb85b2e0a4513d',
  '3a8b61d0f636b007840c0d40ba12bcf48465dc054cdc1a68704a33521d84b665',
  'a6c814bc555ae62c7bd8b58ec07bf559c7ed3a009976a1e0acc9cef0d4473b41',
])
/** Lengths of the public values, so most matches skip the hash. */
const PUBLIC_VALUE_LENGTHS = new Set([155, 32, 88, 36, 11, 14, 39])

/** A value is a mask when one character makes up nearly all of it: `********`, `xxxxxxxx`. */
function isMask(value: string): boolean {
  const counts = new Map<string, number>()
  let top = 0
  for (const ch of value) {
    const next = (counts.get(ch) ?? 0) + 1
    counts.set(ch, next)
    if (next > top) top = next
  }
  return top >= value.length * 0.8
}

function isPublicValue(value: string): boolean {
  return PUBLIC_VALUE_LENGTHS.has(value.length) && PUBLIC_VALUES.has(createHash('sha256').update(value).digest('hex'))
}

/** A reference, a mask, filler, a word, or a documented public value: never a leaked secret, whatever rule matched it. */
export function isKnownPlaceholder(value: string): boolean {
  if (value.length === 0) return true
  if (TEMPLATE_REFERENCE.some((re) => re.test(value))) return true
  if (FILLER.test(value) || MASK_RUN.test(value) || WORD_VALUE.test(value) || SYSTEM_PATH.test(value)) return true
  return isMask(value) || isPublicValue(value)
}
