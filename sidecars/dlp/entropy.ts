/**
 * Entropy checks for places where a secret can leave without any known
 * shape: DNS labels (`<random>.attacker.com`) and URL path segments.
 *
 * A token is "random-looking" when all of these hold (thresholds below):
 * - it mixes letters and digits (a 20+ character random string over an
 *   alphanumeric alphabet almost never lacks either; words and numbers do);
 * - its Shannon entropy is at least the 0.1th percentile of uniformly random
 *   strings of the same length over the same alphabet class (hex, one-case
 *   alphanumeric, mixed-case alphanumeric), measured by simulation over
 *   20 000 samples per cell, minus 0.1 bit;
 * - it switches between letters and digits at least 3 times (dates,
 *   versions and `build2024` names cluster their digits; random text does not);
 * - at most 10% of it is `-`/`_` separators (slugs such as
 *   `how-to-use-x-2024` are words, not tokens).
 *
 * Judgement calls, chosen so that ordinary traffic passes:
 * - Labels need a run of 20+ characters: CloudFront (`d3i4yxtzktqr9n`, 14),
 *   API Gateway ids (10) and ELB names pass; a 20+ character hex or base32
 *   label is flagged, and so are hosts that embed one by design (Cloudflare
 *   R2 `<32 hex>.r2.cloudflarestorage.com`, AWS Lambda function URLs): use
 *   `dlp: {action: warn}` for bottles that need them. Labels that are each
 *   shorter but together (left of the
 *   registrable domain, unhyphenated, 8+ characters each) form a 32+ random
 *   run are flagged too, which closes the "split the secret over labels" trick.
 * - Path segments need a 32+ character run after dropping an API-style type
 *   prefix (`msg_`, `file-`, `pi_`, `chatcmpl-`): object ids of Stripe,
 *   Anthropic and OpenAI (about 24 random characters) pass, long random
 *   tokens do not. Runs of hex digits are exempt whatever their length:
 *   content addresses are hex in git hosting (40), OCI registries (64) and
 *   PyPI file paths (60), and blocking them would break installs. Hex-encoded
 *   secrets of known formats are still found by the decode layer, and known
 *   secrets by their hex form. Google-Docs-style 44-character ids and Nix
 *   base32 store hashes (32) are flagged.
 * - Runs of digits only are not flagged (order numbers, timestamps).
 *
 * Measured on 5 000 random strings per cell: labels of 20 characters are
 * flagged 99.7% (hex), 97.7% (base36) and 88.7% (base32, few digits) of the
 * time, rising to 98.7%+ at 32; path segments of 40 random characters 99%+
 * (base36, base62) and 94.6% (base64url, whose separators shorten the run).
 */

/** Shannon entropy in bits per character over UTF-16 code units. */
export function shannonEntropy(text: string): number {
  const n = text.length
  if (n === 0) return 0
  const counts = new Map<number, number>()
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i)
    counts.set(c, (counts.get(c) ?? 0) + 1)
  }
  let bits = 0
  for (const count of counts.values()) {
    const p = count / n
    bits -= p * Math.log2(p)
  }
  return bits
}

export interface CharClasses {
  lower: number
  upper: number
  digit: number
  other: number
}

export function charClasses(text: string): CharClasses {
  const out: CharClasses = { lower: 0, upper: 0, digit: 0, other: 0 }
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c >= 97 && c <= 122) out.lower++
    else if (c >= 65 && c <= 90) out.upper++
    else if (c >= 48 && c <= 57) out.digit++
    else out.other++
  }
  return out
}

/** [length, floor] pairs: the entropy floor of random strings, per alphabet class (see the file comment). */
type FloorTable = readonly (readonly [number, number])[]
const HEX_FLOOR: FloorTable = [[16, 2.38], [20, 2.6], [24, 2.79], [32, 3.03], [40, 3.17], [64, 3.44]]
const ONE_CASE_FLOOR: FloorTable = [[16, 2.78], [20, 3.08], [24, 3.27], [32, 3.59], [40, 3.78], [64, 4.16]]
const MIXED_CASE_FLOOR: FloorTable = [[16, 3.1], [20, 3.38], [24, 3.62], [32, 3.97], [40, 4.23], [64, 4.7]]

