/**
 * The encoded runs inside a text (base64 and base64url, base32 in both
 * alphabets, hex, backslash and HTML escapes, and the spread-out forms:
 * base64 wrapped into lines at any column, hex bytes with separators, byte
 * values in decimal as lists and arrays print them) and
 * what they decode to, so detection can look inside them. Decoded bytes are
 * read further when they are compressed (`decompress.ts`, by magic number)
 * or UTF-16/UTF-32 (`wide-text.ts`).
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
import { decodeBase32, type Base32Alphabet } from './base32.js'
import { byteClass, classRuns, encodingRuns, MIN_ENCODING_RUN, probeRuns, type ByteClass } from './byte-scan.js'
import { decompress } from './decompress.js'
import { scanBytes } from './scan-arena.js'
import { readWideText } from './wide-text.js'

export type DecodeKind = 'base64' | 'hex' | 'escaped' | Base32Alphabet

export type DecodedVariant =
  | {
      /** The decodings that produced the text, outermost first, `+`-joined: `base64`, `base64+gzip`, `hex+utf-16le`. */
      kind: string
      text: string
      /** Valid text with at most 10% control characters: worth normalizing and decoding further. */
      printable: boolean
      /** One byte per character of `text`, when it is bytes read as latin1: for the byte passes. */
      bytes?: Uint8Array
    }
  | {
      kind: string
      /** Bytes that were recognised and could not be read within the limits: the caller fails closed. */
      problem: 'unreadable' | 'too-large'
    }

export interface DecodeBudget {
  /** Characters that may still be decoded in this scan. */
  remaining: number
  exceeded: boolean
}

/** Base64 of 8 bytes (the shortest known secret) is 11 characters without padding. */
export const MIN_BASE64_RUN = MIN_ENCODING_RUN
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
  /**
   * `base64-lines`: base64 wrapped into lines; `hex-separated`: hex bytes with `:`, `-`, space, comma or line
   * separators; `decimal-separated`: byte values in decimal with comma, space or line separators.
   */
  kind: 'base64' | 'hex' | Base32Alphabet | 'base64-lines' | 'hex-separated' | 'decimal-separated'
  start: number
  end: number
}

/** Base32 of 10 bytes is 16 characters: shorter runs are words and ids far more often than encodings. */
export const MIN_BASE32_RUN = 16

/**
 * Base32 membership by character code, one bit per alphabet and case: the
 * standard alphabet (`A-Z2-7`) is written in one case, never mixed, and the
 * extended-hex one (`0-9A-V`) too.
 */
