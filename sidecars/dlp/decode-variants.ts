/**
 * The encoded runs inside a text (base64, hex, backslash and HTML escapes)
 * and what they decode to, so detection can look inside them.
 *
 * A base64 run is decoded at all four character offsets: a secret encoded
 * inside longer base64, or behind a stray base64-alphabet character the
 * sender prepended, lines up with exactly one of them. Hex runs are decoded
 * at both nibble offsets for the same reason.
 *
 * Work is charged to a budget (characters decoded) shared by one scan, so
 * adversarial input cannot make a scan superlinear.
 */
import { Buffer, isAscii, isUtf8 } from 'node:buffer'
import { byteClass, classRuns, type ByteClass } from './byte-scan.js'

export type DecodeKind = 'base64' | 'hex' | 'escaped'

export interface DecodedVariant {
  kind: DecodeKind
  text: string
  /** Valid UTF-8 and at most 10% control characters: worth normalizing and decoding further. */
  printable: boolean
}

export interface DecodeBudget {
  /** Characters that may still be decoded in this scan. */
  remaining: number
  exceeded: boolean
}

/** Base64 of 8 bytes (the shortest known secret) is 11 characters without padding. */
export const MIN_BASE64_RUN = 12
export const MIN_HEX_RUN = 16
/**
 * A run is decoded only when it looks like base64 rather than an identifier
 * (`createScannerWithOptions`, `getElementById2024`): 30%+ upper case
 * (base64 of text, and of base64, is mostly upper case), or a change of
 * character class (upper, lower, digit, symbol) at 45%+ of positions
 * (random base64 changes class at about 65% of positions, hex at about 47%,
 * identifiers at 20-40%). Measured on 20 000 samples: base64 of random text
 * passes 99.7%+ of the time; base64 of random bytes 98.5-99% for 12-24
 * characters and 99.9% at 44. Known secrets are still found by their
 * precomputed base64 forms whatever this filter says.
 */
export const MIN_BASE64_UPPER_SHARE = 0.3
export const MIN_BASE64_SWITCH_RATE = 0.45

