/**
 * The content codings the proxy can undo to redact an answer: gzip (and its
 * old name x-gzip), deflate (zlib-wrapped as the RFC says, or raw as some
 * servers send it) and br. Only these are offered upstream
 * (rewrite-headers.ts, limitAcceptEncoding); an answer in any other coding,
 * or in a stack of codings, is refused rather than passed on unread.
 *
 * Decoders finish leniently on a truncated stream (as browsers and curl do)
 * and stream: a decompression bomb costs CPU, never memory.
 */
import type { Transform } from 'node:stream'
import { constants, createBrotliDecompress, createGunzip, createInflate, createInflateRaw } from 'node:zlib'

export type ContentCoding = 'gzip' | 'deflate' | 'br'

export const DECODABLE_CODINGS: readonly ContentCoding[] = ['gzip', 'deflate', 'br']

export type CodingPlan = { kind: 'identity' } | { kind: 'decode'; coding: ContentCoding } | { kind: 'undecodable'; coding: string }

/** What to do with a body given every Content-Encoding header of the answer (flat raw list). */
export function planDecoding(rawHeaders: readonly string[]): CodingPlan {
  const codings: string[] = []
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    if ((rawHeaders[i] as string).toLowerCase() !== 'content-encoding') continue
    for (const token of (rawHeaders[i + 1] as string).split(',')) {
      const coding = token.trim().toLowerCase()
      if (coding !== '' && coding !== 'identity') codings.push(coding)
    }
  }
  if (codings.length === 0) return { kind: 'identity' }
  const only = codings.length === 1 ? normalizeCoding(codings[0] as string) : undefined
  return only ? { kind: 'decode', coding: only } : { kind: 'undecodable', coding: codings.join(', ').slice(0, 60) }
}

function normalizeCoding(coding: string): ContentCoding | undefined {
  if (coding === 'gzip' || coding === 'x-gzip') return 'gzip'
  if (coding === 'deflate' || coding === 'br') return coding
  return undefined
}

/** A decoder for `coding`; `first` is the body's first chunk, which tells zlib-wrapped deflate from raw. */
export function createContentDecoder(coding: ContentCoding, first: Buffer): Transform {
  if (coding === 'gzip') return createGunzip({ finishFlush: constants.Z_SYNC_FLUSH })
  if (coding === 'br') return createBrotliDecompress({ finishFlush: constants.BROTLI_OPERATION_FLUSH })
  return zlibWrapped(first) ? createInflate({ finishFlush: constants.Z_SYNC_FLUSH }) : createInflateRaw({ finishFlush: constants.Z_SYNC_FLUSH })
}

/** RFC 1950 header: method 8, window at most 32 KiB, and the two bytes a multiple of 31. */
function zlibWrapped(first: Buffer): boolean {
  const cmf = first[0]
  if (cmf === undefined || (cmf & 0x0f) !== 8 || cmf >> 4 > 7) return false
  const flg = first[1]
  return flg === undefined || ((cmf << 8) | flg) % 31 === 0
}
