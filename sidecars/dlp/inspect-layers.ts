/**
 * Detection through the layers a secret can hide under: the text as given,
 * its normalization, and every decoding of its encoded runs, recursively
 * (each decoded text is normalized and decoded again) up to
 * MAX_DECODE_DEPTH layers and within the scan's decode budget. Every hit is
 * reported with the chain of encodings that revealed it, outermost first:
 * `url-encoded+base64+hex`.
 */
import { decodeVariants, type DecodeBudget } from './decode-variants.js'
import type { KnownSecrets } from './known-secrets.js'
import { normalizeDetailed, removeInvisible } from './normalize.js'
import type { CredentialMatch } from './types.js'

export const KNOWN_SECRET_RULE = 'known-secret'
/** Reported when a scan stops early (nesting too deep, decode budget spent), so callers can fail closed. */
export const SCAN_LIMIT_RULE = 'scan-limit-exceeded'
export const MAX_DECODE_DEPTH = 4

export interface Detectors {
  findCredentials(text: string): CredentialMatch[]
  knownSecrets: KnownSecrets
}

export interface LayerHit {
  rule: string
  index: number
  /** For known secrets found in a precomputed encoded form. */
  encoding: string | undefined
}

/** One layer: credential patterns and known secrets in `text` exactly as given. */
export function detectLayer(text: string, detectors: Detectors): LayerHit[] {
  const hits: LayerHit[] = detectors.findCredentials(text).map((m) => ({ rule: m.rule, index: m.index, encoding: undefined }))
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
 * Everything below the surface of `text`: its normalization and its decoded
 * runs. The surface itself is the caller's job (`detectLayer`), because
 * documents run it once over their whole raw text.
 */
export function inspectBelowSurface(
  text: string,
  chain: readonly string[],
  depth: number,
  detectors: Detectors,
  budget: DecodeBudget,
  report: ReportHit,
): void {
  const normalized = normalizeDetailed(text)
  if (normalized.exhausted) report(SCAN_LIMIT_RULE, chainOf(chain, 'url-encoded'))
  let base = text
  let baseChain = chain
  if (normalized.text !== text) {
    base = normalized.text
    baseChain = [...chain, ...normalized.steps]
    for (const hit of detectLayer(base, detectors)) report(hit.rule, chainOf(baseChain, hit.encoding))
  }
  if (depth >= MAX_DECODE_DEPTH) return
  for (const variant of decodeVariants(base, budget)) {
    const variantChain = [...baseChain, variant.kind]
    for (const hit of detectLayer(variant.text, detectors)) report(hit.rule, chainOf(variantChain, hit.encoding))
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
    if (budget.exceeded) break
  }
  if (budget.exceeded) report(SCAN_LIMIT_RULE, chainOf(baseChain))
}
