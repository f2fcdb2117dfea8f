/**
 * Building blocks of the credential catalog: boundary and assignment
 * fragments, the provider-context builder, and the structural checks that
 * several families share.
 *
 * Formats were taken as facts (prefixes, lengths, alphabets, keywords,
 * entropy floors, known non-secrets) from gitleaks' default config at commit
 * b58d3f1 (MIT, see LICENSE-gitleaks beside this file); the expressions are
 * bottle's own.
 */
import { Buffer } from 'node:buffer'
import { charClasses, shannonEntropy } from '../entropy.js'

export function hasUpperLowerDigit(value: string): boolean {
  const c = charClasses(value)
  return c.upper > 0 && c.lower > 0 && c.digit > 0
}

export function hasUpperAndLower(value: string): boolean {
  const c = charClasses(value)
  return c.upper > 0 && c.lower > 0
}

export function hasLetterAndDigit(value: string): boolean {
  const c = charClasses(value)
  return c.upper + c.lower > 0 && c.digit > 0
}

export function randomEnough(value: string, minBits: number): boolean {
  return shannonEntropy(value) >= minBits
}

/** [length, floor] pairs, interpolated: see `looksRandom`. */
type FloorTable = readonly (readonly [number, number])[]
const HEX_FLOOR: FloorTable = [[12, 1.3], [16, 1.75], [24, 2.2], [32, 2.5], [48, 2.8], [64, 3.1]]
const DIGIT_FLOOR: FloorTable = [[12, 0.6], [16, 1.2], [20, 1.6], [32, 2], [64, 2.5]]
const TOKEN_FLOOR: FloorTable = [[12, 1.85], [14, 2], [16, 2.3], [20, 2.5], [24, 2.85], [32, 3.2], [40, 3.25], [64, 3.9]]

function floorAt(table: FloorTable, n: number): number {
  const first = table[0] as readonly [number, number]
  if (n <= first[0]) return first[1]
  for (let i = 1; i < table.length; i++) {
    const [x1, y1] = table[i] as readonly [number, number]
    const [x0, y0] = table[i - 1] as readonly [number, number]
    if (n <= x1) return y0 + ((y1 - y0) * (n - x0)) / (x1 - x0)
  }
  return (table[table.length - 1] as readonly [number, number])[1]
}

/**
 * Could this be a random token of its length? Its Shannon entropy clears a
 * floor for its alphabet class (hex, digits, anything else) that lies below
 * the lowest entropy of 200 000 uniformly random strings per length, with a
 * margin: a real token passes (fewer than one in a million fail), a
 * patterned filler (`abab...`, `1234...`, a word repeated) does not. For
 * plain alphanumeric values under a provider's name, where gitleaks' own
 * floors (3.5 for a 32-digit hex string) would miss one real key in ten.
 */
export function looksRandom(value: string): boolean {
  const bare = value.replace(/-/g, '')
  const table = /^[0-9]+$/.test(bare) ? DIGIT_FLOOR : /^(?:[0-9a-f]+|[0-9A-F]+)$/.test(bare) ? HEX_FLOOR : TOKEN_FLOOR
  return shannonEntropy(bare) >= floorAt(table, bare.length)
}

/** `(v) => randomEnough(v, bits)`, for tables of rules. */
export function entropyAtLeast(minBits: number): (value: string) => boolean {
  return (value) => shannonEntropy(value) >= minBits
}

export function decodeBase64Json(segment: string): unknown {
  try {
    return JSON.parse(Buffer.from(segment, 'base64').toString('utf8'))
  } catch {
    return undefined
  }
}

export function isJsonObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** A JWS: base64url JSON header naming an `alg`, and a base64url JSON object payload. */
export function jwtStructure(token: string): boolean {
  const [header, payload] = token.split('.')
  if (header === undefined || payload === undefined) return false
  const h = decodeBase64Json(header)
  return isJsonObject(h) && typeof h['alg'] === 'string' && isJsonObject(decodeBase64Json(payload))
}

