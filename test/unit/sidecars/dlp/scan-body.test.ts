import { Buffer } from 'node:buffer'
import { describe, expect, it } from 'vitest'
import { decodeBodyText } from '../../../../sidecars/dlp/body-text.js'
import { BYTE_PASSES_MIN_LENGTH } from '../../../../sidecars/dlp/byte-scan.js'
import { createScanner } from '../../../../sidecars/dlp/scanner.js'
import type { BodyScanInput, DlpFinding } from '../../../../sidecars/dlp/types.js'
import { discordBotToken, FakeRandom, githubStyleToken } from '../../../helpers/fake-credentials.js'

const rng = new FakeRandom(2024)
const token = githubStyleToken(rng, 'ghp_')
const known = rng.mixed(24)
const password = `${rng.mixed(18)}!`
const discord = discordBotToken(rng)
const scanner = createScanner({ knownSecrets: [known] })
const B = 'form-boundary-7'

const utf8 = (s: string) => new Uint8Array(Buffer.from(s, 'utf8'))
const input = (contentType: string | undefined, body: string | Uint8Array, contentEncoding?: string): BodyScanInput => ({
  contentType,
  contentEncoding,
  body: typeof body === 'string' ? utf8(body) : body,
})
const multipart = (...parts: string[]) => `--${B}\r\n${parts.join(`\r\n--${B}\r\n`)}\r\n--${B}--\r\n`
const unicodeEscaped = (s: string) => [...s].map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`).join('')

interface Case {
  name: string
  input: BodyScanInput
  want: Partial<DlpFinding>[]
}

const JSON_TYPE = 'application/json; charset=utf-8'
const cases: Case[] = [
  // JSON: keys and values at any depth, located by path
  { name: 'a JSON value', input: input(JSON_TYPE, JSON.stringify({ a: { b: ['x', `token ${token}`] } })), want: [{ rule: 'github-pat', location: 'body.json:$.a.b[1]' }] },
  { name: 'a JSON key (its name withheld)', input: input(JSON_TYPE, JSON.stringify({ x: { [token]: 1 } })), want: [{ rule: 'github-pat', location: 'body.json:$.x[#0]' }] },
  { name: 'a JSON string in \\u escapes', input: input(JSON_TYPE, `{"a": "${unicodeEscaped(token)}"}`), want: [{ rule: 'github-pat', location: 'body.json:$.a' }] },
  { name: 'a JSON duplicate key', input: input(JSON_TYPE, `{"a": "${token}", "a": "x"}`), want: [{ rule: 'github-pat', location: 'body.json:$.a' }] },
  { name: 'a base64 known secret in JSON', input: input(JSON_TYPE, JSON.stringify({ data: Buffer.from(`k=${known}`).toString('base64') })), want: [{ rule: 'known-secret', location: 'body.json:$.data', encoding: 'base64' }] },
  { name: 'a password member', input: input(JSON_TYPE, JSON.stringify({ user: 'me', password })), want: [{ rule: 'generic-secret-assignment', location: 'body.json:$.password' }] },
  { name: 'a +json media type', input: input('application/vnd.api+json', JSON.stringify({ t: token })), want: [{ rule: 'github-pat', location: 'body.json:$.t' }] },
  { name: 'malformed JSON (scanned as text)', input: input(JSON_TYPE, `{"a": "${token}",`), want: [{ rule: 'github-pat', location: 'body.text' }] },
  // forms
  { name: 'a form field', input: input('application/x-www-form-urlencoded', `user=me&password=${encodeURIComponent(password)}`), want: [{ rule: 'generic-secret-assignment', location: 'body.form:password' }] },
  { name: 'a percent-encoded form value', input: input('application/x-www-form-urlencoded', `a=1&tok=${[...token].map((c) => `%${c.charCodeAt(0).toString(16)}`).join('')}`), want: [{ rule: 'github-pat', location: 'body.form:tok', encoding: 'url-encoded' }] },
  { name: 'a form field name (withheld)', input: input('application/x-www-form-urlencoded', `a=1&${token}=1`), want: [{ rule: 'github-pat', location: 'body.form:#1' }] },
  // multipart
  {
    name: 'a multipart part',
    input: input(`multipart/form-data; boundary=${B}`, multipart('Content-Disposition: form-data; name="a"\r\n\r\nhello', `Content-Disposition: form-data; name="b"\r\n\r\n${token}`)),
    want: [{ rule: 'github-pat', location: 'body.multipart[1].content' }],
  },
  {
    name: 'a multipart filename',
    input: input(`multipart/form-data; boundary="${B}"`, multipart(`Content-Disposition: form-data; name="f"; filename="${known}.txt"\r\nContent-Type: text/plain\r\n\r\nhi`)),
    want: [{ rule: 'known-secret', location: 'body.multipart[0].filename' }],
  },
  {
    name: 'a multipart part header',
    input: input(`multipart/form-data; boundary=${B}`, multipart(`Content-Disposition: form-data; name="f"\r\nX-Note: ${token}\r\n\r\nhi`)),
    want: [{ rule: 'github-pat', location: 'body.multipart[0].header:x-note' }],
  },
  {
    name: 'a binary multipart part',
    input: input(`multipart/form-data; boundary=${B}`, Buffer.concat([Buffer.from(`--${B}\r\nContent-Disposition: form-data; name="f"; filename="a.bin"\r\n\r\n`), Buffer.from([0xff, 0xfe, 0x00]), Buffer.from(token), Buffer.from([0x00, 0x9f]), Buffer.from(`\r\n--${B}--\r\n`)])),
    want: [{ rule: 'github-pat', location: 'body.multipart[0].content' }],
  },
  // text and everything else
  { name: 'plain text', input: input('text/plain', `note: ${token}`), want: [{ rule: 'github-pat', location: 'body.text' }] },
  { name: 'a base64 token in plain text', input: input('text/plain', `blob ${Buffer.from(`t=${token}`).toString('base64')} end`), want: [{ rule: 'github-pat', location: 'body.text', encoding: 'base64' }] },
  { name: 'a hex token in plain text', input: input('text/plain', `blob ${Buffer.from(token).toString('hex')} end`), want: [{ rule: 'github-pat', location: 'body.text', encoding: 'hex' }] },
  { name: 'no content type', input: input(undefined, `x ${known}`), want: [{ rule: 'known-secret', location: 'body.text' }] },
  { name: 'binary content (read as latin1)', input: input('application/octet-stream', Buffer.concat([Buffer.from([0x89, 0x50, 0xff, 0x00]), Buffer.from(token), Buffer.from([0xc3, 0x28])])), want: [{ rule: 'github-pat', location: 'body.binary' }] },
  { name: 'identity encoding', input: input('text/plain', token, 'identity'), want: [{ rule: 'github-pat', location: 'body.text' }] },
  // No keyword to key on: the run of token characters its first part needs is the gate (shared with the base64 pass in bytes).
  { name: 'a Discord bot token', input: input('text/plain', `bot: ${discord}`), want: [{ rule: 'discord-bot-token', location: 'body.text' }] },
  { name: 'a Discord bot token in a JSON string', input: input(JSON_TYPE, JSON.stringify({ cfg: `DISCORD=${discord};` })), want: [{ rule: 'discord-bot-token', location: 'body.json:$.cfg' }] },
  // A near miss: a slash cuts its first part short of the run the pattern needs.
  { name: 'nothing in a Discord-shaped value cut by a slash', input: input('text/plain', `bot: ${discord.slice(0, 12)}/${discord.slice(13)}`), want: [] },
  { name: 'an empty body', input: input(JSON_TYPE, ''), want: [] },
  { name: 'an ordinary API request', input: input(JSON_TYPE, JSON.stringify({ model: 'claude-x', max_tokens: 1024, messages: [{ role: 'user', content: 'Fix the failing test in src/app.ts' }] })), want: [] },
]

function expectFindings(body: BodyScanInput, want: Partial<DlpFinding>[]): void {
  const verdict = scanner.scanBody(body)
  expect(verdict.ok).toBe(true)
  const findings = verdict.ok ? verdict.findings : []
  expect(findings).toEqual(want.map((w) => expect.objectContaining(w)))
}

describe('scanBody', () => {
  it.each(cases)('finds $name', ({ input: body, want }) => expectFindings(body, want))

  // Short bodies take the character loops, long ones the byte passes: padded with trailing spaces
  // past the threshold, every case must come out the same.
  it.each(cases)('finds $name through the byte passes too', ({ input: body, want }) => {
    const pad = Math.max(0, BYTE_PASSES_MIN_LENGTH - body.body.byteLength)
    expectFindings({ ...body, body: new Uint8Array(Buffer.concat([body.body, Buffer.alloc(pad, 0x20)])) }, want)
  })

  it('hands the byte passes bodies from the threshold up, and no shorter ones', () => {
    const ascii = (n: number) => new Uint8Array(Buffer.alloc(n, 'a'))
    const latin1 = (n: number) => new Uint8Array(Buffer.alloc(n, 0xe9))
    expect(decodeBodyText(ascii(BYTE_PASSES_MIN_LENGTH - 1), undefined).bytes).toBeUndefined()
    expect(decodeBodyText(ascii(BYTE_PASSES_MIN_LENGTH), undefined).bytes).toHaveLength(BYTE_PASSES_MIN_LENGTH)
    const shortBinary = decodeBodyText(latin1(BYTE_PASSES_MIN_LENGTH - 1), undefined)
    expect(shortBinary.binary).toBe(true)
    expect(shortBinary.bytes).toBeUndefined()
    expect(decodeBodyText(latin1(BYTE_PASSES_MIN_LENGTH), undefined)).toMatchObject({ binary: true, bytes: expect.any(Uint8Array) })
  })

  it.each([
    { name: 'gzip that does not inflate', encoding: 'gzip', reason: 'content-encoding gzip does not decode' },
    { name: 'br that does not decode', encoding: 'br', reason: 'content-encoding br does not decode' },
    { name: 'deflate that does not inflate', encoding: 'deflate', reason: 'content-encoding deflate does not decode' },
    { name: 'zstd (no decoder in Node 20)', encoding: 'zstd', reason: 'content-encoding zstd is not inspected' },
    { name: 'a list ending in gzip', encoding: 'identity, GZIP', reason: 'content-encoding gzip does not decode' },
    { name: 'an unknown coding', encoding: 'x-custom', reason: 'an unrecognized content-encoding is not inspected' },
    { name: 'a secret posing as a coding', encoding: token, reason: 'an unrecognized content-encoding is not inspected' },
  ])('refuses $name without echoing the header', ({ encoding, reason }) => {
    expect(scanner.scanBody(input('text/plain', 'hello', encoding))).toEqual({ ok: false, reason })
  })

  it.each([
    { name: 'without a boundary', contentType: 'multipart/form-data', body: multipart('a') },
    { name: 'without a closing boundary', contentType: `multipart/form-data; boundary=${B}`, body: `--${B}\r\nContent-Disposition: form-data; name="a"\r\n\r\nx` },
    { name: 'with a part missing its blank line', contentType: `multipart/form-data; boundary=${B}`, body: `--${B}\r\nContent-Disposition: form-data\r\n--${B}--` },
  ])('refuses multipart $name', ({ contentType, body }) => {
    const verdict = scanner.scanBody(input(contentType, body))
    expect(verdict.ok).toBe(false)
  })

  it('defaults the location to body and accepts another', () => {
    const verdict = scanner.scanBody(input('text/plain', token), 'request.body')
    expect(verdict.ok && verdict.findings[0]?.location).toBe('request.body.text')
  })
})

describe('a JSON body whose strings with escapes are read whole, and the rest searched for ranges', () => {
  const b64 = (s: string) => Buffer.from(s).toString('base64')
  const findingsOf = (body: unknown) => {
    const verdict = scanner.scanBody(input('application/json', JSON.stringify(body)))
    if (!verdict.ok) throw new Error(verdict.reason)
    return verdict.findings.map((f) => `${f.rule}@${f.location}`)
  }
  const prose = 'line one\nline two with caf\u00e9\n'.repeat(200)

  it('finds a base64 secret in a string without escapes, between strings with them', () => {
    expect(findingsOf({ a: prose, key: b64(`export GH=${token}`), b: prose })).toContain('github-pat@body.json:$.key')
  })

  it('finds a base64 secret inside a string with escapes', () => {
    expect(findingsOf({ a: `${prose}${b64(`export GH=${token}`)}\n${prose}`, b: 'plain' })).toContain('github-pat@body.json:$.a')
  })

  it('a near miss: the same shapes around harmless base64 find nothing', () => {
    expect(findingsOf({ a: prose, key: b64('nothing to see in these words'), b: `${prose}${b64('harmless words here')}` })).toEqual([])
  })
})
