/**
 * Fake credentials built at test time, with valid checksums where the format
 * has one. Nothing here is a real credential, and no test file holds a
 * literal token that a secret scanner could mistake for one.
 */
import { Buffer } from 'node:buffer'
import { base62, bech32Checksum, crc32Ascii } from '../../sidecars/dlp/checksums.js'

export const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'
export const LOWER_HEX = '0123456789abcdef'
export const UPPER_ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'
export const BASE64URL = `${ALNUM}-_`
export const BASE64 = `${ALNUM}+/`
export const LETTERS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'
export const BASE32_AWS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'
const BECH32 = 'qpzry9x8gf2tvdw0s3jn54khce6mua7l'

/** Deterministic generator (mulberry32), so a failing case is the same on every run. */
export class FakeRandom {
  private state: number
  constructor(seed: number) {
    this.state = seed >>> 0
  }
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0
    let t = this.state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  string(alphabet: string, length: number): string {
    let out = ''
    for (let i = 0; i < length; i++) out += alphabet[Math.floor(this.next() * alphabet.length)]
    return out
  }
  /** A random string that is guaranteed to hold an upper-case letter, a lower-case letter and a digit. */
  mixed(length: number): string {
    for (;;) {
      const s = this.string(ALNUM, length)
      if (/[A-Z]/.test(s) && /[a-z]/.test(s) && /[0-9]/.test(s)) return s
    }
  }
}

export function githubStyleToken(rng: FakeRandom, prefix: string): string {
  const payload = rng.string(ALNUM, 30)
  return `${prefix}${payload}${base62(crc32Ascii(payload), 6)}`
}

/** Same shape, last character changed: the checksum no longer holds. */
export function breakChecksum(token: string): string {
  const last = token[token.length - 1]
  return token.slice(0, -1) + (last === 'A' ? 'B' : 'A')
}

export function ageSecretKey(rng: FakeRandom): string {
  const data = rng.string(BECH32, 52)
  return `AGE-SECRET-KEY-1${(data + bech32Checksum('age-secret-key-', data)).toUpperCase()}`
}

function b64url(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64url')
}

export function jwt(rng: FakeRandom, header: object = { alg: 'HS256', typ: 'JWT' }): string {
  const payload = { sub: rng.string(ALNUM, 8), iat: 1_700_000_000, scope: 'repo' }
  return `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(payload))}.${rng.string(BASE64URL, 43)}`
}

export function discordBotToken(rng: FakeRandom): string {
  const id = `1${rng.string('0123456789', 17)}`
  return `${b64url(id)}.${rng.string(BASE64URL, 6)}.${rng.string(BASE64URL, 38)}`
}

export function pypiToken(rng: FakeRandom, index = 'pypi.org'): string {
  const macaroon = Buffer.concat([Buffer.from([2, 1, index.length]), Buffer.from(index), Buffer.from(rng.string(ALNUM, 60))])
  return `pypi-${macaroon.toString('base64url')}`
}

export function privateKeyBlock(rng: FakeRandom, kind: string): string {
  const lines = Array.from({ length: 4 }, () => rng.string(BASE64, 64))
  return `-----BEGIN ${kind}PRIVATE KEY-----\n${lines.join('\n')}\n-----END ${kind}PRIVATE KEY-----`
}