const B32 = new Uint8Array(128)
const B32_CLASSES = [
  { bit: 1, kind: 'base32', chars: 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567' },
  { bit: 2, kind: 'base32', chars: 'abcdefghijklmnopqrstuvwxyz234567' },
  { bit: 4, kind: 'base32hex', chars: '0123456789ABCDEFGHIJKLMNOPQRSTUV' },
  { bit: 8, kind: 'base32hex', chars: '0123456789abcdefghijklmnopqrstuv' },
] as const
for (const { bit, chars } of B32_CLASSES) for (const ch of chars) B32[ch.charCodeAt(0)] = (B32[ch.charCodeAt(0)] as number) | bit

/** Base32 of 10 or more random bytes uses at least this many of its 32 symbols; masks and padding (`xxxx...`) use one or two. */
const MIN_BASE32_SYMBOLS = 8

/**
 * Is this stretch worth decoding as `kind`? Standard base32 needs a letter
 * (digits 2-7 alone are numbers); extended-hex needs a letter past `F`
 * (pure hex is read as hex); both need the variety of symbols any encoding
 * of a secret has.
 */
function base32Worth(text: string, start: number, end: number, kind: Base32Alphabet): boolean {
  let letter = false
  let seen = 0
  let symbols = 0
  for (let i = start; i < end && !(letter && symbols >= MIN_BASE32_SYMBOLS); i++) {
    const code = text.charCodeAt(i)
    const c = code | 0x20
    if (kind === 'base32' ? c >= 97 : c > 102) letter = true
    // 5 bits of identity per symbol: digits, and letters folded to one case.
    const bit = 1 << (c >= 97 ? c - 97 : 26 + (code % 6))
    if ((seen & bit) === 0) {
      seen |= bit
      symbols++
    }
  }
  return letter && symbols >= MIN_BASE32_SYMBOLS
}

/**
 * Base32 runs inside a base64-alphabet run. Probes every MIN_BASE32_RUN-th
 * character per class (`probeRuns`), so the mixed-case identifiers and
 * base64 that make up most runs cost a few probes, not a pass.
 */
function pushBase32Runs(text: string, start: number, end: number, runs: EncodedRun[]): void {
  if (end - start < MIN_BASE32_RUN) return
  for (const { bit, kind } of B32_CLASSES) {
    const member = (i: number) => {
      const c = text.charCodeAt(i)
      return c < 128 && ((B32[c] as number) & bit) !== 0
    }
    probeRuns(start, end, MIN_BASE32_RUN, member, (from, to) => {
      if (base32Worth(text, from, to, kind)) runs.push({ kind, start: from, end: to })
    })
  }
}

/** A line that holds only base64 characters (padding at its end allowed), ignoring indentation and CR. */
const BASE64_LINE = /^[ \t]*[A-Za-z0-9+/_-]+=*[ \t]*\r?$/
/** Two wrapped lines carry at least this many base64 characters before the block is worth decoding. */
const MIN_WRAPPED_CHARS = MIN_BASE64_RUN

/**
 * Base64 wrapped into lines (MIME at 76 columns, PEM at 64, or any other
 * column an agent picks): two or more consecutive lines of base64
 * characters only. Each line alone may be too short to be a run, and a
 * secret may cross a line break, so the block is decoded whole.
 */
function pushWrappedBase64(text: string, runs: EncodedRun[]): void {
  const isB64 = (c: number) => c < 128 && ((CLASS[c] as number) & B64) !== 0
  let lineStart = 0
  let previousStart = -1
  let previousEnd = -1
  /** Where the block's encoding starts (maybe inside the line before its first full line), and its full lines. */
  let blockStart = -1
  let blockEnd = -1
  let pieces = 0
  const flush = (nextStart: number, nextEnd: number) => {
    if (pieces >= 1) {
      // The encoding may close before other text on the line after the block: that part belongs to it.
      let end = blockEnd
      let k = nextStart
      while (k >= 0 && k < nextEnd && isB64(text.charCodeAt(k))) k++
      while (k >= 0 && k < nextEnd && text.charCodeAt(k) === 61) k++
      if (nextStart >= 0 && k > nextStart) {
        end = k
        pieces++
      }
      if (pieces >= 2 && end - blockStart >= MIN_WRAPPED_CHARS) runs.push({ kind: 'base64-lines', start: blockStart, end })
    }
    blockStart = -1
    pieces = 0
  }
  while (lineStart <= text.length) {
    const nl = text.indexOf('\n', lineStart)
    const lineEnd = nl < 0 ? text.length : nl
    if (lineEnd > lineStart && BASE64_LINE.test(text.slice(lineStart, lineEnd))) {
      if (blockStart < 0) {
        blockStart = lineStart
        // The encoding may open after other text (`q=`, `data: `) on the line before: that part belongs to it.
        if (previousStart >= 0) {
          let k = previousEnd
          if (k > previousStart && text.charCodeAt(k - 1) === 13) k--
          const tailEnd = k
          while (k > previousStart && isB64(text.charCodeAt(k - 1))) k--
          if (k < tailEnd) {
            blockStart = k
            pieces++
          }
        }
      }
      blockEnd = lineEnd
      pieces++
    } else {
      flush(lineStart, lineEnd)
    }
    previousStart = lineStart
    previousEnd = lineEnd
    if (nl < 0) break
    lineStart = nl + 1
  }
  flush(-1, -1)
}

/**
 * Hex bytes with separators, as `xxd`, `od`, `hexdump`, MAC-style and C
 * array dumps print them: `41:4b:49`, `41 4b 49`, `41-4b-49`,
 * `0x41, 0x4b`, across line breaks. Eight bytes at least (the shortest
 * secret worth finding).
 */
const SEPARATED_HEX = /(?<![0-9A-Fa-f])(?:0[xX])?[0-9A-Fa-f]{2}(?:(?:[ \t]*[:,-][ \t]*|[ \t]+|[ \t]*\r?\n[ \t]*)(?:0[xX])?[0-9A-Fa-f]{2}(?![0-9A-Fa-f])){7,}/g

/** Every match of a spread-out form's `pattern` (global) in `text`, as runs of `kind`. */
function pushMatches(text: string, pattern: RegExp, kind: EncodedRun['kind'], runs: EncodedRun[]): void {
  pattern.lastIndex = 0
  for (const m of text.matchAll(pattern)) runs.push({ kind, start: m.index, end: m.index + m[0].length })
}

/**
 * Byte values in decimal, as a serialized byte array prints them
 * (`JSON.stringify(Buffer.from(secret))` gives `{"type":"Buffer","data":
 * [103,104,...]}`, Python's `list(secret.encode())` gives `[103, 104, ...]`)
 * or `od -An -tu1` does: eight values of 0-255 at least, separated by
 * commas, blanks or line breaks. A number list that is not bytes (years,
 * ids, token ids past 255) stops the run where a value leaves the range.
 */
const BYTE_VALUE = '(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])'
const SEPARATED_DECIMAL = new RegExp(`(?<![0-9.])${BYTE_VALUE}(?:(?:[ \\t]*,[ \\t]*|[ \\t]+|[ \\t]*\\r?\\n[ \\t]*)${BYTE_VALUE}(?![0-9.])){7,}`, 'g')

/** Cheap tests that say whether separated hex, or decimal bytes, can be present at all, for text without its bytes at hand. */
const MAYBE_SEPARATED_HEX = /[0-9A-Fa-f]{2}[ \t:,-]+(?:0[xX])?[0-9A-Fa-f]{2}[ \t:,-]/
const MAYBE_SEPARATED_DECIMAL = /[0-9][ \t]*[,\s][ \t]*[0-9]{1,3}[ \t]*[,\s][ \t]*[0-9]/
/** Eight separated hex bytes span at least 23 characters of this class. */
const MIN_SEPARATED_HEX = 23
let separatedHexBytes: ByteClass | undefined

/**
 * The spread-out runs alone (wrapped base64, separated hex, decimal bytes):
 * for callers that find contiguous runs their own way. With the text's
 * bytes at hand, the byte class pass finds the stretches that could hold
 * separated hex or decimal bytes (eight decimal values of two digits or
 * more, the printable ones, span as many characters as eight hex bytes),
 * and the regexes run only there.
 */
export function findSpreadRuns(text: string, bytes?: Uint8Array): EncodedRun[] {
  const runs: EncodedRun[] = []
  pushSpreadRuns(text, runs, bytes)
  return runs
}

function pushSpreadRuns(text: string, runs: EncodedRun[], bytes?: Uint8Array): void {
  if (text.includes('\n')) pushWrappedBase64(text, runs)
  if (bytes === undefined) {
    if (MAYBE_SEPARATED_HEX.test(text)) pushMatches(text, SEPARATED_HEX, 'hex-separated', runs)
    if (MAYBE_SEPARATED_DECIMAL.test(text)) pushMatches(text, SEPARATED_DECIMAL, 'decimal-separated', runs)
    return
  }
  separatedHexBytes ??= byteClass((c) => /[0-9A-Fa-fxX \t\r\n:,-]/.test(String.fromCharCode(c)))
  classRuns(bytes, separatedHexBytes, MIN_SEPARATED_HEX, (start, end) => {
    const found: EncodedRun[] = []
    const stretch = text.slice(start, end)
    pushMatches(stretch, SEPARATED_HEX, 'hex-separated', found)
    pushMatches(stretch, SEPARATED_DECIMAL, 'decimal-separated', found)
    for (const run of found) runs.push({ kind: run.kind, start: run.start + start, end: run.end + start })
  })
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
  if (upper === 0) return false
  if (lower === 0) return upperOnlyEncoded(text, start, end)
  return upper >= MIN_BASE64_UPPER_SHARE * n || switches >= MIN_BASE64_SWITCH_RATE * (n - 1)
}

/**
 * Base64 of base64 (or of other upper-case text) can come out in capitals
 * and digits only (`UVVGSVFVOUJRVUZC`), so a run without lower case is
 * still decoded when it is neither hex nor a name: no `_` or `-` (which
 * SCREAMING_CASE names are joined with), a letter past `F`, and at least
 * MIN_UPPER_ONLY_LETTERS different letters.
 */
function upperOnlyEncoded(text: string, start: number, end: number): boolean {
  let letters = 0
  let beyondHex = false
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i)
    if (c === 95 || c === 45) return false
    if (c >= 65 && c <= 90) {
      letters |= 1 << (c - 65)
      if (c > 70) beyondHex = true
    }
  }
  let distinct = 0
  for (let bits = letters; bits !== 0; bits &= bits - 1) distinct++
  return beyondHex && distinct >= MIN_UPPER_ONLY_LETTERS
}

