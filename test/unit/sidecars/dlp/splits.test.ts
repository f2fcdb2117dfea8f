/**
 * Secrets split over adjacent fields, one table per container: a true case
 * (the pieces in order are found, also with letters on either side of the
 * split that would hide a token boundary) and a near miss (adjacent fields
 * that only look like pieces).
 */
import { Buffer } from 'node:buffer'
import { describe, expect, it } from 'vitest'
import { createScanner } from '../../../../sidecars/dlp/scanner.js'
import type { DlpFinding } from '../../../../sidecars/dlp/types.js'
import { BASE32_AWS, breakChecksum, FakeRandom, githubStyleToken } from '../../../helpers/fake-credentials.js'

const rng = new FakeRandom(1407)
const token = githubStyleToken(rng, 'ghp_')
const aws = `AKIA${rng.string(BASE32_AWS, 16)}`
const known = `kv-${rng.mixed(28)}`
const scanner = createScanner({ knownSecrets: [known] })

/** `value` cut into `n` pieces of near-equal length. */
function pieces(value: string, n: number): string[] {
  const size = Math.ceil(value.length / n)
  return Array.from({ length: n }, (_, i) => value.slice(i * size, (i + 1) * size)).filter((p) => p !== '')
}
const rules = (findings: readonly DlpFinding[]) => findings.map((f) => f.rule)
const body = (contentType: string, text: string) => {
  const verdict = scanner.scanBody({ contentType, contentEncoding: undefined, body: new Uint8Array(Buffer.from(text)) })
  if (!verdict.ok) throw new Error(verdict.reason)
  return verdict.findings
}
const url = (path: string) => scanner.scanUrl(new URL(`https://api.example.com${path}`))
const query = (parts: string[]) => parts.map((p, i) => `p${i}=${encodeURIComponent(p)}`).join('&')

