/**
 * The property behind the DLP hardening: a random secret drawn from the
 * catalog (any rule's generator), put through random encodings and then
 * split over random adjacent fields of a random container, is found. Found
 * means a finding of any rule: the secret's own, or a fail-closed one (the
 * scan could not read something), since either way the request is refused.
 */
import { Buffer } from 'node:buffer'
import { gzipSync } from 'node:zlib'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { SampleRandom, SECRET_SAMPLES } from '../../../../fixtures/secret-samples.js'
import { encodeBase32 } from '../../../../sidecars/dlp/base32.js'
import { JOIN_REACH } from '../../../../sidecars/dlp/join-scan.js'
import { createScanner } from '../../../../sidecars/dlp/scanner.js'
import type { DlpFinding } from '../../../../sidecars/dlp/types.js'

const RULES = Object.keys(SECRET_SAMPLES).sort()
const scanner = createScanner({})

/** A text encoding: text in, text out; `caseless` output survives DNS's case folding; `grain` is the size of its indivisible units. */
interface Encoding {
  name: string
  apply: (text: string) => string
  caseless?: boolean
  grain?: number
}

const bytesOf = (text: string) => Buffer.from(text, 'utf8')
const wrap = (text: string, column: number) => text.match(new RegExp(`.{1,${column}}`, 'gs'))?.join('\n') ?? text

const ENCODINGS: readonly Encoding[] = [
  { name: 'base64', apply: (t) => bytesOf(t).toString('base64') },
  { name: 'base64url', apply: (t) => bytesOf(t).toString('base64url') },
  { name: 'base64 wrapped at 5', apply: (t) => wrap(bytesOf(t).toString('base64'), 5) },
  { name: 'base64 wrapped at 76', apply: (t) => wrap(bytesOf(t).toString('base64'), 76) },
  { name: 'base32', apply: (t) => encodeBase32(bytesOf(t)), caseless: true },
  { name: 'base32 unpadded lower', apply: (t) => encodeBase32(bytesOf(t)).replace(/=+$/, '').toLowerCase(), caseless: true },
  { name: 'base32hex', apply: (t) => encodeBase32(bytesOf(t), 'base32hex'), caseless: true },
  { name: 'hex', apply: (t) => bytesOf(t).toString('hex'), caseless: true },
  { name: 'hex with colons', apply: (t) => [...bytesOf(t)].map((b) => b.toString(16).padStart(2, '0')).join(':'), grain: 3 },
  { name: 'hex with spaces', apply: (t) => [...bytesOf(t)].map((b) => b.toString(16).padStart(2, '0')).join(' '), grain: 3 },
  { name: 'decimal bytes with commas', apply: (t) => [...bytesOf(t)].join(',') },
  { name: 'decimal bytes with blanks', apply: (t) => [...bytesOf(t)].join(' ') },
  { name: 'decimal bytes as a Python list', apply: (t) => `[${[...bytesOf(t)].join(', ')}]` },
  { name: 'hex bytes as a C array', apply: (t) => `{ ${[...bytesOf(t)].map((b) => `0x${b.toString(16).padStart(2, '0')}`).join(', ')} }` },
  { name: 'octal escapes', apply: (t) => [...bytesOf(t)].map((b) => `\\${b.toString(8).padStart(3, '0')}`).join(''), grain: 4 },
  { name: '\\x escapes', apply: (t) => [...bytesOf(t)].map((b) => `\\x${b.toString(16).padStart(2, '0')}`).join(''), grain: 4 },
  { name: 'percent-encoding', apply: (t) => [...bytesOf(t)].map((b) => `%${b.toString(16).padStart(2, '0')}`).join(''), grain: 3 },
  { name: 'zero-width padding', apply: (t) => [...t].join('\u200b') },
  { name: 'UTF-16LE, base64', apply: (t) => Buffer.from(t, 'utf16le').toString('base64') },
  { name: 'UTF-16BE, hex', apply: (t) => Buffer.from(t, 'utf16le').swap16().toString('hex'), caseless: true },
  { name: 'gzip, base64', apply: (t) => gzipSync(bytesOf(t)).toString('base64') },
]

/** Cut `text` into `n` pieces at random points that respect the encoding's grain. */
function cut(text: string, n: number, seed: number, grain: number): string[] {
  const rng = new SampleRandom(seed)
  const units = Math.floor(text.length / grain)
  const points = new Set<number>()
  while (points.size < Math.min(n - 1, units - 1)) points.add(rng.between(1, units - 1) * grain)
  const sorted = [...points].sort((a, b) => a - b)
  return [0, ...sorted].map((start, i) => text.slice(start, sorted[i] ?? text.length))
}

const query = (pieces: readonly string[]) => pieces.map((p, i) => `f${i}=${encodeURIComponent(p)}`).join('&')
const body = (contentType: string, text: string): DlpFinding[] => {
  const verdict = scanner.scanBody({ contentType, contentEncoding: undefined, body: new Uint8Array(Buffer.from(text)) })
  return verdict.ok ? verdict.findings : [{ rule: 'unreadable-body', location: 'body' }]
}

