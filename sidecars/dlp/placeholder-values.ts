/**
 * Values that stand in for a secret rather than being one: template
 * references, masks and tutorial filler. Context rules (`password=...`,
 * `user:pass@host`) consult this so that `password: ${DB_PASSWORD}` in a
 * spec or a README is not reported as a leak.
 */

const TEMPLATE_REFERENCE = [
  /^\$\{.*\}?$/s, // ${VAR}, ${{ secrets.X }}
  /^\$\(.*\)?$/s, // $(command)
  /^\$[A-Za-z_][A-Za-z0-9_]*$/, // $VAR
  /^%[A-Za-z_][A-Za-z0-9_]*%$/, // %VAR%
  /^%[sdv]$/, // printf verbs
  /^\{\{.*\}\}$/s, // {{ var }}
  /^<[^<>]*>$/, // <your-token>
  /^\[[^[\]]*\]$/, // [token]
]

/** Filler words that mark a value as an example rather than a credential. */
const FILLER = /(?:changeme|change_me|change-me|placeholder|redacted|example|dummy|your[_-]|_here|replace[_-]?me|notasecret|not[_-]a[_-]secret|<|>)/i

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

/** A reference or a mask: never a literal secret, whatever context it sits in. */
export function isTemplateOrMask(value: string): boolean {
  if (value.length === 0) return true
  if (TEMPLATE_REFERENCE.some((re) => re.test(value))) return true
  return isMask(value)
}

/** A reference, a mask, or tutorial filler (`your_token_here`, `changeme`). */
export function isPlaceholderValue(value: string): boolean {
  return isTemplateOrMask(value) || FILLER.test(value)
}