const B64 = 1
const HEX = 2
/** Characters normalization or escape decoding acts on: `%`, backslash, `&` (of `&#`), controls but tab, CR and LF. */
const ACTED_ON = 4
/** By character code below 256; codes 128-255 only matter for byte input (latin1), where normalization acts on them. */
const CLASS = new Uint8Array(256).fill(ACTED_ON, 128)
for (let c = 0; c < 128; c++) {
  const ch = String.fromCharCode(c)
  if (/[A-Za-z0-9+/_-]/.test(ch)) CLASS[c] = (CLASS[c] as number) | B64
  if (/[0-9A-Fa-f]/.test(ch)) CLASS[c] = (CLASS[c] as number) | HEX
  if (/[%\\&\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/.test(ch)) CLASS[c] = (CLASS[c] as number) | ACTED_ON
}

/** 0 lower, 1 upper, 2 digit, 3 symbol. */
function kindOf(c: number): number {
  if (c >= 97) return 0
  if (c >= 65) return 1
  if (c >= 48 && c <= 57) return 2
  return 3
}

export interface EncodedRun {
  kind: 'base64' | 'hex'
  start: number
  end: number
}

function base64Plausible(text: string, start: number, end: number): boolean {
  let upper = 0
  let digitsAndSymbols = 0
  let switches = 0
  let prev = kindOf(text.charCodeAt(start))
  for (let i = start; i < end; i++) {
    const k = kindOf(text.charCodeAt(i))
    if (k === 1) upper++
    else if (k >= 2) digitsAndSymbols++
    if (k !== prev) switches++
    prev = k
  }
  const n = end - start
  const lower = n - upper - digitsAndSymbols
  // Base64 of 12+ bytes almost always mixes cases; SCREAMING_CASE names and upper-case hex do not.
  if (upper === 0 || lower === 0) return false
  return upper >= MIN_BASE64_UPPER_SHARE * n || switches >= MIN_BASE64_SWITCH_RATE * (n - 1)
}

/**
 * `com/v1/items/12` is a URL path, not base64: in base64 a `/` is one
 * character in 64, so pieces between slashes average 64 characters; in a
 * path they are words. A run whose slashes cut it into pieces averaging
 * under PATH_PIECE characters is split at the slashes instead.
 */
const PATH_PIECE = 8

function pushBase64Runs(text: string, start: number, end: number, runs: EncodedRun[]): void {
  let slashes = 0
  for (let i = start; i < end; i++) if (text.charCodeAt(i) === 47) slashes++
  if (slashes >= 2 && (end - start - slashes) / (slashes + 1) < PATH_PIECE) {
    let pieceStart = start
    for (let i = start; i <= end; i++) {
      if (i === end || text.charCodeAt(i) === 47) {
        if (i - pieceStart >= MIN_BASE64_RUN && base64Plausible(text, pieceStart, i)) runs.push({ kind: 'base64', start: pieceStart, end: i })
        pieceStart = i + 1
      }
    }
    return
  }
  if (end - start >= MIN_BASE64_RUN && base64Plausible(text, start, end)) runs.push({ kind: 'base64', start, end })
}

export type CharRange = [start: number, end: number]

/**
 * Maximal base64-alphabet and hex runs long enough to hold an 8-byte
 * secret, in one pass. When `actedOn` is given, it also receives the ranges
 * of characters normalization or escape decoding would act on (non-ASCII,
 * `%`, backslash, `&#`, controls), so a caller deciding where the deeper layers
 * are needed pays for one pass, not two. Acted-on characters at most `gap`
 * apart share one range: a caller that only asks which parts a range
 * overlaps needs no finer ranges, and escaped JSON has thousands of them.
 */
export function findEncodedRuns(text: string, actedOn?: CharRange[], ascii?: Uint8Array, gap = 0): EncodedRun[] {
  if (ascii !== undefined && ascii.length === text.length) return findEncodedRunsInBytes(text, ascii, actedOn, gap)
  const runs: EncodedRun[] = []
  const n = text.length
  let i = 0
  while (i < n) {
    let c = text.charCodeAt(i)
    if (c >= 128 || ((CLASS[c] as number) & B64) === 0) {
      if (actedOn && (c >= 128 || ((CLASS[c] as number) & ACTED_ON) !== 0) && (c !== 38 || text.charCodeAt(i + 1) === 35)) {
        const last = actedOn[actedOn.length - 1]
        if (last && last[1] + gap >= i) last[1] = i + 1
        else actedOn.push([i, i + 1])
      }
      i++
      continue
    }
    const start = i
    while (++i < n) {
      c = text.charCodeAt(i)
      if (c >= 128 || ((CLASS[c] as number) & B64) === 0) break
    }
    if (i - start < MIN_BASE64_RUN) continue
    // Hex is a subset of the base64 alphabet, so hex runs only live inside long base64 runs.
    if (i - start >= MIN_HEX_RUN) {
      let hexStart = -1
      for (let k = start; k <= i; k++) {
        const isHex = k < i && ((CLASS[text.charCodeAt(k)] as number) & HEX) !== 0
        if (isHex) {
          if (hexStart < 0) hexStart = k
        } else if (hexStart >= 0) {
          if (k - hexStart >= MIN_HEX_RUN) runs.push({ kind: 'hex', start: hexStart, end: k })
          hexStart = -1
        }
      }
    }
    pushBase64Runs(text, start, i, runs)
  }
  return runs
}

/**
 * The bytes of `text` when it is ASCII (one byte per character), else
 * undefined. For texts long enough that the byte-level passes pay for the
 * copy; a UTF-8 length equal to the length means no character is above 0x7f.
 */
export function asciiBytesOf(text: string, minLength = 1024): Uint8Array | undefined {
  if (text.length < minLength || Buffer.byteLength(text, 'utf8') !== text.length) return undefined
  return Buffer.from(text, 'latin1')
}

/** Byte values normalization or escape decoding acts on in ASCII (`&` only before `#`, searched apart). */
const ACTED_ON_ASCII: readonly number[] = [...Array(128).keys()].filter((c) => c !== 38 && ((CLASS[c] as number) & ACTED_ON) !== 0)

/** The base64 alphabet as a byte class for `classRuns`, made at the first byte scan. */
let base64Bytes: ByteClass | undefined

/**
 * `findEncodedRuns` for text given with its bytes (character i is byte i),
 * with the same result. It is one of the two whole-body passes of every
 * scan, so it avoids reading every character in JavaScript:
 * - runs of 12+ base64-alphabet characters come from the SIMD class pass
 *   of `byte-scan.ts`;
 * - in ASCII, the few byte values normalization acts on are found with
 *   `indexOf` (memchr), one search per value; other bytes take the full loop.
 */
function findEncodedRunsInBytes(text: string, bytes: Uint8Array, actedOn: CharRange[] | undefined, gap: number): EncodedRun[] {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  if (actedOn && !isAscii(buf)) return findEncodedRunsInLatin1(text, buf, actedOn, gap)
  const runs: EncodedRun[] = []
  base64Bytes ??= byteClass((c) => ((CLASS[c] as number) & B64) !== 0)
  classRuns(bytes, base64Bytes, MIN_BASE64_RUN, (start, end) => pushRun(text, bytes, start, end, runs))
  if (actedOn) actedOn.push(...actedOnAscii(buf, gap))
  return runs
}

/** Hex runs inside a base64-alphabet run, then the run itself as base64 (in the order the character loop finds them). */
function pushRun(text: string, bytes: Uint8Array, start: number, end: number, runs: EncodedRun[]): void {
  if (end - start >= MIN_HEX_RUN) {
    let hexStart = -1
    for (let k = start; k <= end; k++) {
      const isHex = k < end && ((CLASS[bytes[k] as number] as number) & HEX) !== 0
      if (isHex) {
        if (hexStart < 0) hexStart = k
      } else if (hexStart >= 0) {
        if (k - hexStart >= MIN_HEX_RUN) runs.push({ kind: 'hex', start: hexStart, end: k })
        hexStart = -1
      }
    }
  }
  pushBase64Runs(text, start, end, runs)
}

/** Ranges of consecutive acted-on bytes in ASCII, sorted, from one memchr pass per byte value. */
function actedOnAscii(buf: Buffer, gap: number): CharRange[] {
  const at: number[] = []
  // Past one hit per 256 bytes (escaped JSON: a backslash per line), a call per hit costs more than reading every byte.
  const dense = Math.max(64, buf.length >> 8)
  for (const value of ACTED_ON_ASCII) {
    for (let i = buf.indexOf(value); i >= 0; i = buf.indexOf(value, i + 1)) {
      if (at.push(i) > dense) return actedOnByLoop(buf, gap)
    }
  }
  for (let i = buf.indexOf('&#', 0, 'latin1'); i >= 0; i = buf.indexOf('&#', i + 1, 'latin1')) at.push(i)
  if (at.length === 0) return []
  // A typed array sorts numerically without a comparator call per comparison (escaped JSON has thousands).
  const sorted = Int32Array.from(at).sort()
  const ranges: CharRange[] = []
  for (const i of sorted) {
    const last = ranges[ranges.length - 1]
    if (last && last[1] + gap >= i) last[1] = i + 1
    else ranges.push([i, i + 1])
  }
  return ranges
}

/** Acted-on ranges by reading every byte, for text dense with them. */
function actedOnByLoop(bytes: Uint8Array, gap: number): CharRange[] {
  const ranges: CharRange[] = []
  const n = bytes.length
  for (let i = 0; i < n; i++) {
    const c = bytes[i] as number
    if (((CLASS[c] as number) & ACTED_ON) === 0 || (c === 38 && bytes[i + 1] !== 35)) continue
    const last = ranges[ranges.length - 1]
    if (last && last[1] + gap >= i) last[1] = i + 1
    else ranges.push([i, i + 1])
  }
  return ranges
}

/** Latin1 (binary) input: acted-on bytes are everywhere, so one loop over every byte, as for characters. */
function findEncodedRunsInLatin1(text: string, bytes: Uint8Array, actedOn: CharRange[], gap: number): EncodedRun[] {
  const runs: EncodedRun[] = []
  const n = bytes.length
  let i = 0
  while (i < n) {
    let c = bytes[i] as number
    if (((CLASS[c] as number) & B64) === 0) {
      if (((CLASS[c] as number) & ACTED_ON) !== 0 && (c !== 38 || bytes[i + 1] === 35)) {
        const last = actedOn[actedOn.length - 1]
        if (last && last[1] + gap >= i) last[1] = i + 1
        else actedOn.push([i, i + 1])
      }
      i++
      continue
    }
    const start = i
    while (++i < n) {
      c = bytes[i] as number
      if (((CLASS[c] as number) & B64) === 0) break
    }
    if (i - start >= MIN_BASE64_RUN) pushRun(text, bytes, start, i, runs)
  }
  return runs
}

const CONTROL_SHARE = 0.1
/** The shortest thing worth finding: a known secret of 8 characters. */
const MIN_TEXT_RUN = 8

/**
 * Does binary output hold 8+ printable ASCII characters in a row (control
 * bytes in between allowed, for UTF-16 and NUL padding)? Misaligned or
 * binary decodings almost never do, and skipping them is most of the cost
 * of decoding every base64-looking run in code.
 */
function hasTextRun(bytes: Buffer): boolean {
  let run = 0
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i] as number
    if (b >= 0x20 && b < 0x7f) {
      if (++run >= MIN_TEXT_RUN) return true
    } else if (b >= 0x7f) {
      run = 0
    }
  }
  return false
}