describe('splits over fields of one request', () => {
  const cases: { name: string; find: (parts: string[]) => DlpFinding[] }[] = [
    { name: 'query parameters', find: (parts) => url(`/search?${query(parts)}`) },
    { name: 'query parameters after one ending in letters', find: (parts) => url(`/search?lang=en&${query(parts)}&next=abc`) },
    { name: 'a query name and its value', find: (parts) => url(`/x?${parts[0]}=${parts.slice(1).join('')}`) },
    { name: 'path segments', find: (parts) => url(`/files/${parts.join('/')}/raw`) },
    { name: 'header values', find: (parts) => scanner.scanJoined(['application/json', ...parts, 'gzip'], 'header(joined)') },
    { name: "a header's name and its value", find: (parts) => scanner.scanJoined(['X-Trace', 'abc', `X-${parts[0]}`, parts.slice(1).join('')], 'header(joined)') },
    { name: 'JSON array elements', find: (parts) => body('application/json', JSON.stringify({ chunks: parts, n: parts.length })) },
    { name: 'JSON sibling members', find: (parts) => body('application/json', JSON.stringify(Object.fromEntries(parts.map((p, i) => [`k${i}`, p])))) },
    { name: 'a JSON key and its value', find: (parts) => body('application/json', `{"${parts[0]}": "${parts.slice(1).join('')}"}`) },
    { name: 'form fields', find: (parts) => body('application/x-www-form-urlencoded', query(parts)) },
    { name: 'JSON lines records', find: (parts) => body('application/x-ndjson', parts.map((p, i) => JSON.stringify({ id: i, chunk: p })).join('\n')) },
    {
      name: 'multipart parts',
      find: (parts) => body('multipart/form-data; boundary=BB', `${parts.map((p, i) => `--BB\r\nContent-Disposition: form-data; name="f${i}"\r\n\r\n${p}\r\n`).join('')}--BB--\r\n`),
    },
    { name: 'WebSocket messages', find: (parts) => scanner.scanJoined(['{"type":"ping"}', ...parts], 'websocket(joined)') },
    // Hosts reach the scanner lower-cased, as DNS folds case.
    { name: 'DNS labels', find: (parts) => scanner.scanHost(`${parts.join('.')}.files.example.com`.toLowerCase()) },
  ]
  const secrets = [
    { name: 'a GitHub token', value: token, rule: 'github-pat' },
    { name: 'an AWS key id', value: aws, rule: 'aws-access-key-id' },
    { name: 'a known secret', value: known, rule: 'known-secret' },
  ]
  for (const { name, find } of cases) {
    for (const secret of secrets) {
      for (const n of [2, 3]) {
        // Lower-casing a GitHub token destroys it (its checksum is over mixed case): not a DNS case.
        if (name === 'DNS labels' && secret.rule === 'github-pat') continue
        it(`${secret.name} in ${n} ${name}`, () => {
          expect(rules(find(pieces(secret.value, n)))).toContain(secret.rule)
        })
      }
    }
  }
  it('DNS labels of one character each', () => {
    expect(rules(scanner.scanHost(`${[...aws.toLowerCase()].join('.')}.x.example.com`))).toContain('aws-access-key-id')
  })
  it('a base64 secret split over query parameters', () => {
    expect(rules(url(`/q?${query(pieces(Buffer.from(`t=${token}`).toString('base64'), 3))}`))).toContain('github-pat')
  })
  it('a secret split first, then each piece base64-encoded', () => {
    expect(rules(url(`/q?${query(pieces(token, 3).map((p) => Buffer.from(p).toString('base64')))}`))).toContain('github-pat')
  })

  it('a secret split over the ends of two long fields, with an invisible character beside each piece', () => {
    // The join keeps only the ends of long fields; what it keeps is normalized when it needs to be.
    const [a, b] = pieces(token, 2) as [string, string]
    const prose = 'the build log says nothing new here '.repeat(200)
    expect(rules(body('application/json', JSON.stringify([`${prose}${a}\u200b`, `\u200b${b} ${prose}`])))).toContain('github-pat')
    // The same split at plain ends, with the only non-ASCII text deep inside one field.
    expect(rules(body('application/json', JSON.stringify([`${prose}é${prose}${a}`, `${b} ${prose}`])))).toContain('github-pat')
  })

  it.each([
    { name: 'decimal bytes, a Python list', list: (b: number[]) => b.join(', ') },
    { name: 'hex bytes, a C array', list: (b: number[]) => b.map((x) => `0x${x.toString(16).padStart(2, '0')}`).join(', ') },
    { name: 'decimal bytes in od columns', list: (b: number[]) => b.map((x) => String(x).padStart(4)).join('') },
  ])('$name split mid-list over two long fields, a blank opening the second', ({ list }) => {
    // Filler bytes make each half longer than what a join keeps around the first blank: the blanks between values must not end it.
    const filler = [...Buffer.from(' ~ '.repeat(40))]
    const text = list([...filler, ...Buffer.from(`token ${token}`), ...filler])
    const at = text.indexOf(' ', Math.floor(text.length / 2))
    expect(rules(scanner.scanJoined([text.slice(0, at), text.slice(at)], 'websocket(joined)'))).toContain('github-pat')
  })

  describe('near misses', () => {
    it('JSON lines of ordinary log records', () => {
      const records = ['the build passed', 'deploying to staging', 'cache warmed in 3.2s', 'ready'].map((msg, i) => JSON.stringify({ level: 'info', seq: i, msg }))
      expect(body('application/x-ndjson', records.join('\n'))).toEqual([])
    })
    it('a broken checksum split over parameters', () => {
      expect(url(`/q?${query(pieces(breakChecksum(token), 2))}`)).toEqual([])
    })
    it('ordinary adjacent values', () => {
      expect(url('/v1/items/12/comments?page=2&per_page=50&sort=created&direction=desc')).toEqual([])
      expect(scanner.scanJoined(['application/json', 'Mozilla/5.0 (X11; Linux x86_64)', 'en-US,en;q=0.9', 'keep-alive', 'no-cache'], 'header(joined)')).toEqual([])
      expect(body('application/json', JSON.stringify({ ids: ['a1b2c3', 'd4e5f6', '0a1b2c'], names: ['AKIA', 'ghp', 'token'], ok: true }))).toEqual([])
      expect(scanner.scanHost('ak.ia.files.example.com')).toEqual([])
      // "…map" then "assistant" spell "pass"; what follows is a MIME type, not a secret.
      const turns = [{ role: 'user', content: 'ad05c33bd7  dist/file-1.map' }, { role: 'assistant', content: 'Content-Type: application/octet-stream\n\nluALX1H5' }]
      expect(body('application/json', JSON.stringify({ messages: turns }))).toEqual([])
      // Two words glued by the join spell a keyword mid-word: "bypass" + "assistant", then a log line's time.
      const log = [{ role: 'user', content: 'how do I bypass' }, { role: 'assistant', content: '2025-01-01T18:34:25.994Z WARN [handler-0] GET /api' }]
      expect(body('application/json', JSON.stringify({ messages: log }))).toEqual([])
    })
    it('a secret-sounding name split where a word opens, or at a camelCase step', () => {
      const value = rng.mixed(24)
      expect(rules(body('application/json', JSON.stringify({ a: 'db_pa', b: `ssword: ${value}` })))).toContain('generic-secret-assignment')
      expect(rules(body('application/json', JSON.stringify({ a: 'userPa', b: `ssword=${value}` })))).toContain('generic-secret-assignment')
    })
    it('pieces out of order', () => {
      const [a, b] = pieces(token, 2) as [string, string]
      expect(url(`/q?x=${b}&y=${a}`)).toEqual([])
    })
  })
})
