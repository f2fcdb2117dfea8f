/**
 * Key material and self-describing tokens: PEM and PuTTY private keys, age
 * keys, PKCS#12 bundles, JSON Web Tokens (plain and base64-wrapped). Formats
 * as facts from gitleaks' default config at commit b58d3f1 (MIT, see
 * LICENSE-gitleaks).
 */
import { Buffer } from 'node:buffer'
import { isValidBech32 } from '../checksums.js'
import type { CredentialPattern } from '../types.js'
import { jwtStructure } from './shared.js'

/** The shape the `jwt` rule requires, at the start of a decoded text. */
const JWT_PREFIX = /^eyJ[A-Za-z0-9_-]{10}[A-Za-z0-9_-]*\.eyJ[A-Za-z0-9_-]{10}[A-Za-z0-9_-]*\.[A-Za-z0-9_-]{16}[A-Za-z0-9_-]*/

/** A JWT, base64-encoded once more (a config value, a Basic credential, a cookie). */
function base64Jwt(text: string): boolean {
  const token = JWT_PREFIX.exec(Buffer.from(text, 'base64').toString('latin1'))
  return token !== null && jwtStructure(token[0])
}

/**
 * What follows `ZXlK` (base64 of `eyJ`, the start of every JWT) when the
 * header opens with one of its registered parameters (`{"alg":`, `{"typ":`,
 * `{"kid":` ...), per gitleaks: the keywords, since `ZXlK` alone turns up in
 * random base64 about once per MiB.
 */
const JWT_HEADER_B64 = [
  'aGJHY2lPaU', // alg
  'aGNIVWlPaU', // apu
  'aGNIWWlPaU', // apv
  'aGRXUWlPaU', // aud
  'aU5qUWlP', // b64
  'amNtbDBJanBi', // crit
  'amRIa2lPaU', // cty
  'bGNHc2lPbn', // epk
  'bGJtTWlPaU', // enc
  'cWEzVWlPaU', // jku
  'cWQyc2lPb', // jwk
  'cGMzTWlPaU', // iss
  'cGRpSTZJ', // iv
  'cmFXUWlP', // kid
  'clpYbGZiM0J6SWpwY', // key_ops
  'cmRIa2lPaUp', // kty
  'dWIyNWpaU0k2', // nonce
  'd01tTWlP', // p2c
  'd01uTWlPaU', // p2s
  'd2NIUWlPaU', // ppt
  'emRXSWlPaU', // sub
  'emRuUWlP', // svt
  'MFlXY2lPaU', // tag
  'MGVYQWlPaUp', // typ
  'MWNtd2l', // url
  'MWMyVWlPaUp', // use
  'MlpYSWlPaU', // ver
  'MlpYSnphVzl1SWpv', // version
  'NElqb2', // x
  'NE5XTWlP', // x5c
  'NE5YUWlPaU', // x5t
  'NE5YUWpVekkxTmlJNkl', // x5t#S256
  'NE5YVWlPaU', // x5u
  'NmFYQWlPaU', // zip
]

export const KEY_PATTERNS: readonly CredentialPattern[] = [
  {
    // A header alone (in docs, in a parser) is not a key: some key material must follow.
    // `PRIVATE KEY` sits at most 75 characters into the match (`-----BEGIN ` and up to 64 characters of key type).
    id: 'private-key',
    description: 'Private key block (RSA, EC, DSA, OpenSSH, PGP, PKCS#8, encrypted)',
    pattern: /-{4,5} ?BEGIN[ A-Z0-9_-]{0,64}PRIVATE KEY(?: BLOCK)? ?-{4,5}[\s\S]{0,400}?[A-Za-z0-9+/]{40}/g,
    keywords: ['PRIVATE KEY'],
    keywordLead: 75,
  },
  {
    id: 'putty-private-key',
    description: 'PuTTY private key file',
    pattern: /PuTTY-User-Key-File-[23]: *[a-z0-9-]+/g,
    keywords: ['PuTTY-User-Key-File-'],
  },
  {
    id: 'age-secret-key',
    description: 'age encryption secret key',
    pattern: /AGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58}(?![A-Za-z0-9])/g,
    keywords: ['AGE-SECRET-KEY-1'],
    verify: isValidBech32,
  },
  {
    // Base64 of a PFX: SEQUENCE, version 3, then the PKCS#7 data content type (`IBAzCC` is version 3 and the next
    // SEQUENCE, 6 characters in; the length bytes around it leave a few characters free).
    id: 'pkcs12-file',
    description: 'PKCS#12 (PFX) key bundle, base64-encoded',
    pattern: /(?<![A-Za-z0-9+/])MI[IJKL][A-Za-z0-9+/]{2}[AQgw]IBAzCC[A-Za-z0-9+/]{2}[AEIMQUYcgkosw048]GCSqGSIb3DQEHAaCC[A-Za-z0-9+/]{64}/g,
    keywords: ['IBAzCC'],
    keywordLead: 6,
  },
  {
    id: 'jwt',
    description: 'JSON Web Token',
    pattern: /(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{10}[A-Za-z0-9_-]*\.eyJ[A-Za-z0-9_-]{10}[A-Za-z0-9_-]*\.[A-Za-z0-9_-]{16}[A-Za-z0-9_-]*(?![A-Za-z0-9_-])/g,
    keywords: ['eyJ'],
    verify: jwtStructure,
  },
  {
    id: 'jwt-base64',
    description: 'Base64-encoded JSON Web Token',
    pattern: new RegExp(String.raw`(?<![A-Za-z0-9+/_-])ZXlK(?:${JWT_HEADER_B64.join('|')})[A-Za-z0-9+/_-]{30}[A-Za-z0-9+/_-]*={0,2}(?![A-Za-z0-9+/=_-])`, 'g'),
    // Each header's first two characters past `ZXlK` suffice to make a keyword rare, and keep the trie small.
    keywords: [...new Set(JWT_HEADER_B64.map((h) => `ZXlK${h.slice(0, 2)}`))],
    verify: base64Jwt,
  },
]
