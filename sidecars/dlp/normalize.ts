/**
 * Undo the cheap ways of hiding a secret from a pattern, so that detection
 * sees what the receiver will see:
 *
 * 1. percent-decoding to a fixpoint (`%2567` -> `%67` -> `g`) in one linear
 *    pass, so no round limit is needed for nesting;
 * 2. invisible characters removed (zero-width, bidi controls, soft hyphen,
 *    variation selectors, exotic and control whitespace, C0/C1 controls
 *    other than tab, CR and LF) and Unicode tag characters read as the ASCII
 *    they encode;
 * 3. Unicode folding: combining marks dropped (NFD), then NFKC, so fullwidth,
 *    mathematical and accented forms become ASCII;
 * 4. Cyrillic, Greek and other look-alikes folded to Latin (`confusables.ts`).
 *
 * The steps feed each other (NFKC turns `％` into `%`; removing a zero-width
 * character can complete `%6\u200b7`), so they repeat until nothing changes.
 * Forcing one more round takes an escape that is itself hidden behind an
 * escape (`%EF%BC%85` is a fullwidth `%`), which triples the input per round,
 * so real inputs settle in two or three rounds; the 16-round cap is a safety
 * net, and `exhausted` reports when it was hit.
 */
import { Buffer } from 'node:buffer'
import { foldConfusables } from './confusables.js'
import { scanBytes } from './scan-arena.js'

export type NormalizationStep = 'url-encoded' | 'zero-width' | 'unicode-tags' | 'unicode' | 'confusable'

export interface Normalized {
  text: string
  /** The steps that changed something, in pipeline order. */
  steps: NormalizationStep[]
  /** The round cap was reached before a fixpoint: the input nests its encodings suspiciously deep. */
  exhausted: boolean
}

export const MAX_NORMALIZATION_ROUNDS = 16

/** Plain printable ASCII without `%`: nothing to normalize. */
const NEEDS_WORK = /[^\t\n\r\x20-\x24\x26-\x7e]/

function isHexByte(b: number): boolean {
  return (b >= 48 && b <= 57) || (b >= 65 && b <= 70) || (b >= 97 && b <= 102)
}

function hexValue(b: number): number {
  return b <= 57 ? b - 48 : (b | 0x20) - 87
}

const UTF8 = new TextDecoder('utf-8')

/**
 * Percent-decode until no `%XX` is left. Decoding works on a byte stack: after
 * every push, a `%` `H` `H` on top is replaced by its byte, which may complete
 * another triple below it. Each reduction shrinks the stack by two, so the
 * whole fixpoint costs one pass.
 */
export function percentDecodeFully(text: string): string {
  if (!text.includes('%')) return text
  const input = Buffer.from(text, 'utf8')
  const stack = new Uint8Array(input.length)
  let top = 0
  let changed = false
  for (let i = 0; i < input.length; i++) {
    stack[top++] = input[i] as number
    while (top >= 3 && stack[top - 3] === 37 && isHexByte(stack[top - 2] as number) && isHexByte(stack[top - 1] as number)) {
      const byte = (hexValue(stack[top - 2] as number) << 4) | hexValue(stack[top - 1] as number)
      top -= 3
      stack[top++] = byte
      changed = true
    }
  }
  return changed ? UTF8.decode(stack.subarray(0, top)) : text
}

/** One round of percent-decoding, as a receiver does it: `%2579` becomes `%79`, not `y`. */
export function percentDecodeOnce(text: string): string {
  const decoded = text.replace(/(?:%[0-9A-Fa-f]{2})+/g, (run) => {
    const bytes = Buffer.from(run.replace(/%/g, ''), 'hex')
    return UTF8.decode(bytes)
  })
  return decoded
}

// Zero-width and format characters, bidi controls, exotic spaces, C0/C1 controls (not \t \n \r),
// Hangul fillers, variation selectors and the BOM.
const INVISIBLE =
  /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u00A0\u00AD\u034F\u061C\u115F\u1160\u1680\u17B4\u17B5\u180B-\u180F\u2000-\u200F\u2028-\u202F\u205F-\u206F\u3000\u3164\uFE00-\uFE0F\uFEFF\uFFA0]|\uDB40[\uDD00-\uDDEF]/g
/** Unicode tag characters U+E0000..U+E007F: invisible, but each one spells an ASCII character. */
const TAG = /\uDB40[\uDC00-\uDC7F]/g

export function removeInvisible(text: string): string {
  return text.replace(INVISIBLE, '')
}

export function readUnicodeTags(text: string): string {
  return text.replace(TAG, (pair) => {
    const code = pair.charCodeAt(1) - 0xdc00
    return code >= 0x20 && code <= 0x7e ? String.fromCharCode(code) : ''
  })
}

const MARKS = /[\p{Mn}\p{Me}]/gu

export function foldUnicode(text: string): string {
  return text.normalize('NFD').replace(MARKS, '').normalize('NFKC')
}

const NON_ASCII = /[^\x00-\x7f]/
const BEYOND_LATIN1 = /[^\x00-\xff]/
const PERCENT_ESCAPE = /%[0-9A-Fa-f]{2}/
const OUTSIDE_PRINTABLE = /[^\t\n\r\x20-\x7e]/

