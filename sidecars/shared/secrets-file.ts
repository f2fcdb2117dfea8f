/**
 * `secrets.json` of a daemon's config folder: slot name to value, written by
 * the controller (0600). The one parser of it. Errors name slots, never
 * values.
 */

/** A slot name: what the config refers to a secret by (`env.GH_TOKEN`, `host-login.codex`). */
export const SLOT = /^[A-Za-z_][A-Za-z0-9_.-]{0,127}$/

export function parseSecretsFile(text: string): { ok: true; value: ReadonlyMap<string, string> } | { ok: false; errors: string[] } {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    // The parser's message can quote the text around the error: keep it out.
    return { ok: false, errors: ['secrets.json: invalid JSON'] }
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return { ok: false, errors: ['secrets.json: must be an object of slot to value'] }
  const errors: string[] = []
  const slots = new Map<string, string>()
  for (const [slot, value] of Object.entries(json)) {
    if (!SLOT.test(slot)) errors.push(`secrets.json: slot name ${JSON.stringify(slot.slice(0, 64))} is not an identifier`)
    else if (typeof value !== 'string' || value.length === 0) errors.push(`secrets.json: slot ${slot} must be a non-empty string`)
    else if (/[\r\n\0]/.test(value)) errors.push(`secrets.json: slot ${slot} contains a line break or NUL`)
    else slots.set(slot, value)
  }
  return errors.length > 0 ? { ok: false, errors } : { ok: true, value: slots }
}
