/**
 * Checksums that credential formats embed, so a pattern can tell a real
 * token from a string that merely has the right shape. A checksum that
 * validates is what keeps the false-positive rate of the spec loader and the
 * proxy near zero on look-alikes such as test fixtures with made-up tails.
 */

const CRC32_TABLE: Uint32Array = (() => {
  const table = new Uint32Array(256)
  for (let n = 0; n < 256; n++) {
    let c = n
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
    table[n] = c >>> 0
  }
  return table
})()

/** CRC-32 (IEEE 802.3, the zlib one) of the UTF-16 code units of an ASCII string. */
export function crc32Ascii(text: string): number {
  let crc = 0xffffffff
  for (let i = 0; i < text.length; i++) {
    crc = (CRC32_TABLE[(crc ^ text.charCodeAt(i)) & 0xff] as number) ^ (crc >>> 8)
  }
  return (crc ^ 0xffffffff) >>> 0
}

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'

/** Base62 in GitHub's digit order, left-padded with `0` to `width`. */
export function base62(value: number, width: number): string {
  let out = ''
  let n = Math.floor(value)
  do {
    out = BASE62[n % 62] + out
    n = Math.floor(n / 62)
  } while (n > 0)
  return out.padStart(width, '0')
}

/**
 * The GitHub token scheme (also used by npm): the last 6 characters are the
 * base62 CRC-32 of the characters before them, prefix excluded.
 */
export function hasBase62Crc32Tail(body: string): boolean {
  if (body.length <= 6) return false
  const payload = body.slice(0, -6)
  return base62(crc32Ascii(payload), 6) === body.slice(-6)
}

const BECH32_CHARSET = 'qpzry9x8gf2tvdw0s3jn54khce6mua7l'
const BECH32_GENERATORS = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3]

function bech32Polymod(values: readonly number[]): number {
  let chk = 1
  for (const v of values) {
    const top = chk >>> 25
    chk = ((chk & 0x1ffffff) << 5) ^ v
    for (let i = 0; i < 5; i++) if ((top >>> i) & 1) chk ^= BECH32_GENERATORS[i] as number
  }
  return chk >>> 0
}

function bech32HrpExpand(hrp: string): number[] {
  const out: number[] = []
  for (let i = 0; i < hrp.length; i++) out.push(hrp.charCodeAt(i) >> 5)
  out.push(0)
  for (let i = 0; i < hrp.length; i++) out.push(hrp.charCodeAt(i) & 31)
  return out
}

/** BIP-173 bech32 checksum of a full string `hrp1data` (case-insensitive, not mixed). */
export function isValidBech32(text: string): boolean {
  if (text !== text.toLowerCase() && text !== text.toUpperCase()) return false
  const lower = text.toLowerCase()
  const sep = lower.lastIndexOf('1')
  if (sep < 1 || sep + 7 > lower.length) return false
  const data: number[] = []
  for (let i = sep + 1; i < lower.length; i++) {
    const v = BECH32_CHARSET.indexOf(lower[i] as string)
    if (v < 0) return false
    data.push(v)
  }
  return bech32Polymod([...bech32HrpExpand(lower.slice(0, sep)), ...data]) === 1
}

/** The 6 checksum characters that make `hrp1data` a valid bech32 string (for building test values). */
export function bech32Checksum(hrp: string, data: string): string {
  const values = [...bech32HrpExpand(hrp.toLowerCase()), ...[...data.toLowerCase()].map((c) => BECH32_CHARSET.indexOf(c)), 0, 0, 0, 0, 0, 0]
  const mod = bech32Polymod(values) ^ 1
  let out = ''
  for (let i = 0; i < 6; i++) out += BECH32_CHARSET[(mod >>> (5 * (5 - i))) & 31]
  return out
}
