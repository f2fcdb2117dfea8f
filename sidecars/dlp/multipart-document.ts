/**
 * A `multipart/*` body as a document: every part's header lines, its
 * `name` and `filename`, and its content are segments, located as
 * `<location>.multipart[<i>].header:<name>`, `.name`, `.filename`,
 * `.content`. The raw body is read byte for byte (latin1) so binary parts
 * keep their offsets; parts that are UTF-8 or quoted-printable are also
 * read decoded: quoted-printable and base64 transfer encodings are undone
 * (base64 wrapped at any column), and compressed content, recognised by its
 * magic number, is inflated within the scan's budget.
 *
 * Structure that cannot be followed (no boundary, no closing delimiter, a
 * part without the blank line after its headers, a header line that is not
 * `name: value`, a transfer or content coding the engine cannot read) makes
 * the whole body unreadable, and callers fail closed.
 */
import { Buffer, isUtf8 } from 'node:buffer'
import { decodeBodyText } from './body-text.js'
import type { DecodeBudget } from './decode-variants.js'
import { decompress } from './decompress.js'
import { selectSegments, type DocumentSegment, type TextDocument } from './inspect-document.js'
import { MAX_DECODE_DEPTH, SCAN_LIMIT_RULE, UNREADABLE_RULE } from './inspect-layers.js'
import type { NameCheck } from './json-document.js'
import { unreadableContentEncoding } from './media-type.js'

export type MultipartResult = { ok: true; doc: TextDocument } | { ok: false; reason: string }

interface Span {
  start: number
  end: number
  name: string
}

/** RFC 2046: 1-70 characters from a restricted set, not ending in a space. */
const BOUNDARY = /^[0-9A-Za-z'()+_,\-./:=? ]{0,69}[0-9A-Za-z'()+_,\-./:=?]$/
const HEADER_LINE = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+)[ \t]*:(.*)$/s
const DISPOSITION_PARAM = /;\s*(name|filename\*?)\s*=\s*("(?:[^"\\]|\\.)*"|[^;\s]*)/gi
const READABLE_TRANSFER = new Set(['7bit', '8bit', 'binary', 'base64', 'quoted-printable'])

function decodeQuotedPrintable(text: string): Buffer {
  const out: number[] = []
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c === 61) {
      if (text[i + 1] === '\n') {
        i += 1
        continue
      }
      if (text[i + 1] === '\r' && text[i + 2] === '\n') {
        i += 2
        continue
      }
      const hex = text.slice(i + 1, i + 3)
      if (/^[0-9A-Fa-f]{2}$/.test(hex)) {
        out.push(parseInt(hex, 16))
        i += 2
        continue
      }
    }
    out.push(c & 0xff)
  }
  return Buffer.from(out)
}

function isAscii(buf: Buffer): boolean {
  for (let i = 0; i < buf.length; i++) if ((buf[i] as number) > 0x7f) return false
  return true
}

type Note = { rule: string; at: number; encoding: string | undefined }

/** A part's content as the receiver gets it: transfer encoding undone, compression inflated (or a note why not). */
function partContent(raw: Buffer, transfer: string, at: number, budget: DecodeBudget, notes: Note[]): Buffer | undefined {
  let bytes: Buffer | undefined
  if (transfer === 'quoted-printable') bytes = decodeQuotedPrintable(raw.toString('latin1'))
  // Node's base64 decoder skips the line breaks of a wrapped body, at whatever column they fall.
  else if (transfer === 'base64') bytes = Buffer.from(raw.toString('latin1'), 'base64')
  const chain: string[] = transfer === 'base64' || transfer === 'quoted-printable' ? [transfer] : []
  for (let layer = 0; ; layer++) {
    const inflated = decompress(bytes ?? raw, budget.remaining)
    if (inflated === undefined) break
    const kinds = [...chain, inflated.kind].join('+')
    if (inflated.status === 'unreadable') {
      notes.push({ rule: UNREADABLE_RULE, at, encoding: kinds })
      break
    }
    if (layer >= MAX_DECODE_DEPTH || inflated.status === 'too-large' || budget.remaining < inflated.bytes.length) {
      budget.exceeded = true
      notes.push({ rule: SCAN_LIMIT_RULE, at, encoding: kinds })
      break
    }
    budget.remaining -= inflated.bytes.length
    chain.push(inflated.kind)
    bytes = inflated.bytes
  }
  return bytes
}