/**
 * A run of characters outside printable ASCII. Every step after
 * percent-decoding acts within such a run: invisible characters, tags and
 * look-alikes are single characters, and once combining marks are dropped no
 * character composes with a printable ASCII one on either side (checked for
 * every code point against every printable character), so folding the runs
 * one by one gives the text folding it whole gives.
 */
const CLUSTER = /[^\t\n\r\x20-\x7e]+/g

interface FoldedCluster {
  text: string
  steps: readonly NormalizationStep[]
  /** `text` holds nothing past U+00FF, so it fits a one-byte string. */
  narrow: boolean
}

/** Invisible characters, tags, Unicode folding and look-alikes, in that order, over one cluster. */
function foldCluster(cluster: string): FoldedCluster {
  const steps: NormalizationStep[] = []
  let t = cluster
  const visible = removeInvisible(t)
  if (visible !== t) steps.push('zero-width')
  t = visible
  if (!NON_ASCII.test(t)) return { text: t, steps, narrow: true }
  const untagged = readUnicodeTags(t)
  if (untagged !== t) steps.push('unicode-tags')
  t = untagged
  const early = foldConfusables(t)
  if (early !== t) steps.push('confusable')
  t = early
  const folded = foldUnicode(t)
  if (folded !== t) steps.push('unicode')
  t = folded
  const latin = foldConfusables(t)
  if (latin !== t) steps.push('confusable')
  return { text: latin, steps, narrow: !BEYOND_LATIN1.test(latin) }
}

/**
 * Prose brings the same few clusters again and again (`é`, `—`): their
 * folds are kept, within a bound, so a long text costs one regex pass and a
 * lookup per cluster.
 */
const CACHED_CLUSTER_LENGTH = 8
const CLUSTER_CACHE_ENTRIES = 4096
const clusterCache = new Map<string, FoldedCluster>()

function foldClusterCached(cluster: string): FoldedCluster {
  if (cluster.length > CACHED_CLUSTER_LENGTH) return foldCluster(cluster)
  let folded = clusterCache.get(cluster)
  if (folded === undefined) {
    if (clusterCache.size >= CLUSTER_CACHE_ENTRIES) clusterCache.clear()
    folded = foldCluster(cluster)
    clusterCache.set(cluster, folded)
  }
  return folded
}

function round(text: string, steps: Set<NormalizationStep>): string {
  let t = text
  if (PERCENT_ESCAPE.test(t)) {
    const decoded = percentDecodeFully(t)
    if (decoded !== t) steps.add('url-encoded')
    t = decoded
  }
  if (!OUTSIDE_PRINTABLE.test(t)) return t
  // Pieces are copied only from the first cluster that changes: a text that is already folded is not rebuilt.
  const pieces: string[] = []
  let copied = 0
  let length = 0
  let narrow = true
  CLUSTER.lastIndex = 0
  for (let m = CLUSTER.exec(t); m !== null; m = CLUSTER.exec(t)) {
    const cluster = m[0]
    const folded = foldClusterCached(cluster)
    narrow &&= folded.narrow
    if (folded.text === cluster) continue
    for (const step of folded.steps) steps.add(step)
    const before = t.slice(copied, m.index)
    pieces.push(before, folded.text)
    length += before.length + folded.text.length
    copied = m.index + cluster.length
  }
  if (pieces.length === 0) return t
  const rest = t.slice(copied)
  pieces.push(rest)
  length += rest.length
  return narrow && length >= ONE_BYTE_FROM ? oneByteString(pieces, length) : pieces.join('')
}

/**
 * Folded prose (`é` to `e`, `—` to `-`) usually fits one byte per character
 * while the text it came from did not. Joined from slices of that text, it
 * would keep two bytes per character; written through a byte buffer, it is
 * half the size, and every later pass reads it as one-byte text.
 */
const ONE_BYTE_FROM = 4096

function oneByteString(pieces: readonly string[], length: number): string {
  const bytes = scanBytes(length)
  let at = 0
  for (const piece of pieces) at += bytes.write(piece, at, 'latin1')
  return bytes.toString('latin1', 0, at)
}

const ORDER: readonly NormalizationStep[] = ['url-encoded', 'zero-width', 'unicode-tags', 'unicode', 'confusable']

export function normalizeDetailed(text: string, maxRounds: number = MAX_NORMALIZATION_ROUNDS): Normalized {
  if (!NEEDS_WORK.test(text)) return { text, steps: [], exhausted: false }
  const steps = new Set<NormalizationStep>()
  let current = text
  for (let i = 0; i < maxRounds; i++) {
    const next = round(current, steps)
    if (next === current) return { text: current, steps: ORDER.filter((s) => steps.has(s)), exhausted: false }
    current = next
  }
  return { text: current, steps: ORDER.filter((s) => steps.has(s)), exhausted: round(current, new Set()) !== current }
}

/** The text a pattern should see. Idempotent: `normalize(normalize(x)) === normalize(x)` whenever the round cap is not hit. */
export function normalize(text: string): string {
  return normalizeDetailed(text).text
}