/** The variant for decoded bytes, or undefined when they cannot hold anything worth finding. */
function toVariant(kind: DecodeKind, bytes: Buffer): DecodedVariant | undefined {
  if (!isUtf8(bytes)) return hasTextRun(bytes) ? { kind, text: bytes.toString('latin1'), printable: false } : undefined
  let controls = 0
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i] as number
    if ((b < 32 && b !== 9 && b !== 10 && b !== 13) || b === 127) controls++
  }
  const printable = controls <= CONTROL_SHARE * bytes.length
  if (!printable && !hasTextRun(bytes)) return undefined
  return { kind, text: bytes.toString('utf8'), printable }
}

function charge(budget: DecodeBudget, chars: number): boolean {
  if (budget.remaining < chars) {
    budget.exceeded = true
    return false
  }
  budget.remaining -= chars
  return true
}

const ESCAPE = /\\x([0-9A-Fa-f]{2})|\\u\{([0-9A-Fa-f]{1,6})\}|\\u([0-9A-Fa-f]{4})|&#[xX]([0-9A-Fa-f]{1,6});?|&#([0-9]{1,7});?/g

function codePointOrEmpty(cp: number): string {
  return cp <= 0x10ffff ? String.fromCodePoint(cp) : ''
}

/** `\x67`, `\u0067`, `\u{67}`, `&#x67;`, `&#103;` replaced by what they stand for; undefined when there are none. */
export function decodeEscapes(text: string): string | undefined {
  if (!text.includes('\\x') && !text.includes('\\u') && !text.includes('&#')) return undefined
  const out = text.replace(ESCAPE, (_m, x?: string, ub?: string, u?: string, hx?: string, dec?: string) => {
    const hex = x ?? ub ?? u ?? hx
    return codePointOrEmpty(hex !== undefined ? parseInt(hex, 16) : parseInt(dec as string, 10))
  })
  return out === text ? undefined : out
}

