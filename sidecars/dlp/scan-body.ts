/**
 * A request body by its content type:
 * - JSON (`application/json`, `*+json`): every key and value, located by
 *   JSON path. Malformed JSON is scanned as text rather than refused: the
 *   text scan covers every byte, a lenient receiver may still read it, and
 *   refusing it would make the DLP engine a JSON validator that blocks
 *   agents over a trailing comma.
 * - `application/x-www-form-urlencoded`: every field name and value.
 * - `multipart/*`: every part's headers, name, filename and content; a body
 *   whose structure cannot be followed is refused.
 * - anything else: text, or byte for byte (latin1) when it is not UTF-8, so
 *   ASCII-shaped secrets inside binary content are still found.
 *
 * Before the content type is read, the body is unwrapped: the codings its
 * `Content-Encoding` names (gzip, deflate, br) are undone, and then
 * compression recognised by magic number (whatever the headers say, up to
 * MAX_DECODE_DEPTH layers) is inflated, all within the scan's decode
 * budget. A coding the engine does not know makes the body unreadable
 * (callers fail closed); a recognised format it cannot read (xz, bzip2,
 * zstd, an encrypted zip entry), an inflation past the budget, or a
 * declared charset that does not fit the bytes is a finding, so `dlp.action:
 * warn` warns about it like any other.
 */
import { decodeBodyText } from './body-text.js'
import { contentCodingOf, decodeContentCoding, decompress } from './decompress.js'
import type { DecodeBudget } from './decode-variants.js'
import type { FindingCollector, FindingSink } from './findings.js'
import { formDocument } from './form-document.js'
import { inspectDocument, wholeTextDocument, type TextDocument } from './inspect-document.js'
import { detectLayer, inspectBelowSurface, MAX_DECODE_DEPTH, SCAN_LIMIT_RULE, UNREADABLE_RULE, type Detectors } from './inspect-layers.js'
import { jsonLinesDocument, lazyJsonDocument, type NameCheck } from './json-document.js'
import { isJsonLinesType, isJsonType, parseMediaType, unreadableContentEncoding } from './media-type.js'
import { multipartDocument } from './multipart-document.js'
import type { BodyScanInput } from './types.js'

/** Reported when the declared charset does not fit the body, or names one the engine cannot read. */
export const CHARSET_MISMATCH_RULE = 'charset-mismatch'

export type BodyDocument = { ok: true; doc: TextDocument } | { ok: false; reason: string }

interface Unwrapped {
  bytes: Uint8Array
  /** The codings undone, outermost first (`gzip`, `br+zip`); undefined when none. */
  chain: string | undefined
}

function charge(budget: DecodeBudget, bytes: number): boolean {
  if (budget.remaining < bytes) {
    budget.exceeded = true
    return false
  }
  budget.remaining -= bytes
  return true
}

/**
 * Undo the header's content codings, then any compression the bytes start
 * with. Problems that are findings go to `sink` at `location`; a coding
 * nobody can name makes the body unreadable.
 */
function unwrapBody(input: BodyScanInput, location: string, budget: DecodeBudget, sink: FindingSink): Unwrapped | { reason: string } {
  let bytes = input.body
  const chain: string[] = []
  // Codings are listed in the order they were applied: undo the last first.
  const codings = input.contentEncoding ? input.contentEncoding.split(',').map((c) => c.trim().toLowerCase()).filter((c) => c !== '' && c !== 'identity') : []
  for (const name of codings.reverse()) {
    const coding = contentCodingOf(name)
    if (coding === undefined) return { reason: unreadableContentEncoding(name) ?? 'an unrecognized content-encoding is not inspected' }
    const out = decodeContentCoding(bytes, coding, budget.remaining)
    if (out === 'unreadable') return { reason: `content-encoding ${coding} does not decode` }
    if (out === 'too-large' || !charge(budget, out.length)) {
      sink.add(SCAN_LIMIT_RULE, location, [...chain, coding].join('+'))
      return { bytes: new Uint8Array(0), chain: undefined }
    }
    chain.push(coding)
    bytes = out
  }
  for (let layer = 0; ; layer++) {
    const inflated = decompress(bytes, budget.remaining)
    if (inflated === undefined) break
    const kinds = [...chain, inflated.kind].join('+')
    if (layer >= MAX_DECODE_DEPTH || inflated.status === 'too-large' || (inflated.status === 'ok' && !charge(budget, inflated.bytes.length))) {
      sink.add(SCAN_LIMIT_RULE, location, kinds)
      break
    }
    if (inflated.status === 'unreadable') {
      sink.add(UNREADABLE_RULE, location, kinds)
      break
    }
    chain.push(inflated.kind)
    bytes = inflated.bytes
  }
  return { bytes, chain: chain.length > 0 ? chain.join('+') : undefined }
}

interface ReadBody {
  doc: TextDocument
  /** A second reading of the same bytes to scan as plain text (see body-text.ts). */
  alsoRead?: string
  charsetProblem?: string
}

function readBody(bytes: Uint8Array, contentType: string | undefined, location: string, isSafeName: NameCheck, budget: DecodeBudget): ReadBody | { reason: string } {
  const type = parseMediaType(contentType)
  if (type.essence.startsWith('multipart/')) {
    const parsed = multipartDocument(bytes, type.params.get('boundary'), location, isSafeName, budget)
    return parsed.ok ? { doc: parsed.doc } : { reason: parsed.reason }
  }
  const read = decodeBodyText(bytes, type.params.get('charset'))
  const doc = textDocument(read.text, read.binary, type.essence, location, isSafeName)
  if (read.bytes) doc.rawBytes = read.bytes
  const out: ReadBody = { doc }
  if (read.alsoRead !== undefined) out.alsoRead = read.alsoRead
  if (read.charsetProblem !== undefined) out.charsetProblem = read.charsetProblem
  return out
}

function textDocument(text: string, binary: boolean, essence: string, location: string, isSafeName: NameCheck): TextDocument {
  if (binary) return wholeTextDocument(text, `${location}.binary`)
  if (isJsonType(essence)) return lazyJsonDocument(text, location, isSafeName, () => wholeTextDocument(text, `${location}.text`))
  if (essence === 'application/x-www-form-urlencoded') return formDocument(text, location, isSafeName)
  if (isJsonLinesType(essence)) return jsonLinesDocument(text, location)
  return wholeTextDocument(text, `${location}.text`)
}

export function inspectBody(
  input: BodyScanInput,
  location: string,
  detectors: Detectors,
  isSafeName: NameCheck,
  collector: FindingCollector,
  budget: DecodeBudget,
): BodyDocument {
  const unwrapped = unwrapBody(input, location, budget, collector)
  if ('reason' in unwrapped) return { ok: false, reason: unwrapped.reason }
  const read = readBody(unwrapped.bytes, input.contentType, location, isSafeName, budget)
  if ('reason' in read) return { ok: false, reason: read.reason }
  const sink = collector.unwrapped(unwrapped.chain)
  inspectDocument(read.doc, detectors, sink, budget)
  if (read.charsetProblem !== undefined) sink.add(CHARSET_MISMATCH_RULE, location, undefined)
  if (read.alsoRead !== undefined) {
    const at = `${location}.binary`
    const report = (rule: string, encoding: string | undefined) => sink.add(rule, at, encoding)
    for (const hit of detectLayer(read.alsoRead, detectors)) report(hit.rule, hit.encoding)
    inspectBelowSurface(read.alsoRead, [], 0, detectors, budget, report)
  }
  return { ok: true, doc: read.doc }
}