const MIN_UPPER_ONLY_LETTERS = 6

/**
 * Could `text[start, end)` be one encoding of something (base64 or
 * base64url, hex, base32 in either alphabet)? The same tests the run finder
 * applies, for callers that hold a stretch of their own; base32 also needs
 * a digit or few vowels here, since words run together (`userassistant`)
 * are lower-case base32 characters too.
 */
export function looksEncoded(text: string, start: number, end: number): boolean {
  const n = end - start
  if (n < MIN_BASE64_RUN) return false
  // One pass for every test: character classes and their switches (base64), which base32 alphabets
  // (a bit per alphabet and case, as in B32) every character belongs to, hex, digits 2-7 and vowels.
  let upper = 0
  let lower = 0
  let switches = 0
  let prev = kindOf(text.charCodeAt(start))
  let b32 = 0xf
  let hex = true
  let base32Digit = false
  let vowels = 0
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i)
    if (c >= 128) return false
    const k = kindOf(c)
    if (k === 0) lower++
    else if (k === 1) upper++
    if (k !== prev) switches++
    prev = k
    b32 &= B32[c] as number
    if (((CLASS[c] as number) & HEX) === 0) hex = false
    if (c >= 50 && c <= 55) base32Digit = true
    if (c === 97 || c === 101 || c === 105 || c === 111 || c === 117 || c === 65 || c === 69 || c === 73 || c === 79 || c === 85) vowels++
  }
  if (upper > 0 && lower > 0 && (upper >= MIN_BASE64_UPPER_SHARE * n || switches >= MIN_BASE64_SWITCH_RATE * (n - 1))) return true
  if (hex) return n >= MIN_HEX_RUN
  if (b32 === 0 || n < MIN_BASE32_RUN) return false
  // Base32 spreads over its 32 symbols, 5 of them vowels; words run together are a third vowels.
  if (!base32Digit && vowels >= MAX_BASE32_VOWEL_SHARE * n) return false
  return base32Worth(text, start, end, (b32 & 3) !== 0 ? 'base32' : 'base32hex')
}