/**
 * Every decoding of every encoded run in `text` that could hold a secret,
 * lazily, while the budget lasts. `ascii`: the text's bytes when it is
 * ASCII, for a cheaper search for runs.
 */
export function* decodeVariants(text: string, budget: DecodeBudget, ascii?: Uint8Array): Generator<DecodedVariant> {
  const escaped = decodeEscapes(text)
  if (escaped !== undefined) {
    if (!charge(budget, escaped.length)) return
    yield { kind: 'escaped', text: escaped, printable: true }
  }
  for (const run of findEncodedRuns(text, undefined, ascii)) {
    const body = text.slice(run.start, run.end)
    if (run.kind === 'hex') {
      for (let offset = 0; offset < 2; offset++) {
        const usable = body.length - offset - ((body.length - offset) % 2)
        if (usable < MIN_HEX_RUN) continue
        if (!charge(budget, usable / 2)) return
        const variant = toVariant('hex', Buffer.from(body.slice(offset, offset + usable), 'hex'))
        if (variant) yield variant
      }
    } else {
      for (let offset = 0; offset < 4; offset++) {
        const usable = body.length - offset
        if (usable < MIN_BASE64_RUN) continue
        if (!charge(budget, Math.ceil((usable * 3) / 4))) return
        // Node's decoder accepts both alphabets and missing padding.
        const variant = toVariant('base64', Buffer.from(body.slice(offset), 'base64'))
        if (variant) yield variant
      }
    }
  }
}
