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
 * A `Content-Encoding` other than identity is refused: the engine does not
 * inflate, and callers fail closed.
 */
import { decodeBodyText } from './body-text.js'
import type { DecodeBudget } from './decode-variants.js'
import type { FindingCollector } from './findings.js'
import { formDocument } from './form-document.js'
import { inspectDocument, selectSegments, type TextDocument } from './inspect-document.js'
import type { Detectors } from './inspect-layers.js'
import { lazyJsonDocument, type NameCheck } from './json-document.js'
import { isJsonType, parseMediaType, unreadableContentEncoding } from './media-type.js'
import { multipartDocument } from './multipart-document.js'
import type { BodyScanInput } from './types.js'

export type BodyDocument = { ok: true; doc: TextDocument } | { ok: false; reason: string }

function wholeText(raw: string, location: string): TextDocument {
  const whole = [{ text: raw, rawStart: 0, rawEnd: raw.length, rawCovered: true }]
  return {
    raw,
    segmentsFor: (ranges) => selectSegments(whole, ranges),
    locate: (offsets) => offsets.map(() => location),
  }
}

export function bodyDocument(input: BodyScanInput, location: string, isSafeName: NameCheck): BodyDocument {
  const unreadable = unreadableContentEncoding(input.contentEncoding)
  if (unreadable) return { ok: false, reason: unreadable }
  const type = parseMediaType(input.contentType)
  if (type.essence.startsWith('multipart/')) return multipartDocument(input.body, type.params.get('boundary'), location, isSafeName)
  const { text, binary, bytes } = decodeBodyText(input.body, type.params.get('charset'))
  return { ok: true, doc: withBytes(textDocument(text, binary, type.essence, location, isSafeName), bytes) }
}

function textDocument(text: string, binary: boolean, essence: string, location: string, isSafeName: NameCheck): TextDocument {
  if (binary) return wholeText(text, `${location}.binary`)
  if (isJsonType(essence)) return lazyJsonDocument(text, location, isSafeName, () => wholeText(text, `${location}.text`))
  if (essence === 'application/x-www-form-urlencoded') return formDocument(text, location, isSafeName)
  return wholeText(text, `${location}.text`)
}

function withBytes(doc: TextDocument, bytes: Uint8Array | undefined): TextDocument {
  if (bytes) doc.rawBytes = bytes
  return doc
}

export function inspectBody(
  input: BodyScanInput,
  location: string,
  detectors: Detectors,
  isSafeName: NameCheck,
  collector: FindingCollector,
  budget: DecodeBudget,
): BodyDocument {
  const parsed = bodyDocument(input, location, isSafeName)
  if (parsed.ok) inspectDocument(parsed.doc, detectors, collector, budget)
  return parsed
}
