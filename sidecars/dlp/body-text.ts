/**
 * Bytes to the text a receiver would read. UTF-8 when the bytes are UTF-8,
 * the declared UTF-16 when one is declared, and otherwise latin1: one
 * character per byte, so any ASCII-shaped secret inside binary content stays
 * contiguous and visible to the patterns.
 */
import { Buffer, isAscii, isUtf8 } from 'node:buffer'
import { BYTE_PASSES_MIN_LENGTH } from './byte-scan.js'

export interface BodyText {
  text: string
  /** Not valid text in any charset the engine reads: decoded byte for byte. */
  binary: boolean
  /**
   * The input bytes when character i of `text` is byte i (ASCII, or latin1
   * for binary), so byte-level passes can stand in for passes over the text;
   * absent on bodies too short for those passes to pay.
   */
  bytes?: Uint8Array
}

export function decodeBodyText(bytes: Uint8Array, charset: string | undefined): BodyText {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const cs = charset?.toLowerCase()
  if (cs === 'utf-16le' || cs === 'utf-16' || cs === 'utf-16be') {
    try {
      return { text: new TextDecoder(cs).decode(buf), binary: false }
    } catch {
      // A runtime without this decoder: fall through; latin1 plus NUL removal still reads ASCII from UTF-16.
    }
  }
  const byteView = buf.length >= BYTE_PASSES_MIN_LENGTH ? { bytes } : {}
  // ASCII is UTF-8 read the cheap way, and most request bodies are ASCII (JSON escapes what is not).
  if (isAscii(buf)) return { text: buf.toString('latin1'), binary: false, ...byteView }
  if (isUtf8(buf)) return { text: buf.toString('utf8'), binary: false }
  return { text: buf.toString('latin1'), binary: true, ...byteView }
}
