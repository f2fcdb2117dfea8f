/**
 * Compressed bytes, recognised by their magic number whatever the headers
 * say, so that `gzip | base64` or a zip upload does not walk a secret past
 * the patterns.
 *
 * - gzip, zlib and zip (stored and deflated entries) are inflated here,
 *   within the caller's output limit;
 * - bzip2, xz and zstd are recognised but not inflated (Node 20 has no
 *   decoder for them): the caller refuses them, as it refuses an encrypted
 *   zip entry;
 * - an inflation that would pass the limit is a bomb or simply too much to
 *   scan: the caller fails closed.
 *
 * A truncated or corrupt stream still yields what inflated before the
 * damage (a receiver may read that much); one that yields nothing holds
 * nothing any receiver could read, and is left as the bytes it is (zlib's
 * two-byte header is weak anyway: one text in ~2000 starting with `x`
 * passes its check).
 */
import { Buffer } from 'node:buffer'
import { constants, gunzipSync, inflateRawSync, inflateSync, brotliDecompressSync } from 'node:zlib'

export type CompressionKind = 'gzip' | 'zlib' | 'zip' | 'bzip2' | 'xz' | 'zstd'

export type Decompressed =
  /** What the bytes inflate to (zip: every entry's content, in order). */
  | { status: 'ok'; kind: CompressionKind; bytes: Buffer }
  /** A format this engine recognises and cannot read (or an encrypted entry), or a stream too damaged to read. */
  | { status: 'unreadable'; kind: CompressionKind; reason: string }
  /** Inflating would produce more than the limit allows. */
  | { status: 'too-large'; kind: CompressionKind }

/** The compression format the bytes start with, if any. */
export function compressionOf(bytes: Uint8Array): CompressionKind | undefined {
  if (bytes.length < 4) return undefined
  const [b0, b1, b2, b3] = bytes as unknown as [number, number, number, number]
  if (b0 === 0x1f && b1 === 0x8b && b2 === 0x08) return 'gzip'
  if (b0 === 0x50 && b1 === 0x4b && b2 === 0x03 && b3 === 0x04) return 'zip'
  if (b0 === 0x42 && b1 === 0x5a && b2 === 0x68 && b3 >= 0x31 && b3 <= 0x39) return 'bzip2'
  if (b0 === 0x28 && b1 === 0xb5 && b2 === 0x2f && b3 === 0xfd) return 'zstd'
  if (b0 === 0xfd && b1 === 0x37 && b2 === 0x7a && b3 === 0x58 && bytes[4] === 0x5a && bytes[5] === 0x00) return 'xz'
  // CMF: deflate with a window of at most 32 KiB; FCHECK makes CMF*256+FLG a multiple of 31; no preset dictionary.
  if ((b0 & 0x0f) === 8 && b0 >> 4 <= 7 && ((b0 << 8) | b1) % 31 === 0 && (b1 & 0x20) === 0) return 'zlib'
  return undefined
}

const LENIENT = { finishFlush: constants.Z_SYNC_FLUSH }

function isTooLarge(error: unknown): boolean {
  return error instanceof RangeError || (error as NodeJS.ErrnoException)?.code === 'ERR_BUFFER_TOO_LARGE'
}

/** Inflate with the stream's own framing, keeping what came out before any damage. */
function inflateLeniently(inflate: typeof inflateSync, bytes: Uint8Array, maxOutput: number): { bytes: Buffer; damaged: boolean } | 'too-large' {
  try {
    return { bytes: inflate(bytes, { maxOutputLength: Math.max(1, maxOutput) }), damaged: false }
  } catch (error) {
    if (isTooLarge(error)) return 'too-large'
  }
  try {
    return { bytes: inflate(bytes, { ...LENIENT, maxOutputLength: Math.max(1, maxOutput) }), damaged: true }
  } catch (error) {
    if (isTooLarge(error)) return 'too-large'
    return { bytes: Buffer.alloc(0), damaged: true }
  }
}

/**
 * Every entry of a zip file, by its local headers (the central directory is
 * not needed to read the data, and a crafted one could hide entries from a
 * reader that trusted it). Entries are concatenated with a newline between.
 */