/** Containers of adjacent fields, each given the pieces in order; `fits` says whether a piece can travel there. */
const CONTAINERS: readonly { name: string; fits: (piece: string, enc: Encoding | undefined) => boolean; scan: (pieces: readonly string[]) => DlpFinding[] }[] = [
  { name: 'query parameters', fits: () => true, scan: (p) => scanner.scanUrl(new URL(`https://api.example.com/v1/search?${query(p)}`)) },
  { name: 'path segments', fits: (piece) => !piece.includes('/') && piece !== '.' && piece !== '..', scan: (p) => scanner.scanUrl(new URL(`https://api.example.com/files/${p.map(encodeURIComponent).join('/')}`)) },
  { name: 'header values', fits: (piece) => !/[\r\n\0]/.test(piece), scan: (p) => [...p.flatMap((v, i) => scanner.scanText(v, `header:x-part-${i}`)), ...scanner.scanJoined(['application/json', ...p], 'header(joined)')] },
  { name: 'JSON array elements', fits: () => true, scan: (p) => body('application/json', JSON.stringify({ parts: p })) },
  { name: 'JSON sibling members', fits: () => true, scan: (p) => body('application/json', JSON.stringify(Object.fromEntries(p.map((v, i) => [`k${i}`, v])))) },
  { name: 'form fields', fits: () => true, scan: (p) => body('application/x-www-form-urlencoded', query(p)) },
  {
    name: 'multipart parts',
    fits: (piece) => !piece.includes('--BND'),
    scan: (p) => body('multipart/form-data; boundary=BND', `${p.map((v, i) => `--BND\r\nContent-Disposition: form-data; name="f${i}"\r\n\r\n${v}\r\n`).join('')}--BND--\r\n`),
  },
  { name: 'WebSocket messages', fits: () => true, scan: (p) => [...p.flatMap((v) => scanner.scanText(v, 'websocket')), ...scanner.scanJoined(p, 'websocket(joined)')] },
  {
    name: 'DNS labels',
    fits: (piece, enc) => enc?.caseless === true && /^[a-z0-9]{1,63}$/i.test(piece),
    scan: (p) => scanner.scanHost(`${p.join('.')}.files.example.com`.toLowerCase()),
  },
]

describe('a catalog secret through random encodings and splits is found', () => {
  it('for every rule, encoding and container the generator picks', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...RULES),
        fc.integer({ min: 1, max: 2 ** 31 - 1 }),
        fc.array(fc.constantFrom(...ENCODINGS), { minLength: 0, maxLength: 2 }),
        fc.constantFrom(...CONTAINERS),
        fc.integer({ min: 1, max: 4 }),
        (rule, seed, encodings, container, n) => {
          const secret = (SECRET_SAMPLES[rule] as (typeof SECRET_SAMPLES)[string]).generate(new SampleRandom(seed))
          const outer = encodings[encodings.length - 1]
          const encoded = encodings.reduce((text, enc) => enc.apply(text), secret)
          const pieces = cut(encoded, n, seed ^ 0x5bd1e995, outer?.grain ?? 1)
          fc.pre(pieces.every((piece) => container.fits(piece, outer)))
          // The documented reach of a join: a piece longer than this on either side of a boundary is cut.
          fc.pre(pieces.length === 1 || pieces.every((piece) => piece.length <= JOIN_REACH))
          const findings = container.scan(pieces)
          if (findings.length === 0) {
            throw new Error(`not found: rule ${rule}, encodings [${encodings.map((e) => e.name).join(', ')}], ${pieces.length} ${container.name}`)
          }
        },
      ),
      { numRuns: 1500, seed: 1409 },
    )
  })

  it('near miss: the same encodings and splits of ordinary text find nothing', () => {
    const ordinary = ['the build passed on the second try', 'SELECT id, name FROM users WHERE id = 42', 'https://example.com/docs/getting-started#install']
    fc.assert(
      fc.property(fc.constantFrom(...ordinary), fc.array(fc.constantFrom(...ENCODINGS), { minLength: 0, maxLength: 2 }), fc.constantFrom(...CONTAINERS.filter((c) => c.name !== 'DNS labels')), fc.integer({ min: 1, max: 4 }), fc.integer(), (text, encodings, container, n, seed) => {
        const outer = encodings[encodings.length - 1]
        const pieces = cut(encodings.reduce((t, enc) => enc.apply(t), text), n, seed, outer?.grain ?? 1)
        fc.pre(pieces.every((piece) => container.fits(piece, outer)))
        // Random-looking path segments and labels are refused by design, whatever they hold (entropy rules).
        expect(container.scan(pieces).filter((f) => !f.rule.startsWith('high-entropy'))).toEqual([])
      }),
      { numRuns: 400, seed: 1410 },
    )
  })
})