const MAX_BASE32_VOWEL_SHARE = 0.25

/** Columns of the per-character prefix counts `stretchProfile` keeps. */
const COLUMNS = 10
const UPPER_COL = 0
const LOWER_COL = 1
const SWITCH_COL = 2
const NONHEX_COL = 3
const DIGIT27_COL = 4
const VOWEL_COL = 5
/** Columns 6..9: characters outside each base32 alphabet (bit 1, 2, 4, 8 of B32). */
const NON_B32_COL = 6
let profileScratch = new Int32Array(1024 * COLUMNS)

/**
 * `looksEncoded` for many sub-ranges of one stretch: one pass keeps prefix
 * counts of everything the tests look at, so each range then costs a few
 * subtractions (the distinct-symbol test of base32 aside, which runs only
 * for a range that passes all the rest). The returned function is valid
 * until the next call.
 */
export function stretchProfile(text: string, start: number, end: number): (from: number, to: number) => boolean {
  const n = end - start
  if (profileScratch.length < (n + 1) * COLUMNS) profileScratch = new Int32Array((n + 1) * COLUMNS * 2)
  const p = profileScratch
  p.fill(0, 0, COLUMNS)
  let prev = kindOf(text.charCodeAt(start))
  let ascii = true
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(start + i)
    const at = (i + 1) * COLUMNS
    const was = i * COLUMNS
    for (let col = 0; col < COLUMNS; col++) p[at + col] = p[was + col] as number
    if (c >= 128) {
      ascii = false
      continue
    }
    const k = kindOf(c)
    if (k === 0) p[at + LOWER_COL] = (p[at + LOWER_COL] as number) + 1
    else if (k === 1) p[at + UPPER_COL] = (p[at + UPPER_COL] as number) + 1
    if (i > 0 && k !== prev) p[at + SWITCH_COL] = (p[at + SWITCH_COL] as number) + 1
    prev = k
    if (((CLASS[c] as number) & HEX) === 0) p[at + NONHEX_COL] = (p[at + NONHEX_COL] as number) + 1
    if (c >= 50 && c <= 55) p[at + DIGIT27_COL] = (p[at + DIGIT27_COL] as number) + 1
    if (c === 97 || c === 101 || c === 105 || c === 111 || c === 117 || c === 65 || c === 69 || c === 73 || c === 79 || c === 85) p[at + VOWEL_COL] = (p[at + VOWEL_COL] as number) + 1
    const b32 = B32[c] as number
    for (let bit = 0; bit < 4; bit++) if ((b32 & (1 << bit)) === 0) p[at + NON_B32_COL + bit] = (p[at + NON_B32_COL + bit] as number) + 1
  }
  return (from, to) => {
    const len = to - from
    if (!ascii || len < MIN_BASE64_RUN) return false
    const a = (from - start) * COLUMNS
    const b = (to - start) * COLUMNS
    const count = (col: number) => (p[b + col] as number) - (p[a + col] as number)
    const upper = count(UPPER_COL)
    const lower = count(LOWER_COL)
    // Switches between positions inside the range: the first position's own switch is from outside it.
    const switches = count(SWITCH_COL) - ((p[a + COLUMNS + SWITCH_COL] as number) - (p[a + SWITCH_COL] as number))
    if (upper > 0 && lower > 0 && (upper >= MIN_BASE64_UPPER_SHARE * len || switches >= MIN_BASE64_SWITCH_RATE * (len - 1))) return true
    if (count(NONHEX_COL) === 0) return len >= MIN_HEX_RUN
    if (len < MIN_BASE32_RUN) return false
    let alphabet: Base32Alphabet | undefined
    if (count(NON_B32_COL) === 0 || count(NON_B32_COL + 1) === 0) alphabet = 'base32'
    else if (count(NON_B32_COL + 2) === 0 || count(NON_B32_COL + 3) === 0) alphabet = 'base32hex'
    if (!alphabet) return false
    if (count(DIGIT27_COL) === 0 && count(VOWEL_COL) >= MAX_BASE32_VOWEL_SHARE * len) return false
    return base32Worth(text, from, to, alphabet)
  }
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
export function findEncodedRuns(text: string, actedOn?: CharRange[], bytes?: Uint8Array, gap = 0): EncodedRun[] {
  if (bytes !== undefined && bytes.length === text.length) return findEncodedRunsInBytes(text, bytes, actedOn, gap)
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
    pushBase32Runs(text, start, i, runs)
  }
  pushSpreadRuns(text, runs)
  return runs
}