function unzip(bytes: Uint8Array, maxOutput: number): Decompressed {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const out: Buffer[] = []
  let size = 0
  let at = 0
  while (at + 30 <= buf.length && buf.readUInt32LE(at) === 0x04034b50) {
    const flags = buf.readUInt16LE(at + 6)
    const method = buf.readUInt16LE(at + 8)
    const declared = buf.readUInt32LE(at + 18)
    const nameLength = buf.readUInt16LE(at + 26)
    const extraLength = buf.readUInt16LE(at + 28)
    const dataStart = at + 30 + nameLength + extraLength
    if (dataStart > buf.length) return { status: 'unreadable', kind: 'zip', reason: 'zip entry header runs past the end' }
    // The entry name is part of what leaves, too.
    out.push(buf.subarray(at + 30, at + 30 + nameLength), Buffer.from('\n'))
    if ((flags & 0x1) !== 0) return { status: 'unreadable', kind: 'zip', reason: 'encrypted zip entries cannot be scanned' }
    // Bit 3: sizes follow the data, so the declared size may be 0; a deflate stream ends itself.
    const streamed = (flags & 0x8) !== 0
    let data: Buffer
    let consumed: number
    if (method === 0) {
      if (streamed) return { status: 'unreadable', kind: 'zip', reason: 'stored zip entry without a size' }
      consumed = Math.min(declared, buf.length - dataStart)
      data = buf.subarray(dataStart, dataStart + consumed)
    } else if (method === 8) {
      const end = streamed || declared === 0 ? buf.length : Math.min(buf.length, dataStart + declared)
      const inflated = inflateLeniently(inflateRawSync, buf.subarray(dataStart, end), maxOutput - size)
      if (inflated === 'too-large') return { status: 'too-large', kind: 'zip' }
      if (inflated.damaged && inflated.bytes.length === 0) return { status: 'unreadable', kind: 'zip', reason: 'a zip entry does not inflate' }
      data = inflated.bytes
      consumed = end - dataStart
      if (streamed) {
        // Without a size, the next entry is found by its signature.
        const next = buf.indexOf(Buffer.from([0x50, 0x4b, 0x03, 0x04]), dataStart + 1)
        consumed = next < 0 ? buf.length - dataStart : next - dataStart
      }
    } else {
      return { status: 'unreadable', kind: 'zip', reason: `zip compression method ${method} cannot be scanned` }
    }
    size += data.length + nameLength + 1
    if (size > maxOutput) return { status: 'too-large', kind: 'zip' }
    out.push(data, Buffer.from('\n'))
    at = dataStart + consumed
    // An optional data descriptor (with or without its signature) sits between entries.
    const sig = at + 4 <= buf.length ? buf.readUInt32LE(at) : 0
    if (streamed && sig === 0x08074b50) at += 16
  }
  return { status: 'ok', kind: 'zip', bytes: Buffer.concat(out) }
}

/**
 * Inflate `bytes` when they start with a compression magic number.
 * Undefined when they do not (or when a weak zlib header does not inflate).
 */
export function decompress(bytes: Uint8Array, maxOutput: number): Decompressed | undefined {
  const kind = compressionOf(bytes)
  if (kind === undefined) return undefined
  switch (kind) {
    case 'bzip2':
    case 'xz':
    case 'zstd':
      return { status: 'unreadable', kind, reason: `${kind} data cannot be scanned` }
    case 'zip':
      return unzip(bytes, maxOutput)
    case 'gzip':
    case 'zlib': {
      const inflated = inflateLeniently(kind === 'gzip' ? gunzipSync : inflateSync, bytes, maxOutput)
      if (inflated === 'too-large') return { status: 'too-large', kind }
      // Nothing inflates: no receiver reads anything out of it either (a cut through a stream, or not a stream).
      if (inflated.damaged && inflated.bytes.length === 0) return undefined
      return { status: 'ok', kind, bytes: inflated.bytes }
    }
  }
}

/** Content codings named by a header that this engine inflates. */
export type ContentCoding = 'gzip' | 'deflate' | 'br'

export function contentCodingOf(name: string): ContentCoding | undefined {
  const coding = name.trim().toLowerCase()
  if (coding === 'gzip' || coding === 'x-gzip') return 'gzip'
  if (coding === 'deflate') return 'deflate'
  if (coding === 'br') return 'br'
  return undefined
}

/**
 * Undo one content coding a header names. `deflate` is zlib-wrapped by the
 * standard and raw in some clients: both are tried. Brotli has no magic
 * number, which is why it is only ever read when a header names it.
 */
export function decodeContentCoding(bytes: Uint8Array, coding: ContentCoding, maxOutput: number): Buffer | 'too-large' | 'unreadable' {
  const attempts = coding === 'gzip' ? [gunzipSync] : coding === 'br' ? [brotliDecompressSync] : [inflateSync, inflateRawSync]
  for (const inflate of attempts) {
    try {
      return inflate(bytes, { maxOutputLength: Math.max(1, maxOutput) })
    } catch (error) {
      if (isTooLarge(error)) return 'too-large'
    }
  }
  return 'unreadable'
}
