/**
 * Detection through the layers a secret can hide under: the text as given,
 * its normalization, and every decoding of its encoded runs, recursively
 * (each decoded text is normalized and decoded again) up to
 * MAX_DECODE_DEPTH layers and within the scan's decode budget. Every hit is
 * reported with the chain of encodings that revealed it, outermost first:
 * `url-encoded+base64+hex`.
 */
import { BYTE_PASSES_MIN_LENGTH } from './byte-scan.js'
import { byteViewOf, decodeVariants, type DecodeBudget } from './decode-variants.js'
import type { KnownSecrets } from './known-secrets.js'
import { normalizeDetailed, percentDecodeOnce, removeInvisible } from './normalize.js'
import type { CredentialMatch } from './types.js'

export const KNOWN_SECRET_RULE = 'known-secret'
/** Reported when a scan stops early (nesting too deep, decode budget spent), so callers can fail closed. */
export const SCAN_LIMIT_RULE = 'scan-limit-exceeded'
/** Reported for recognised content that cannot be read (bzip2, xz, zstd, an encrypted zip entry, a corrupt gzip stream). */
export const UNREADABLE_RULE = 'unreadable-encoding'
/**
 * Decode layers read below the surface: base64, base32, hex, escapes and
 * compression each count as one; normalization (percent-decoding, invisible
 * characters, Unicode folding) does not. A text that still decodes past the
 * last layer is reported as SCAN_LIMIT_RULE.
 */
export const MAX_DECODE_DEPTH = 4

/** The encoding a finding reports when blanks inside the token were closed up to find it. */
export const GAPS_CLOSED = 'gaps-closed'

export interface Detectors {
  /** `bytes`, when given, is `text` one byte per character (`charBytesOf`): a cheaper input for the keyword pass. */
  findCredentials(text: string, bytes?: Uint8Array): CredentialMatch[]
  knownSecrets: KnownSecrets
}

export interface LayerHit {
  rule: string
  index: number
  /** For known secrets found in a precomputed encoded form. */
  encoding: string | undefined
}

/** One layer: credential patterns and known secrets in `text` exactly as given (`bytes`: one per character, when at hand). */
export function detectLayer(text: string, detectors: Detectors, bytes?: Uint8Array): LayerHit[] {
  const hits: LayerHit[] = detectors.findCredentials(text, bytes).map((m) => ({ rule: m.rule, index: m.index, encoding: m.gapsClosed ? GAPS_CLOSED : undefined }))
  for (const hit of detectors.knownSecrets.find(text)) hits.push({ rule: KNOWN_SECRET_RULE, index: hit.index, encoding: hit.encoding })
  return hits
}

export type ReportHit = (rule: string, encoding: string | undefined) => void

/** Budget for one scan: decoding may produce 16 characters per input character, plus 64 Ki for small inputs. */
export function decodeBudgetFor(inputLength: number): DecodeBudget {
  return { remaining: 16 * inputLength + 65_536, exceeded: false }
}

function chainOf(chain: readonly string[], extra?: string): string | undefined {
  const all = extra ? [...chain, extra] : chain
  return all.length > 0 ? all.join('+') : undefined
}

/**
 * A secret that normalization reveals must contain a character normalization
 * changes, so in long text with few such characters only windows around them
 * need it: the window reaches far enough either side to hold any credential
 * the patterns match, even interleaved with invisible characters. Where the
 * windows would cover most of the text (prose in a language with accents),
 * the whole text is normalized instead: that costs one pass, and its decoded
 * runs then stand for the raw ones, which are otherwise decoded a second time.
 */
export const NORMALIZATION_WINDOW = 1024
const WHOLE_TEXT_UP_TO = 4 * NORMALIZATION_WINDOW
/** Characters normalization may act on: controls, anything beyond ASCII, percent escapes. */
const CHANGEABLE = /(?:[^\t\n\r\x20-\x7e]|%[0-9A-Fa-f]{2})+/g

interface NormalizedPart {
  text: string
  steps: readonly string[]
  exhausted: boolean
  whole: boolean
}

function wholeNormalized(text: string): NormalizedPart[] {
  const n = normalizeDetailed(text)
  return n.text === text && !n.exhausted ? [] : [{ ...n, whole: true }]
}