/** An assignment operator with optional quotes around the key's end and the value's start. */
export const ASSIGN = String.raw`["']?[ \t]*(?::=|=>|[:=])[ \t]*["'\x60]?`

/**
 * What may sit between a provider's name and a value assigned under it:
 * more name characters (`_API_KEY`, `.secret`), quotes, and any operator
 * a config, a call or markup uses (`=`, `:`, `:=`, `=>`, `?=`, `||`, XML's
 * `>`, an argument list's `,`).
 */
const PROVIDER_TAIL = String.raw`[\w.-]{0,24}`
const PROVIDER_OPERATOR = String.raw`["']{0,2}[ \t]{0,4}(?::{1,3}=|=>|\?=|\|\||[=:>,])[ \t]{0,4}["'\x60]{0,2}`
/**
 * A value ends where token characters end (`%` too: a URL-encoded token
 * goes on); `\n` escapes and closing quotes are fine.
 */
export const VALUE_END = String.raw`(?![\w.+/=~%-])`

export interface ProviderValue {
  /** Regex source of the value, without capture groups. */
  value: string
  /**
   * A word the name must also hold, for values that are only secret under
   * some names: an 18-digit number under `DISCORD_CLIENT_ID`, not under
   * `DISCORD_CHANNEL_ID`.
   */
  nameHas?: string
}

/**
 * Regex source for values assigned under a provider's name:
 * `(?:names)<tail><operator>(value)`. The match opens with the name; each
 * alternative captures its value in its own group, and the matcher reports
 * the first group that took part.
 *
 * The rule's keyword is the name, or, where the name starts like everyday
 * code (`con`fluent, `new`relic, `int`ercom, `type`form), the part of it
 * that does not (`nfluent`, `relic`, `rcom`, `peform`) with a `keywordLead`
 * for the letters before it: the keyword automaton walks its trie wherever
 * a text's next three characters begin a keyword, and `const`, `new` and
 * `interface` are everywhere.
 */
export function providerAssignment(names: readonly string[], values: readonly ProviderValue[]): string {
  const plain = values.filter((v) => v.nameHas === undefined).map((v) => v.value)
  const alternatives: string[] = []
  if (plain.length > 0) alternatives.push(`${PROVIDER_TAIL}${PROVIDER_OPERATOR}(${plain.join('|')})${VALUE_END}`)
  for (const v of values) {
    if (v.nameHas === undefined) continue
    alternatives.push(`[\\w.-]{0,24}?${v.nameHas}${PROVIDER_TAIL}${PROVIDER_OPERATOR}(${v.value})${VALUE_END}`)
  }
  return `(?:${names.join('|')})(?:${alternatives.join('|')})`
}

const NAME_FOLLOWERS = ['_', '.', '-', '=', ':', '"', "'", ' ']
const NAME_WORDS = ['api', 'key', 'token', 'secret', 'access', 'client', 'auth', 'pass', 'id', 'live', 'test', 'pub', 'app']

/**
 * A provider name of three or four letters, as a name source for
 * `providerAssignment` and its keywords: the name followed by a separator,
 * an operator or a word (`LOB_`, `okta.`, `sumo=`, `jiraToken`). Alone,
 * `lob` and `sumo` turn up in "global", "blob" and "consumo", and any
 * four-letter keyword about once per MiB of random base64 (an image
 * upload), each time costing a pass of the rule's regex over the text.
 */
export function shortName(name: string, moreWords: readonly string[] = []): { source: string; keywords: string[] } {
  const words = [...NAME_WORDS, ...moreWords]
  return {
    source: `${name}(?=[_.\\-=:"' ]|${words.join('|')})`,
    // Words by their first two letters: fewer trie states, the same texts.
    keywords: [...new Set([...NAME_FOLLOWERS.map((f) => `${name}${f}`), ...words.map((w) => `${name}${w.slice(0, 2)}`)])],
  }
}

export const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}'