export function multipartDocument(bytes: Uint8Array, boundary: string | undefined, location: string, isSafeName: NameCheck, budget: DecodeBudget): MultipartResult {
  if (boundary === undefined) return { ok: false, reason: 'multipart body without a boundary parameter' }
  if (!BOUNDARY.test(boundary)) return { ok: false, reason: 'multipart boundary is not valid' }
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const raw = buf.toString('latin1')
  const delimiter = `--${boundary}`
  const spans: Span[] = []
  const segments: DocumentSegment[] = []
  const base = `${location}.multipart`

  const notes: Note[] = []
  const contents: string[] = []
  const segment = (start: number, end: number, decoded?: Buffer) => {
    if (end <= start) return
    const slice = decoded ?? buf.subarray(start, end)
    if (decoded === undefined && (isAscii(slice) || !isUtf8(slice))) {
      segments.push({ text: raw.slice(start, end), rawStart: start, rawEnd: end, rawCovered: true })
    } else {
      segments.push({ text: decodeBodyText(slice, undefined).text, rawStart: start, rawEnd: end, rawCovered: false })
    }
  }

  let pos = raw.startsWith(delimiter) ? 0 : raw.indexOf(`\n${delimiter}`) + 1
  if (pos <= 0 && !raw.startsWith(delimiter)) return { ok: false, reason: 'multipart body has no opening boundary' }
  if (pos > 0) {
    spans.push({ start: 0, end: pos, name: `${base}.preamble` })
    segment(0, pos)
  }

  for (let index = 0; ; index++) {
    const afterDelimiter = pos + delimiter.length
    if (raw.startsWith('--', afterDelimiter)) {
      const epilogue = afterDelimiter + 2
      if (epilogue < raw.length) {
        spans.push({ start: epilogue, end: raw.length, name: `${base}.epilogue` })
        segment(epilogue, raw.length)
      }
      break
    }
    const lineEnd = raw.indexOf('\n', afterDelimiter)
    if (lineEnd < 0) return { ok: false, reason: 'multipart body ends inside a boundary line' }
    if (!/^[ \t]*\r?$/.test(raw.slice(afterDelimiter, lineEnd))) return { ok: false, reason: `multipart part ${index} boundary line has trailing data` }
    const part = `${base}[${index}]`

    // Header lines up to the first empty line.
    let cursor = lineEnd + 1
    const lines: { start: number; end: number }[] = []
    for (;;) {
      const nl = raw.indexOf('\n', cursor)
      if (nl < 0 || raw.startsWith(delimiter, cursor)) return { ok: false, reason: `multipart part ${index} has no blank line after its headers` }
      const end = raw.charCodeAt(nl - 1) === 13 ? nl - 1 : nl
      if (end === cursor) {
        cursor = nl + 1
        break
      }
      const folded = raw.charCodeAt(cursor) === 32 || raw.charCodeAt(cursor) === 9
      const previous = lines[lines.length - 1]
      if (folded && previous) previous.end = end
      else lines.push({ start: cursor, end })
      cursor = nl + 1
    }
    const contentStart = cursor

    let transfer = ''
    for (const line of lines) {
      const text = raw.slice(line.start, line.end)
      const m = HEADER_LINE.exec(text)
      if (!m) return { ok: false, reason: `multipart part ${index} has a malformed header line` }
      const headerName = (m[1] as string).toLowerCase()
      const value = (m[2] as string).trim().toLowerCase()
      if (headerName === 'content-encoding') {
        const unreadable = unreadableContentEncoding(value)
        if (unreadable) return { ok: false, reason: `multipart part ${index}: ${unreadable}` }
      }
      if (headerName === 'content-transfer-encoding') {
        if (!READABLE_TRANSFER.has(value)) return { ok: false, reason: `multipart part ${index} has an unreadable content-transfer-encoding` }
        transfer = value
      }
      const lineName = `${part}.header:${isSafeName(headerName) ? headerName : '#'}`
      let from = line.start
      if (headerName === 'content-disposition') {
        for (const p of text.matchAll(DISPOSITION_PARAM)) {
          const paramValue = p[2] as string
          const valueStart = line.start + p.index + p[0].length - paramValue.length
          const valueEnd = valueStart + paramValue.length
          spans.push({ start: from, end: valueStart, name: lineName })
          segment(from, valueStart)
          const param = (p[1] as string).toLowerCase().startsWith('filename') ? 'filename' : 'name'
          spans.push({ start: valueStart, end: valueEnd, name: `${part}.${param}` })
          segment(valueStart, valueEnd)
          from = valueEnd
        }
      }
      spans.push({ start: from, end: line.end, name: lineName })
      segment(from, line.end)
    }

    const next = raw.indexOf(`\n${delimiter}`, contentStart - 1)
    if (next < 0) return { ok: false, reason: 'multipart body has no closing boundary' }
    let contentEnd = raw.charCodeAt(next - 1) === 13 ? next - 1 : next
    if (contentEnd < contentStart) contentEnd = contentStart
    spans.push({ start: contentStart, end: contentEnd, name: `${part}.content` })
    segment(contentStart, contentEnd, partContent(buf.subarray(contentStart, contentEnd), transfer, contentStart, budget, notes))
    if (contentEnd > contentStart) contents.push((segments[segments.length - 1] as DocumentSegment).text)
    pos = next + 1
  }

  spans.sort((a, b) => a.start - b.start)
  segments.sort((a, b) => a.rawStart - b.rawStart)
  return {
    ok: true,
    doc: {
      raw,
      notes,
      joins: () => [
        { fields: contents, location: `${base}(joined)` },
        { fields: segments.map((seg) => seg.text), location: `${base}(joined)` },
      ],
      segmentsFor: (ranges) => selectSegments(segments, ranges),
      locate: (offsets) =>
        offsets.map((offset) => {
          let lo = 0
          let hi = spans.length - 1
          let found: Span | undefined
          while (lo <= hi) {
            const mid = (lo + hi) >> 1
            const span = spans[mid] as Span
            if (span.start <= offset) {
              found = span
              lo = mid + 1
            } else hi = mid - 1
          }
          return found && offset < found.end ? found.name : base
        }),
    },
  }
}
