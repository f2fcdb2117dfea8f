import { deflateRawSync, deflateSync, gzipSync, brotliCompressSync } from 'node:zlib'
import { describe, expect, it } from 'vitest'
import { createContentDecoder, planDecoding, type ContentCoding } from '../../../../sidecars/egress/content-decoding.js'

describe('planDecoding', () => {
  const cases = [
    { name: 'no Content-Encoding', raw: ['Content-Type', 'text/plain'], want: { kind: 'identity' } },
    { name: 'identity', raw: ['Content-Encoding', 'identity'], want: { kind: 'identity' } },
    { name: 'gzip, any case', raw: ['content-encoding', 'GZip'], want: { kind: 'decode', coding: 'gzip' } },
    { name: 'x-gzip', raw: ['Content-Encoding', 'x-gzip'], want: { kind: 'decode', coding: 'gzip' } },
    { name: 'br', raw: ['Content-Encoding', 'br'], want: { kind: 'decode', coding: 'br' } },
    { name: 'zstd', raw: ['Content-Encoding', 'zstd'], want: { kind: 'undecodable', coding: 'zstd' } },
    { name: 'stacked codings', raw: ['Content-Encoding', 'gzip, br'], want: { kind: 'undecodable', coding: 'gzip, br' } },
    { name: 'stacked over two headers', raw: ['Content-Encoding', 'gzip', 'Content-Encoding', 'gzip'], want: { kind: 'undecodable', coding: 'gzip, gzip' } },
  ]
  it.each(cases)('$name', ({ raw, want }) => {
    expect(planDecoding(raw)).toEqual(want)
  })
})

describe('createContentDecoder', () => {
  const text = Buffer.from('{"hello":"world"} '.repeat(200))
  const cases: Array<{ name: string; coding: ContentCoding; encoded: Buffer }> = [
    { name: 'gzip', coding: 'gzip', encoded: gzipSync(text) },
    { name: 'deflate, zlib-wrapped', coding: 'deflate', encoded: deflateSync(text) },
    { name: 'deflate, raw', coding: 'deflate', encoded: deflateRawSync(text) },
    { name: 'br', coding: 'br', encoded: brotliCompressSync(text) },
    { name: 'gzip cut short (read leniently)', coding: 'gzip', encoded: gzipSync(text).subarray(0, -8) },
  ]
  it.each(cases)('$name', async ({ coding, encoded }) => {
    const decoder = createContentDecoder(coding, encoded)
    const out: Buffer[] = []
    decoder.on('data', (chunk: Buffer) => out.push(chunk))
    const done = new Promise((resolve, reject) => {
      decoder.on('end', resolve)
      decoder.on('error', reject)
    })
    decoder.end(encoded)
    await done
    expect(Buffer.concat(out).equals(text)).toBe(true)
  })
})