/** `charBytesOf` for texts long enough that the byte-level passes pay for the copy; undefined for shorter ones. */
export function byteViewOf(text: string, minLength = 1024): Uint8Array | undefined {
  return text.length < minLength ? undefined : charBytesOf(text)
}

/**
 * One byte per character of any text, for the byte-level passes: ASCII as
 * itself, everything else as 0x80, which no keyword, encoding alphabet or
 * token class holds and which the passes treat as a character
 * normalization acts on, exactly as they treat a non-ASCII character.
 * Offsets are then the text's own, so a body with a few accented letters
 * or dashes keeps the fast passes.
 */
export function charBytesOf(text: string): Uint8Array {
  // latin1 keeps each character's low byte; the runs beyond ASCII are then overwritten, in native passes.
  const out = scanBytes(text.length)
  out.write(text, 0, 'latin1')
  BEYOND_ASCII.lastIndex = 0
  for (let m = BEYOND_ASCII.exec(text); m !== null; m = BEYOND_ASCII.exec(text)) out.fill(0x80, m.index, m.index + m[0].length)
  return out
}

const BEYOND_ASCII = /[^\x00-\x7f]+/g

/** Byte values normalization or escape decoding acts on in ASCII (`&` only before `#`, searched apart). */
const ACTED_ON_ASCII: readonly number[] = [...Array(128).keys()].filter((c) => c !== 38 && ((CLASS[c] as number) & ACTED_ON) !== 0)

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
  const beyond = actedOn && !isAscii(buf) ? beyondAscii(text, buf.length) : []
  if (beyond === undefined) return findEncodedRunsInLatin1(text, buf, actedOn as CharRange[], gap)
  const runs: EncodedRun[] = []
  // The base64 alphabet and MIN_BASE64_RUN, as the class pass other callers share reads them.
  const found = encodingRuns(bytes)
  for (let k = 0; k < found.length; k += 2) pushRun(text, bytes, found[k] as number, found[k + 1] as number, runs)
  pushSpreadRuns(text, runs, bytes)
  if (actedOn) actedOn.push(...(beyond.length === 0 ? actedOnAscii(buf, gap) : mergeRanges(actedOnAscii(buf, gap), beyond, gap)))
  return runs
}

