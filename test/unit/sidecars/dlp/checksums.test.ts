import { describe, expect, it } from 'vitest'
import { base62, bech32Checksum, crc32Ascii, hasBase62Crc32Tail, isValidBech32 } from '../../../../sidecars/dlp/checksums.js'

describe('checksums', () => {
  it.each([
    { input: '', want: 0 },
    { input: '123456789', want: 0xcbf43926 },
    { input: 'The quick brown fox jumps over the lazy dog', want: 0x414fa339 },
  ])('crc32 of "$input"', ({ input, want }) => {
    expect(crc32Ascii(input)).toBe(want)
  })

  it.each([
    { value: 0, want: '000000' },
    { value: 61, want: '00000z' },
    { value: 62, want: '000010' },
    { value: 0xffffffff, want: '4gfFC3' },
  ])('base62($value)', ({ value, want }) => {
    expect(base62(value, 6)).toBe(want)
  })

  it.each([
    { name: 'a matching tail', body: `${'a'.repeat(30)}${base62(crc32Ascii('a'.repeat(30)), 6)}`, want: true },
    { name: 'a wrong tail', body: `${'a'.repeat(30)}000000`, want: false },
    { name: 'too short', body: 'abcdef', want: false },
  ])('base62 CRC-32 tail: $name', ({ body, want }) => {
    expect(hasBase62Crc32Tail(body)).toBe(want)
  })

  it.each([
    // BIP-173 test vectors
    { input: 'A12UEL5L', want: true },
    { input: 'a12uel5l', want: true },
    { input: 'abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxw', want: true },
    { input: 'split1checkupstagehandshakeupstreamerranterredcaperred2y9e3w', want: true },
    { input: 'A12UEL5l', want: false },
    { input: 'a12uel5m', want: false },
    { input: 'pzry9x0s0muk', want: false },
  ])('bech32 $input', ({ input, want }) => {
    expect(isValidBech32(input)).toBe(want)
  })

  it('builds checksums that validate', () => {
    const data = 'qpzry9x8gf2tvdw0'
    expect(isValidBech32(`test1${data}${bech32Checksum('test', data)}`)).toBe(true)
  })
})