/** The normalized forms of `text` that differ from it: the whole text when short or mostly covered, else merged windows. */
function normalizedParts(text: string): NormalizedPart[] {
  if (text.length <= WHOLE_TEXT_UP_TO) return wholeNormalized(text)
  const windows: [number, number][] = []
  let covered = 0
  for (const m of text.matchAll(CHANGEABLE)) {
    const start = Math.max(0, m.index - NORMALIZATION_WINDOW)
    const end = Math.min(text.length, m.index + m[0].length + NORMALIZATION_WINDOW)
    const last = windows[windows.length - 1]
    if (last && start <= last[1]) {
      covered += end - last[1]
      last[1] = end
    } else {
      windows.push([start, end])
      covered += end - start
    }
    if (2 * covered > text.length) return wholeNormalized(text)
  }
  const parts: NormalizedPart[] = []
  for (const [start, end] of windows) {
    const slice = text.slice(start, end)
    const n = normalizeDetailed(slice)
    if (n.text !== slice || n.exhausted) parts.push({ ...n, whole: false })
  }
  return parts
}

function decodeAndInspect(
  text: string,
  chain: readonly string[],
  depth: number,
  detectors: Detectors,
  budget: DecodeBudget,
  report: ReportHit,
  bytes?: Uint8Array,
): void {
  for (const variant of decodeVariants(text, budget, bytes)) {
    const variantChain = [...chain, variant.kind]
    if ('problem' in variant) {
      report(variant.problem === 'unreadable' ? UNREADABLE_RULE : SCAN_LIMIT_RULE, chainOf(variantChain))
    } else {
      for (const hit of detectLayer(variant.text, detectors, variant.bytes)) report(hit.rule, chainOf(variantChain, hit.encoding))
      if (variant.printable) {
        inspectBelowSurface(variant.text, variantChain, depth + 1, detectors, budget, report)
      } else {
        // Binary: not decoded further, but text interleaved with NULs (UTF-16) or control bytes is read through them.
        const visible = removeInvisible(variant.text)
        if (visible !== variant.text) {
          const visibleChain = [...variantChain, 'zero-width']
          for (const hit of detectLayer(visible, detectors)) report(hit.rule, chainOf(visibleChain, hit.encoding))
        }
      }
    }
    if (budget.exceeded) break
  }
  if (budget.exceeded) report(SCAN_LIMIT_RULE, chainOf(chain))
}

/**
 * At the last layer the engine reads, a text that still decodes to
 * something readable is hidden deeper than the scan goes: that is a finding
 * in itself (fail closed), never a silent pass. Natural data almost never
 * nests readable encodings this deep.
 */
function reportUndecodedDepth(text: string, chain: readonly string[], budget: DecodeBudget, report: ReportHit): void {
  for (const variant of decodeVariants(text, budget)) {
    if ('problem' in variant || variant.printable) {
      report(SCAN_LIMIT_RULE, chainOf(chain, `${variant.kind}(beyond depth ${MAX_DECODE_DEPTH})`))
      return
    }
  }
}

/**
 * Everything below the surface of `text`: its normalization and its decoded
 * runs. The surface itself is the caller's job (`detectLayer`), because
 * documents run it once over their whole raw text. `bytes`: the text one
 * byte per character (`charBytesOf`), for the search for encoded runs.
 */
export function inspectBelowSurface(
  text: string,
  chain: readonly string[],
  depth: number,
  detectors: Detectors,
  budget: DecodeBudget,
  report: ReportHit,
  bytes?: Uint8Array,
): void {
  const parts = normalizedParts(text)
  const decode = depth < MAX_DECODE_DEPTH ? decodeAndInspect : (t: string, c: readonly string[]) => reportUndecodedDepth(t, c, budget, report)
  for (const part of parts) {
    if (part.exhausted) report(SCAN_LIMIT_RULE, chainOf(chain, 'url-encoded'))
    const partChain = [...chain, ...part.steps]
    // A long normalized text gets the byte passes, as the raw text it replaces had them.
    const bytes = byteViewOf(part.text, BYTE_PASSES_MIN_LENGTH)
    for (const hit of detectLayer(part.text, detectors, bytes)) report(hit.rule, chainOf(partChain, hit.encoding))
    decode(part.text, partChain, depth, detectors, budget, report, bytes)
  }
  // Percent-decoding to a fixpoint also decodes a `%79` that was part of the secret (some tokens hold `%`);
  // a receiver decodes once, so the text decoded once is read too.
  if (text.includes('%2') && parts.some((part) => part.steps.includes('url-encoded'))) {
    const once = percentDecodeOnce(text)
    if (once !== text) for (const hit of detectLayer(once, detectors)) report(hit.rule, chainOf(chain, hit.encoding ? `url-encoded-once+${hit.encoding}` : 'url-encoded-once'))
  }
  // Unless one normalized part stands for the whole text, the runs outside the windows are decoded as they are.
  if (!(parts.length === 1 && (parts[0] as NormalizedPart).whole)) decode(text, chain, depth, detectors, budget, report, bytes)
}