function interpolate(table: FloorTable, n: number): number {
  const first = table[0] as readonly [number, number]
  if (n <= first[0]) return first[1]
  for (let i = 1; i < table.length; i++) {
    const [x1, y1] = table[i] as readonly [number, number]
    const [x0, y0] = table[i - 1] as readonly [number, number]
    if (n <= x1) return y0 + ((y1 - y0) * (n - x0)) / (x1 - x0)
  }
  return (table[table.length - 1] as readonly [number, number])[1]
}

function isDigitCode(c: number): boolean {
  return c >= 48 && c <= 57
}

function letterDigitSwitches(text: string): number {
  let switches = 0
  for (let i = 1; i < text.length; i++) {
    if (isDigitCode(text.charCodeAt(i)) !== isDigitCode(text.charCodeAt(i - 1))) switches++
  }
  return switches
}

/** Is this alphanumeric string (no separators) indistinguishable from a random token of its length? */
export function isRandomLooking(token: string, minLength: number): boolean {
  const n = token.length
  if (n < minLength) return false
  const classes = charClasses(token)
  if (classes.other > 0 || classes.digit === 0 || classes.lower + classes.upper === 0) return false
  if (letterDigitSwitches(token) < 3) return false
  const hexOnly = /^[0-9a-f]+$/.test(token) || /^[0-9A-F]+$/.test(token)
  const table = hexOnly ? HEX_FLOOR : classes.lower > 0 && classes.upper > 0 ? MIXED_CASE_FLOOR : ONE_CASE_FLOOR
  return shannonEntropy(token) >= interpolate(table, n)
}

const SEPARATOR_SHARE = 0.1

/** Runs of `[A-Za-z0-9_-]`, as candidates; a run heavy with separators is words, not a token. */
function tokenRuns(text: string): string[] {
  const out: string[] = []
  for (const run of text.match(/[A-Za-z0-9_-]+/g) ?? []) {
    let separators = 0
    for (let i = 0; i < run.length; i++) {
      const c = run.charCodeAt(i)
      if (c === 45 || c === 95) separators++
    }
    if (separators / run.length > SEPARATOR_SHARE) continue
    out.push(run)
  }
  return out
}

export const LABEL_MIN_RUN = 20
export const SPLIT_LABELS_MIN_RUN = 32
export const PATH_SEGMENT_MIN_RUN = 32

/** A DNS label that carries a random token of 20+ characters. */
export function isHighEntropyLabel(label: string): boolean {
  const lower = label.toLowerCase()
  for (const run of tokenRuns(lower)) {
    if (isRandomLooking(run.replace(/[-_]/g, ''), LABEL_MIN_RUN)) return true
  }
  return false
}

/**
 * Labels that are each too short to judge but together, left of the
 * registrable domain, form one random run: `<19 chars>.<19 chars>.evil.com`.
 */
export function hasHighEntropySplitLabels(labels: readonly string[]): boolean {
  const left = labels.slice(0, Math.max(0, labels.length - 2))
  const pieces = left.filter((l) => l.length >= 8 && /^[a-z0-9]+$/i.test(l))
  if (pieces.length < 2) return false
  return isRandomLooking(pieces.join('').toLowerCase(), SPLIT_LABELS_MIN_RUN)
}

const API_ID_PREFIX = /^[A-Za-z]{1,16}[_-]/
/** A content address: hex digits in one case. */
const CONTENT_ADDRESS = /^(?:[0-9a-f]+|[0-9A-F]+)$/

/** A URL path segment (already percent-decoded) that carries a random token of 32+ characters. */
export function isHighEntropyPathSegment(segment: string): boolean {
  for (const run of tokenRuns(segment)) {
    const body = run.replace(API_ID_PREFIX, '').replace(/[-_]/g, '')
    if (CONTENT_ADDRESS.test(body)) continue
    if (isRandomLooking(body, PATH_SEGMENT_MIN_RUN)) return true
  }
  return false
}
