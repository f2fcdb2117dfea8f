/**
 * The spellings a secret value takes when something echoes it back: an
 * origin quoting a request header in a JSON body, a redirect carrying it in
 * a query string, a server printing a Basic auth header it refused. Both
 * sidecars use these to keep a value from reaching the agent (egress answers,
 * git gate messages); detection of secrets the agent sends is the DLP
 * engine's job and goes much further.
 *
 * Forms, each only where it differs from the value as is:
 *   as-is            the UTF-8 text;
 *   percent-encoded  encodeURIComponent, with upper- and lower-case hex;
 *   json-escaped     JSON string escaping, also with `\/` for `/` and with
 *                    `\uXXXX` for non-ASCII (PHP and Python spell it so);
 *   base64           standard and URL alphabets, at each of the three byte
 *                    alignments the value can take inside longer base64
 *                    (`Basic base64(user:token)`): the characters that depend
 *                    on the value alone.
 * Hex and nested encodings are left out on purpose: every form costs one
 * more pass over every answer, and an echo does not produce them.
 *
 * Values shorter than the DLP engine's minimum are ignored, for the same
 * reason it ignores them: they occur by chance in ordinary text.
 */
import { Buffer } from 'node:buffer'
import { MIN_KNOWN_SECRET_LENGTH } from '../dlp/known-secrets.js'

export type SecretForm = 'as-is' | 'percent-encoded' | 'json-escaped' | 'base64'

export interface SecretSpelling {
  form: SecretForm
  text: string
}

export function isRedactableSecret(value: string): boolean {
  return value.length >= MIN_KNOWN_SECRET_LENGTH
}

/** Every spelling of `value` worth looking for, longest first, no duplicates; empty for a value too short to redact. */
export function spellingsOf(value: string): SecretSpelling[] {
  if (!isRedactableSecret(value)) return []
  const out: SecretSpelling[] = [{ form: 'as-is', text: value }]
  const percent = encodeURIComponent(value)
  out.push({ form: 'percent-encoded', text: percent }, { form: 'percent-encoded', text: percent.replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase()) })
  const json = jsonEscaped(value)
  out.push({ form: 'json-escaped', text: json }, { form: 'json-escaped', text: json.replaceAll('/', '\\/') })
  out.push({ form: 'json-escaped', text: json.replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`) })
  const bytes = Buffer.from(value, 'utf8')
  for (const core of [...base64Cores(bytes, 'base64'), ...base64Cores(bytes, 'base64url')]) out.push({ form: 'base64', text: core })
  const seen = new Set<string>()
  return out
    .filter((s) => s.text.length >= MIN_KNOWN_SECRET_LENGTH && !seen.has(s.text) && seen.add(s.text))
    .sort((a, b) => b.text.length - a.text.length)
}

/** `text` written in a form, for a replacement that should read like what it replaces (base64 cores cannot: see the callers). */
export function inForm(form: Exclude<SecretForm, 'base64'>, text: string): string {
  return form === 'percent-encoded' ? encodeURIComponent(text) : form === 'json-escaped' ? jsonEscaped(text) : text
}

function jsonEscaped(value: string): string {
  return JSON.stringify(value).slice(1, -1)
}

/**
 * The characters of base64(pad + value) that depend on the value alone:
 * with 1 or 2 bytes before it, the first 2 or 3 characters mix in the
 * neighbour, and the last character does when the value does not end on a
 * 3-byte boundary.
 */
function base64Cores(value: Buffer, alphabet: 'base64' | 'base64url'): string[] {
  const out: string[] = []
  for (let align = 0; align < 3; align++) {
    const padded = Buffer.concat([Buffer.alloc(align), value])
    let encoded = padded.toString(alphabet).replace(/=+$/, '')
    if (padded.length % 3 !== 0) encoded = encoded.slice(0, -1)
    out.push(encoded.slice([0, 2, 3][align]))
  }
  return out
}
