/**
 * UTF-16 and UTF-32 text, in either byte order, recognised from the bytes
 * themselves (a byte order mark, or the zero bytes that ASCII leaves in the
 * high half of every unit), whatever charset a header declares. A receiver
 * that sniffs, or simply strips the zeros, reads the text; so does the scan.
 */
import { Buffer } from 'node:buffer'

export type WideEncoding = 'utf-16le' | 'utf-16be' | 'utf-32le' | 'utf-32be'

/** How many leading bytes the zero-byte test looks at: enough for a verdict, bounded for big bodies. */
const SNIFF_BYTES = 4096
/**
 * Share of units whose high bytes must be zero for text without a byte
 * order mark: ASCII text scores near 1, text padded with invisible or
 * non-Latin characters lower, random bytes about 1/256 (UTF-16) or 1/2^24.
 * Callers keep the byte-for-byte reading beside this one, so a binary
 * format misread as wide text loses nothing.
 */
const ZERO_SHARE = 0.3

function zeroShare(bytes: Uint8Array, unit: number, at: readonly number[]): number {
  const units = Math.floor(Math.min(bytes.length, SNIFF_BYTES) / unit)
  if (units < 4) return 0
  let zeros = 0
  for (let u = 0; u < units; u++) {
    let all = true
    for (const offset of at) if (bytes[u * unit + offset] !== 0) all = false
    if (all) zeros++
  }
  return zeros / units
}

/**
 * Whether the sniffed bytes hold enough zeros for any of the tests below to
 * pass: the fewest is a UTF-16 test's, one zero in ZERO_SHARE of its units.
 * Binary data, with a zero in 256 bytes, fails this one count.
 */
function enoughZeros(bytes: Uint8Array): boolean {
  const window = Math.min(bytes.length, SNIFF_BYTES)
  const needed = Math.min(ZERO_SHARE * Math.floor(window / 2), 3 * ZERO_SHARE * Math.floor(window / 4))
  let zeros = 0
  for (let i = 0; i < window; i++) if (bytes[i] === 0) zeros++
  return zeros >= needed
}

/** The wide encoding the bytes are in, and where the text starts (past a byte order mark). */
export function sniffWideEncoding(bytes: Uint8Array): { encoding: WideEncoding; start: number } | undefined {
  const [b0, b1, b2, b3] = [bytes[0], bytes[1], bytes[2], bytes[3]]
  if (b0 === 0xff && b1 === 0xfe && b2 === 0 && b3 === 0) return { encoding: 'utf-32le', start: 4 }
  if (b0 === 0 && b1 === 0 && b2 === 0xfe && b3 === 0xff) return { encoding: 'utf-32be', start: 4 }
  if (b0 === 0xff && b1 === 0xfe) return { encoding: 'utf-16le', start: 2 }
  if (b0 === 0xfe && b1 === 0xff) return { encoding: 'utf-16be', start: 2 }
  // No mark: ASCII in a wide encoding leaves zero bytes in fixed positions of every unit.
  if (!enoughZeros(bytes)) return undefined
  if (zeroShare(bytes, 4, [1, 2, 3]) >= ZERO_SHARE) return { encoding: 'utf-32le', start: 0 }
  if (zeroShare(bytes, 4, [0, 1, 2]) >= ZERO_SHARE) return { encoding: 'utf-32be', start: 0 }
  if (zeroShare(bytes, 2, [1]) >= ZERO_SHARE) return { encoding: 'utf-16le', start: 0 }
  if (zeroShare(bytes, 2, [0]) >= ZERO_SHARE) return { encoding: 'utf-16be', start: 0 }
  return undefined
}

function decodeUtf32(bytes: Uint8Array, littleEndian: boolean): string | undefined {
  if (bytes.length % 4 !== 0) return undefined
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const points: number[] = []
  let out = ''
  for (let i = 0; i < bytes.length; i += 4) {
    const cp = view.getUint32(i, littleEndian)
    if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return undefined
    points.push(cp)
    // Flush in slices: fromCodePoint takes its arguments on the stack.
    if (points.length === 8192) {
      out += String.fromCodePoint(...points)
      points.length = 0
    }
  }
  return out + String.fromCodePoint(...points)
}

/** Decode bytes in a wide encoding; undefined when they are not valid in it. */
export function decodeWide(bytes: Uint8Array, encoding: WideEncoding): string | undefined {
  if (encoding === 'utf-32le' || encoding === 'utf-32be') return decodeUtf32(bytes, encoding === 'utf-32le')
  if (bytes.length % 2 !== 0) return undefined
  try {
    return new TextDecoder(encoding, { fatal: true }).decode(bytes)
  } catch {
    return undefined
  }
}

/** The text of wide-encoded bytes (sniffed), or undefined when they are not wide text. */
export function readWideText(bytes: Uint8Array): { text: string; encoding: WideEncoding } | undefined {
  const sniffed = sniffWideEncoding(bytes)
  if (!sniffed) return undefined
  const text = decodeWide(Buffer.from(bytes.buffer, bytes.byteOffset + sniffed.start, bytes.byteLength - sniffed.start), sniffed.encoding)
  return text === undefined ? undefined : { text, encoding: sniffed.encoding }
}
