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
import { Buffer, isUtf8 } from 'node:buffer'

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
 * A letters-only run is decoded only when it looks like base64 rather than
 * a camelCase identifier (`createScannerWithOptions`): 30%+ upper case, or
 * a switch between upper and lower case at 30%+ of positions (random base64
 * switches class at about 65%; identifiers at 20-30%). Runs with a digit or
 * a `+/-_` are always decoded. This keeps code-heavy bodies from decoding
 * every identifier while base64 of base64 (mostly upper case) still passes.
 */
export const MIN_BASE64_UPPER_SHARE = 0.3
export const MIN_BASE64_SWITCH_RATE = 0.3

const B64 = 1
const HEX = 2
const CLASS = new Uint8Array(128)
for (let c = 0; c < 128; c++) {
  const ch = String.fromCharCode(c)
  if (/[A-Za-z0-9+/_-]/.test(ch)) CLASS[c] = (CLASS[c] as number) | B64
  if (/[0-9A-Fa-f]/.test(ch)) CLASS[c] = (CLASS[c] as number) | HEX
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
  let switches = 0
  let digitOrSymbol = false
  let prev = kindOf(text.charCodeAt(start))
  for (let i = start; i < end; i++) {
    const k = kindOf(text.charCodeAt(i))
    if (k >= 2) digitOrSymbol = true
    else if (k === 1) upper++
    if (k !== prev) switches++
    prev = k
  }
  const n = end - start
  return digitOrSymbol || upper >= MIN_BASE64_UPPER_SHARE * n || switches >= MIN_BASE64_SWITCH_RATE * (n - 1)
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

/** Maximal base64-alphabet and hex runs long enough to hold an 8-byte secret, in one pass. */
export function findEncodedRuns(text: string): EncodedRun[] {
  const runs: EncodedRun[] = []
  let b64Start = -1
  let hexStart = -1
  const n = text.length
  for (let i = 0; i <= n; i++) {
    const c = i < n ? text.charCodeAt(i) : 0
    const cls = c < 128 ? (CLASS[c] as number) : 0
    if (cls & HEX) {
      if (hexStart < 0) hexStart = i
    } else if (hexStart >= 0) {
      if (i - hexStart >= MIN_HEX_RUN) runs.push({ kind: 'hex', start: hexStart, end: i })
      hexStart = -1
    }
    if (cls & B64) {
      if (b64Start < 0) b64Start = i
    } else if (b64Start >= 0) {
      if (i - b64Start >= MIN_BASE64_RUN) pushBase64Runs(text, b64Start, i, runs)
      b64Start = -1
    }
  }
  return runs
}

const CONTROL_SHARE = 0.1

function toVariant(kind: DecodeKind, bytes: Buffer): DecodedVariant {
  if (!isUtf8(bytes)) return { kind, text: bytes.toString('latin1'), printable: false }
  let controls = 0
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i] as number
    if ((b < 32 && b !== 9 && b !== 10 && b !== 13) || b === 127) controls++
  }
  return { kind, text: bytes.toString('utf8'), printable: controls <= CONTROL_SHARE * bytes.length }
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

/** Every decoding of every encoded run in `text`, lazily, while the budget lasts. */
export function* decodeVariants(text: string, budget: DecodeBudget): Generator<DecodedVariant> {
  const escaped = decodeEscapes(text)
  if (escaped !== undefined) {
    if (!charge(budget, escaped.length)) return
    yield { kind: 'escaped', text: escaped, printable: true }
  }
  for (const run of findEncodedRuns(text)) {
    const body = text.slice(run.start, run.end)
    if (run.kind === 'hex') {
      for (let offset = 0; offset < 2; offset++) {
        const usable = body.length - offset - ((body.length - offset) % 2)
        if (usable < MIN_HEX_RUN) continue
        if (!charge(budget, usable / 2)) return
        yield toVariant('hex', Buffer.from(body.slice(offset, offset + usable), 'hex'))
      }
    } else {
      for (let offset = 0; offset < 4; offset++) {
        const usable = body.length - offset
        if (usable < MIN_BASE64_RUN) continue
        if (!charge(budget, Math.ceil((usable * 3) / 4))) return
        // Node's decoder accepts both alphabets and missing padding.
        yield toVariant('base64', Buffer.from(body.slice(offset), 'base64'))
      }
    }
  }
}
