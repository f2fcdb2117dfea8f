/**
 * RFC 4648 base32, in its standard (`A-Z2-7`) and extended-hex (`0-9A-V`)
 * alphabets, either case, padded or not. Node has no base32 codec.
 */
import { Buffer } from 'node:buffer'

export type Base32Alphabet = 'base32' | 'base32hex'

const VALUE = {
  base32: new Int8Array(128).fill(-1),
  base32hex: new Int8Array(128).fill(-1),
}
'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'.split('').forEach((ch, i) => {
  VALUE.base32[ch.charCodeAt(0)] = i
  VALUE.base32[ch.toLowerCase().charCodeAt(0)] = i
})
'0123456789ABCDEFGHIJKLMNOPQRSTUV'.split('').forEach((ch, i) => {
  VALUE.base32hex[ch.charCodeAt(0)] = i
  VALUE.base32hex[ch.toLowerCase().charCodeAt(0)] = i
})

/** Is the character code part of the alphabet (either case)? */
export function isBase32Char(code: number, alphabet: Base32Alphabet): boolean {
  return code < 128 && (VALUE[alphabet][code] as number) >= 0
}

/** Decode `text` (padding and characters outside the alphabet are skipped); trailing bits that make no whole byte are dropped. */
export function decodeBase32(text: string, alphabet: Base32Alphabet): Buffer {
  const table = VALUE[alphabet]
  const out = Buffer.allocUnsafe(Math.floor((text.length * 5) / 8))
  let bits = 0
  let value = 0
  let n = 0
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    const v = c < 128 ? (table[c] as number) : -1
    if (v < 0) continue
    value = ((value << 5) | v) & 0xfff
    bits += 5
    if (bits >= 8) {
      bits -= 8
      out[n++] = (value >> bits) & 0xff
    }
  }
  return out.subarray(0, n)
}

/** Encode bytes (for tests and fixtures): upper case, padded. */
export function encodeBase32(bytes: Uint8Array, alphabet: Base32Alphabet = 'base32'): string {
  const chars = alphabet === 'base32' ? 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567' : '0123456789ABCDEFGHIJKLMNOPQRSTUV'
  let out = ''
  let bits = 0
  let value = 0
  for (const byte of bytes) {
    value = (value << 8) | byte
    bits += 8
    while (bits >= 5) {
      bits -= 5
      out += chars[(value >> bits) & 31]
    }
    value &= (1 << bits) - 1
  }
  if (bits > 0) out += chars[(value << (5 - bits)) & 31]
  while (out.length % 8 !== 0) out += '='
  return out
}