/**
 * The runs of characters beyond ASCII (all of them acted on), by a native
 * search; undefined past one run per 64 characters, where reading every
 * byte costs less (binary read as latin1).
 */
function beyondAscii(text: string, length: number): CharRange[] | undefined {
  const most = Math.max(64, length >> 6)
  const out: CharRange[] = []
  BEYOND_ASCII.lastIndex = 0
  for (let m = BEYOND_ASCII.exec(text); m !== null; m = BEYOND_ASCII.exec(text)) {
    if (out.push([m.index, m.index + m[0].length]) > most) return undefined
  }
  return out
}

/** Two sorted lists of ranges as one, ranges at most `gap` apart joined. */
function mergeRanges(a: readonly CharRange[], b: readonly CharRange[], gap: number): CharRange[] {
  const out: CharRange[] = []
  let i = 0
  let j = 0
  while (i < a.length || j < b.length) {
    const next = j >= b.length || (i < a.length && (a[i] as CharRange)[0] <= (b[j] as CharRange)[0]) ? (a[i++] as CharRange) : (b[j++] as CharRange)
    const last = out[out.length - 1]
    if (last && last[1] + gap >= next[0]) last[1] = Math.max(last[1], next[1])
    else out.push([next[0], next[1]])
  }
  return out
}

