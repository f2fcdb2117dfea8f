/**
 * Bytes to the text a receiver would read.
 *
 * - UTF-16 or UTF-32 (either byte order), recognised from the bytes
 *   themselves whatever charset is declared (`wide-text.ts`): a receiver
 *   that sniffs reads that text, so the scan does.
 * - Otherwise the declared charset, which must fit the bytes: a declared
 *   charset that does not (invalid UTF-8 under `charset=utf-8`, or a label
 *   the engine has no decoder for, such as UTF-7) is reported, since the
 *   engine could not say what the receiver will read.
 * - Otherwise UTF-8 when the bytes are UTF-8, and latin1 when they are not:
 *   one character per byte, so any ASCII-shaped secret inside binary content
 *   stays contiguous and visible to the patterns.
 *
 * When the reading chosen is not the byte-for-byte one, the byte-for-byte
 * reading is kept too (`alsoRead`), for receivers that ignore charsets.
 */
import { Buffer, isAscii, isUtf8 } from 'node:buffer'
import { BYTE_PASSES_MIN_LENGTH } from './byte-scan.js'
import { byteViewOf } from './decode-variants.js'
import { decodeWide, readWideText, sniffWideEncoding, type WideEncoding } from './wide-text.js'

export interface BodyText {
  text: string
  /** Not valid text in any charset the engine reads: decoded byte for byte. */
  binary: boolean
  /**
   * One byte per character of `text` (the input bytes for ASCII and for
   * latin1-read binary; `charBytesOf` for other UTF-8 text), so byte-level
   * passes can stand in for passes over the text; absent on bodies too
   * short for those passes to pay.
   */
  bytes?: Uint8Array
  /** Another reading of the same bytes a receiver may use, when it differs from `text`. */
  alsoRead?: string
  /** The declared charset does not fit the bytes, or has no decoder here: why, without quoting the body. */
  charsetProblem?: string
}

const UTF8_LABELS = new Set(['utf-8', 'utf8', 'unicode-1-1-utf-8'])
/** How far into a body a UTF-16/32 test looks for the zero byte it needs. */
const WIDE_PROBE = 4096

function looksWide(buf: Buffer): boolean {
  const first = buf[0]
  if (first === 0xff || first === 0xfe) return true
  const zero = buf.indexOf(0)
  return zero >= 0 && zero < WIDE_PROBE
}

function byteReading(buf: Buffer): string {
  return isUtf8(buf) ? buf.toString('utf8') : buf.toString('latin1')
}

/** The declared charset's reading, or why there is none. */
function declaredReading(buf: Buffer, charset: string): { text: string } | { problem: string } {
  if (UTF8_LABELS.has(charset)) {
    return isUtf8(buf) ? { text: buf.toString('utf8') } : { problem: 'the body is not valid in its declared charset utf-8' }
  }
  let decoder: InstanceType<typeof TextDecoder>
  try {
    decoder = new TextDecoder(charset, { fatal: true })
  } catch {
    return { problem: 'the body declares a charset the engine cannot read' }
  }
  try {
    return { text: decoder.decode(buf) }
  } catch {
    return { problem: `the body is not valid in its declared charset ${decoder.encoding}` }
  }
}

/** The wide encoding a declared label names (`utf-16` without a byte order: the mark decides, else little-endian). */
function declaredWide(label: string, buf: Buffer): { encoding: WideEncoding; start: number } | undefined {
  const sniffed = sniffWideEncoding(buf)
  if (label === 'utf-16' || label === 'utf-32') {
    if (sniffed && sniffed.encoding.startsWith(label)) return sniffed
    return { encoding: label === 'utf-16' ? 'utf-16le' : 'utf-32le', start: 0 }
  }
  if (label === 'utf-16le' || label === 'utf-16be' || label === 'utf-32le' || label === 'utf-32be') {
    return { encoding: label, start: sniffed?.encoding === label ? sniffed.start : 0 }
  }
  return undefined
}

export function decodeBodyText(bytes: Uint8Array, charset: string | undefined): BodyText {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const byteView = buf.length >= BYTE_PASSES_MIN_LENGTH ? { bytes } : {}
  const declared = charset?.trim().toLowerCase()
  const unfit = (problem: string): BodyText => ({ text: buf.toString('latin1'), binary: true, ...byteView, charsetProblem: problem })

  const wideLabel = declared ? declaredWide(declared, buf) : undefined
  if (wideLabel) {
    const text = decodeWide(buf.subarray(wideLabel.start), wideLabel.encoding)
    return text === undefined ? unfit(`the body is not valid in its declared charset ${declared}`) : { text, binary: false, alsoRead: byteReading(buf) }
  }
  if (looksWide(buf)) {
    const wide = readWideText(buf)
    if (wide) return { text: wide.text, binary: false, alsoRead: byteReading(buf) }
  }

  // ASCII fits every other charset a body may declare, so the common case stays cheap.
  const ascii = isAscii(buf)
  if (declared && !ascii) {
    const reading = declaredReading(buf, declared)
    if ('problem' in reading) return unfit(reading.problem)
    const plain = byteReading(buf)
    if (reading.text !== plain) return { text: reading.text, binary: false, alsoRead: plain }
  }

  // ASCII is UTF-8 read the cheap way, and most request bodies are ASCII (JSON escapes what is not).
  if (ascii) return { text: buf.toString('latin1'), binary: false, ...byteView }
  if (isUtf8(buf)) {
    const text = buf.toString('utf8')
    const bytes = byteViewOf(text, BYTE_PASSES_MIN_LENGTH)
    return bytes ? { text, binary: false, bytes } : { text, binary: false }
  }
  return { text: buf.toString('latin1'), binary: true, ...byteView }
}