/** Hex runs inside a base64-alphabet run, then the run itself as base64 (in the order the character loop finds them). */
function pushRun(text: string, bytes: Uint8Array, start: number, end: number, runs: EncodedRun[]): void {
  const isHex = (k: number) => ((CLASS[bytes[k] as number] as number) & HEX) !== 0
  probeRuns(start, end, MIN_HEX_RUN, isHex, (from, to) => {
    runs.push({ kind: 'hex', start: from, end: to })
  })
  pushBase64Runs(text, start, end, runs)
  pushBase32Runs(text, start, end, runs)
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
  pushSpreadRuns(text, runs, bytes)
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

/**
 * The readings of decoded bytes (not compressed) worth looking into: UTF-8
 * text; UTF-16/UTF-32 text (sniffed); and, for bytes that are not text,
 * the bytes themselves (latin1) when they hold a run of printable ASCII.
 * None when they cannot hold anything worth finding.
 */
function textVariants(kind: string, bytes: Buffer): DecodedVariant[] {
  let controls = 0
  const utf8 = isUtf8(bytes)
  if (utf8) {
    for (let i = 0; i < bytes.length; i++) {
      const b = bytes[i] as number
      if ((b < 32 && b !== 9 && b !== 10 && b !== 13) || b === 127) controls++
    }
    if (controls <= CONTROL_SHARE * bytes.length) return [{ kind, text: bytes.toString('utf8'), printable: true }]
  }
  const out: DecodedVariant[] = []
  // ASCII in UTF-16 or UTF-32 is valid UTF-8 full of NULs: read it as the wide text it is.
  const wide = readWideText(bytes)
  if (wide) out.push({ kind: `${kind}+${wide.encoding}`, text: wide.text, printable: true })
  if (hasTextRun(bytes)) out.push(utf8 ? { kind, text: bytes.toString('utf8'), printable: false } : { kind, text: bytes.toString('latin1'), printable: false, bytes })
  return out
}

/**
 * The variants for decoded bytes: inflated first when they are compressed
 * (within the budget, which the inflated bytes are charged to), then read
 * as text. Nested compression (a zip inside gzip) is the next layer's job.
 */
function toVariants(kind: string, bytes: Buffer, budget: DecodeBudget): DecodedVariant[] {
  const inflated = decompress(bytes, budget.remaining)
  if (inflated === undefined) return textVariants(kind, bytes)
  const chain = `${kind}+${inflated.kind}`
  if (inflated.status === 'too-large') {
    budget.exceeded = true
    return [{ kind: chain, problem: 'too-large' }]
  }
  if (inflated.status === 'unreadable') return [{ kind: chain, problem: 'unreadable' }]
  if (!charge(budget, inflated.bytes.length)) return [{ kind: chain, problem: 'too-large' }]
  return textVariants(chain, inflated.bytes)
}

function charge(budget: DecodeBudget, chars: number): boolean {
  if (budget.remaining < chars) {
    budget.exceeded = true
    return false
  }
  budget.remaining -= chars
  return true
}

const ESCAPE = /(?:\\x[0-9A-Fa-f]{2})+|(?:\\[0-3][0-7]{2})+|\\u\{([0-9A-Fa-f]{1,6})\}|\\u([0-9A-Fa-f]{4})|&#[xX]([0-9A-Fa-f]{1,6});?|&#([0-9]{1,7});?/g

/** An octal escape, `\101` (three digits, as C, shells' `printf` and Python's bytes print a byte). */
export const OCTAL_ESCAPE = /\\[0-3][0-7]{2}/

function codePointOrEmpty(cp: number): string {
  return cp <= 0x10ffff ? String.fromCodePoint(cp) : ''
}

/** A run of `\xHH` or `\ooo` escapes is bytes: UTF-8 when they are (as C, Python and shells mean them), else one character per byte. */
function escapedBytes(run: string): string {
  const bytes = run.charCodeAt(1) === 120 ? Buffer.from(run.replace(/\\x/g, ''), 'hex') : Buffer.from(run.slice(1).split('\\').map((o) => parseInt(o, 8)))
  return isUtf8(bytes) ? bytes.toString('utf8') : bytes.toString('latin1')
}

/** `\x67`, `\147`, `\u0067`, `\u{67}`, `&#x67;`, `&#103;` replaced by what they stand for; undefined when there are none. */
export function decodeEscapes(text: string): string | undefined {
  if (!text.includes('\\x') && !text.includes('\\u') && !text.includes('&#') && !OCTAL_ESCAPE.test(text)) return undefined
  const out = text.replace(ESCAPE, (m, ub?: string, u?: string, hx?: string, dec?: string) => {
    if (m.charCodeAt(0) === 92 && (m.charCodeAt(1) === 120 || (m.charCodeAt(1) >= 48 && m.charCodeAt(1) <= 51))) return escapedBytes(m)
    const hex = ub ?? u ?? hx
    return codePointOrEmpty(hex !== undefined ? parseInt(hex, 16) : parseInt(dec as string, 10))
  })
  return out === text ? undefined : out
}

/** Base64 text with its line breaks and indentation removed. */
function unwrapLines(text: string): string {
  return text.replace(/[\s=]+/g, '')
}

/** Separated hex as bare hex digits. */
function joinHexBytes(text: string): string {
  return text.replace(/0[xX]|[^0-9A-Fa-f]/g, '')
}

/**
 * Every decoding of every encoded run in `text` that could hold a secret,
 * lazily, while the budget lasts. `bytes`: the text one byte per
 * character (`charBytesOf`), for a cheaper search for runs.
 *
 * Runs are decoded at every offset a secret inside them could start at:
 * base64 at 4 character offsets, hex at 2, base32 at 8, so that a secret
 * behind a stray character, or inside longer encoded data, lines up with
 * one of them.
 */
export function* decodeVariants(text: string, budget: DecodeBudget, bytes?: Uint8Array): Generator<DecodedVariant> {
  const escaped = decodeEscapes(text)
  if (escaped !== undefined) {
    if (!charge(budget, escaped.length)) return
    yield { kind: 'escaped', text: escaped, printable: true }
  }
  for (const run of findEncodedRuns(text, undefined, bytes)) {
    const raw = text.slice(run.start, run.end)
    switch (run.kind) {
      case 'hex':
      case 'hex-separated': {
        const body = run.kind === 'hex' ? raw : joinHexBytes(raw)
        for (let offset = 0; offset < 2; offset++) {
          const usable = body.length - offset - ((body.length - offset) % 2)
          if (usable < MIN_HEX_RUN) continue
          if (!charge(budget, usable / 2)) return
          yield* toVariants('hex', Buffer.from(body.slice(offset, offset + usable), 'hex'), budget)
        }
        break
      }
      case 'decimal-separated': {
        const values = raw.split(/[^0-9]+/).filter((v) => v !== '')
        if (!charge(budget, values.length)) return
        yield* toVariants('decimal', Buffer.from(values.map(Number)), budget)
        break
      }
      case 'base32':
      case 'base32hex': {
        for (let offset = 0; offset < 8; offset++) {
          const usable = raw.length - offset
          if (usable < MIN_BASE32_RUN) continue
          if (!charge(budget, Math.ceil((usable * 5) / 8))) return
          yield* toVariants(run.kind, decodeBase32(raw.slice(offset), run.kind), budget)
        }
        break
      }
      case 'base64':
      case 'base64-lines': {
        const body = run.kind === 'base64' ? raw : unwrapLines(raw)
        for (let offset = 0; offset < 4; offset++) {
          const usable = body.length - offset
          if (usable < MIN_BASE64_RUN) continue
          if (!charge(budget, Math.ceil((usable * 3) / 4))) return
          // Node's decoder accepts both alphabets and missing padding.
          yield* toVariants('base64', Buffer.from(body.slice(offset), 'base64'), budget)
        }
        break
      }
    }
    if (budget.exceeded) return
  }
}
