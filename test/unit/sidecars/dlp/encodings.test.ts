/**
 * The encodings the engine unwraps, one table per class: a true case (a
 * secret hidden that way is found, with the chain that revealed it) and a
 * near miss (the same encoding around harmless data finds nothing).
 */
import { Buffer } from 'node:buffer'
import { deflateRawSync, deflateSync, gzipSync, brotliCompressSync, constants } from 'node:zlib'
import { describe, expect, it } from 'vitest'
import { encodeBase32 } from '../../../../sidecars/dlp/base32.js'
import { UNREADABLE_RULE, SCAN_LIMIT_RULE } from '../../../../sidecars/dlp/inspect-layers.js'
import { CHARSET_MISMATCH_RULE } from '../../../../sidecars/dlp/scan-body.js'
import { createScanner } from '../../../../sidecars/dlp/scanner.js'
import type { BodyScanInput, DlpFinding } from '../../../../sidecars/dlp/types.js'
import { FakeRandom, githubStyleToken } from '../../../helpers/fake-credentials.js'

const rng = new FakeRandom(1406)
const token = githubStyleToken(rng, 'ghp_')
const known = `kv-${rng.mixed(28)}`
const scanner = createScanner({ knownSecrets: [known] })
const harmless = 'the quick brown fox jumps over the lazy dog, twice over'

const rulesIn = (findings: readonly DlpFinding[]) => findings.map((f) => f.rule)
const textFindings = (text: string) => scanner.scanText(text, 'x')
const body = (contentType: string | undefined, bytes: Uint8Array | string, contentEncoding?: string): BodyScanInput => ({
  contentType,
  contentEncoding,
  body: typeof bytes === 'string' ? new Uint8Array(Buffer.from(bytes)) : bytes,
})
const bodyFindings = (input: BodyScanInput) => {
  const verdict = scanner.scanBody(input)
  if (!verdict.ok) throw new Error(`unexpected refusal: ${verdict.reason}`)
  return verdict.findings
}

const wrap = (text: string, column: number, eol = '\n') => text.match(new RegExp(`.{1,${column}}`, 'gs'))?.join(eol) ?? ''
const b64 = (s: string | Buffer) => Buffer.from(s).toString('base64')
const hexWith = (s: string, sep: string, prefix = '') => [...Buffer.from(s)].map((b) => `${prefix}${b.toString(16).padStart(2, '0')}`).join(sep)

describe('base32', () => {
  const cases = [
    { name: 'standard alphabet, padded', text: `id=${encodeBase32(Buffer.from(token))}` },
    { name: 'standard alphabet, unpadded', text: `id=${encodeBase32(Buffer.from(token)).replace(/=+$/, '')}` },
    { name: 'lower case', text: `id=${encodeBase32(Buffer.from(token)).toLowerCase()}` },
    { name: 'extended-hex alphabet', text: `id=${encodeBase32(Buffer.from(token), 'base32hex')}` },
    { name: 'behind a stray character', text: `id=Q${encodeBase32(Buffer.from(token))}` },
  ]
  it.each(cases)('finds a token in $name', ({ text }) => {
    expect(textFindings(text)).toContainEqual(expect.objectContaining({ rule: 'github-pat', encoding: expect.stringMatching(/^base32/) }))
  })
  it('finds a known secret in base32', () => {
    expect(rulesIn(textFindings(encodeBase32(Buffer.from(known))))).toContain('known-secret')
  })
  it('near miss: base32 of harmless text, and upper-case words', () => {
    expect(textFindings(`${encodeBase32(Buffer.from(harmless))} SCREAMINGCONSTANTNAMEHERE`)).toEqual([])
  })
})

describe('base64 with line breaks at any column', () => {
  const columns = [1, 4, 7, 20, 64, 76]
  it.each(columns)('wrapped at column %i', (column) => {
    expect(rulesIn(textFindings(`data:\n${wrap(b64(`token ${token}`), column)}\n`))).toContain('github-pat')
  })
  it('wrapped with CRLF and indentation', () => {
    const text = wrap(b64(`k=${known}`), 10, '\r\n    ')
    expect(rulesIn(textFindings(`  ${text}\r\n`))).toContain('known-secret')
  })
  it('inside a JSON string with escaped newlines', () => {
    const json = JSON.stringify({ blob: wrap(b64(`t ${token}`), 16) })
    expect(rulesIn(bodyFindings(body('application/json', json)))).toContain('github-pat')
  })
  it('in a MIME part with Content-Transfer-Encoding: base64', () => {
    const B = 'b0undary'
    const mime = `--${B}\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\n${wrap(b64(`note ${token} end`), 76, '\r\n')}\r\n--${B}--\r\n`
    expect(bodyFindings(body(`multipart/mixed; boundary=${B}`, mime))).toContainEqual(expect.objectContaining({ rule: 'github-pat', location: 'body.multipart[0].content' }))
  })
  it('near miss: wrapped base64 of harmless data, in text and in a MIME part', () => {
    expect(textFindings(`data:\n${wrap(b64(harmless.repeat(4)), 9)}\n`)).toEqual([])
    const B = 'b0undary'
    const mime = `--${B}\r\nContent-Transfer-Encoding: base64\r\n\r\n${wrap(b64(harmless.repeat(4)), 76, '\r\n')}\r\n--${B}--\r\n`
    expect(bodyFindings(body(`multipart/mixed; boundary=${B}`, mime))).toEqual([])
  })
})

describe('hex with separators', () => {
  const cases = [
    { name: 'colons', text: hexWith(token, ':') },
    { name: 'spaces', text: hexWith(token, ' ') },
    { name: 'dashes', text: hexWith(token, '-') },
    { name: '\\x escapes', text: hexWith(token, '', '\\x') },
    { name: 'octal escapes (printf, C, Python bytes)', text: `printf '${[...Buffer.from(token)].map((b) => `\\${b.toString(8).padStart(3, '0')}`).join('')}'` },
    { name: '0x and commas', text: `{ ${hexWith(token, ', ', '0x')} }` },
    { name: 'od-style lines', text: wrap(hexWith(token, ' '), 48, '\n') },
    { name: 'upper case with colons', text: hexWith(token, ':').toUpperCase() },
  ]
  it.each(cases)('finds a token in $name', ({ text }) => {
    expect(rulesIn(textFindings(text))).toContain('github-pat')
  })
  it('finds a known secret in colon-separated hex', () => {
    expect(rulesIn(textFindings(hexWith(known, ':')))).toContain('known-secret')
  })
  it('near miss: a MAC address, a UUID, a date and hex of harmless text', () => {
    expect(textFindings(`mac 00:1a:2b:3c:4d:5e uuid 123e4567-e89b-12d3-a456-426614174000 on 2024-06-01 ${hexWith(harmless, ':')}`)).toEqual([])
  })
})

describe('byte values in decimal', () => {
  const decimal = (s: string, sep: string) => [...Buffer.from(s)].join(sep)
  const cases = [
    { name: 'a JSON array', text: `data=[${decimal(token, ',')}]` },
    { name: 'a Python list', text: `[${decimal(token, ', ')}]` },
    { name: 'blank-separated', text: decimal(token, ' ') },
    { name: 'one value per line', text: decimal(token, '\n') },
    { name: 'od -tu1 lines', text: [...Buffer.from(token)].map((b, i) => `${i % 16 === 0 ? (i ? '\n' : '') : ' '}${String(b).padStart(4)}`).join('') },
  ]
  it.each(cases)('finds a token in $name', ({ text }) => {
    expect(textFindings(text)).toContainEqual(expect.objectContaining({ rule: 'github-pat', encoding: 'decimal' }))
  })
  it('finds a known secret as decimal bytes', () => {
    expect(rulesIn(textFindings(decimal(known, ',')))).toContain('known-secret')
  })
  it('finds a token in a serialized buffer outside any JSON string, located at the array', () => {
    const json = JSON.stringify({ model: 'm', payload: Buffer.from(`token=${token}`) })
    expect(bodyFindings(body('application/json', json))).toContainEqual({ rule: 'github-pat', location: 'body.json:$.payload.data[0]', encoding: 'decimal' })
  })
  it('near miss: years, ports, bits, an embedding and decimal bytes of harmless text', () => {
    expect(textFindings(`years 2019, 2020, 2021, 2022, 2023, 2024, 2025, 2026 ports 8080 8081 8082 8083 8084 8085 8086 8087`)).toEqual([])
    const json = JSON.stringify({ bits: [1, 0, 1, 1, 0, 0, 1, 0, 1], embedding: [0.12, 0.5, 0.33, 0.1, 0.9, 0.2, 0.4, 0.8], text: [...Buffer.from(harmless)] })
    expect(bodyFindings(body('application/json', json))).toEqual([])
    expect(textFindings(decimal(harmless, ', '))).toEqual([])
  })
  it('near miss: a value past 255 ends the run, so the token is not read across it', () => {
    const values = [...Buffer.from(token)]
    expect(textFindings([...values.slice(0, 12), 256, ...values.slice(12)].join(','))).toEqual([])
  })
})

describe('UTF-16 and UTF-32, either byte order, whatever charset is declared', () => {
  const utf16be = (s: string) => Buffer.from(s, 'utf16le').swap16()
  const utf32 = (s: string, little: boolean) => {
    const out = Buffer.alloc(s.length * 4)
    ;[...s].forEach((ch, i) => (little ? out.writeUInt32LE(ch.codePointAt(0) as number, i * 4) : out.writeUInt32BE(ch.codePointAt(0) as number, i * 4)))
    return out
  }
  const secretText = `note: ${token}`
  const cases = [
    { name: 'UTF-16LE with a BOM, declared utf-8', bytes: Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(secretText, 'utf16le')]), type: 'text/plain; charset=utf-8' },
    { name: 'UTF-16LE without a BOM, nothing declared', bytes: Buffer.from(secretText, 'utf16le'), type: 'application/octet-stream' },
    { name: 'UTF-16BE with a BOM', bytes: Buffer.concat([Buffer.from([0xfe, 0xff]), utf16be(secretText)]), type: 'text/plain' },
    { name: 'UTF-16BE without a BOM, declared latin1', bytes: utf16be(secretText), type: 'text/plain; charset=iso-8859-1' },
    { name: 'UTF-32LE with a BOM', bytes: Buffer.concat([Buffer.from([0xff, 0xfe, 0, 0]), utf32(secretText, true)]), type: 'text/plain' },
    { name: 'UTF-32BE without a BOM', bytes: utf32(secretText, false), type: 'application/json' },
    { name: 'UTF-16LE declared as utf-16', bytes: Buffer.from(secretText, 'utf16le'), type: 'text/plain; charset=utf-16' },
  ]
  it.each(cases)('$name', ({ bytes, type }) => {
    expect(rulesIn(bodyFindings(body(type, new Uint8Array(bytes))))).toContain('github-pat')
  })
  it('base64 of UTF-32 text', () => {
    expect(rulesIn(textFindings(b64(utf32(secretText, true))))).toContain('github-pat')
  })
  it('a declared charset that does not fit the bytes is reported', () => {
    expect(rulesIn(bodyFindings(body('text/plain; charset=utf-8', new Uint8Array([0x68, 0x69, 0xc3, 0x28, 0xff]))))).toContain(CHARSET_MISMATCH_RULE)
    expect(rulesIn(bodyFindings(body('text/plain; charset=utf-16le', new Uint8Array(Buffer.from('odd', 'latin1')))))).toContain(CHARSET_MISMATCH_RULE)
    expect(rulesIn(bodyFindings(body('text/plain; charset=utf-7', new Uint8Array(Buffer.from('+AEE-\u00e9', 'latin1')))))).toContain(CHARSET_MISMATCH_RULE)
  })
  it('near miss: harmless text in UTF-16 and UTF-32, and a charset that fits', () => {
    expect(bodyFindings(body('text/plain; charset=utf-16le', new Uint8Array(Buffer.from(harmless, 'utf16le'))))).toEqual([])
    expect(bodyFindings(body('text/plain', new Uint8Array(utf32(harmless, false))))).toEqual([])
    expect(bodyFindings(body('text/plain; charset=windows-1252', new Uint8Array(Buffer.from('caf\u00e9 cr\u00e8me', 'latin1'))))).toEqual([])
  })
})

describe('compression, found by magic number whatever the headers say', () => {
  const payload = Buffer.from(`{"note": "${token}"}`)
  const zipOf = (name: string, data: Buffer, method: 0 | 8, streamed = false) => {
    const content = method === 8 ? deflateRawSync(data) : data
    const header = Buffer.alloc(30)
    header.writeUInt32LE(0x04034b50, 0)
    header.writeUInt16LE(20, 4)
    header.writeUInt16LE(streamed ? 0x8 : 0, 6)
    header.writeUInt16LE(method, 8)
    header.writeUInt32LE(streamed ? 0 : content.length, 18)
    header.writeUInt32LE(streamed ? 0 : data.length, 22)
    header.writeUInt16LE(name.length, 26)
    return Buffer.concat([header, Buffer.from(name), content])
  }
  /** Cut before the end of the deflate stream and its trailer: the payload has inflated, the stream has not ended. */
  const truncated = (gz: Buffer) => gz.subarray(0, gz.length - 12)
  const cases = [
    { name: 'gzip', bytes: gzipSync(payload), chain: 'gzip' },
    { name: 'zlib', bytes: deflateSync(payload), chain: 'zlib' },
    { name: 'zip, deflated entry', bytes: zipOf('a.json', payload, 8), chain: 'zip' },
    { name: 'zip, stored entry', bytes: zipOf('a.json', payload, 0), chain: 'zip' },
    { name: 'zip, streamed entry (sizes after the data)', bytes: zipOf('a.json', payload, 8, true), chain: 'zip' },
    { name: 'gzip inside gzip', bytes: gzipSync(gzipSync(payload)), chain: 'gzip+gzip' },
    { name: 'truncated gzip (what inflated is scanned)', bytes: truncated(gzipSync(Buffer.concat([payload, Buffer.alloc(4096, 'x')]))), chain: 'gzip' },
  ]
  it.each(cases)('a body in $name, with no Content-Encoding', ({ bytes, chain }) => {
    expect(bodyFindings(body('application/octet-stream', new Uint8Array(bytes)))).toContainEqual(expect.objectContaining({ rule: 'github-pat', encoding: expect.stringMatching(new RegExp(`^${chain.replace('+', '\\+')}`)) }))
  })
  it.each([
    { coding: 'gzip', bytes: gzipSync(payload) },
    { coding: 'deflate', bytes: deflateSync(payload) },
    { coding: 'deflate', bytes: deflateRawSync(payload) },
    { coding: 'br', bytes: brotliCompressSync(payload) },
  ])('a body with Content-Encoding: $coding', ({ coding, bytes }) => {
    expect(rulesIn(bodyFindings(body('application/json', new Uint8Array(bytes), coding)))).toContain('github-pat')
  })
  it('gzip | base64 in a text field', () => {
    expect(textFindings(`blob=${b64(gzipSync(payload))}`)).toContainEqual(expect.objectContaining({ rule: 'github-pat', encoding: 'base64+gzip' }))
  })
  it('a gzip in a multipart part', () => {
    const B = 'zz'
    const mime = Buffer.concat([Buffer.from(`--${B}\r\nContent-Disposition: form-data; name="f"; filename="x.gz"\r\n\r\n`), gzipSync(payload), Buffer.from(`\r\n--${B}--\r\n`)])
    expect(rulesIn(bodyFindings(body(`multipart/form-data; boundary=${B}`, new Uint8Array(mime))))).toContain('github-pat')
  })
  it.each([
    { name: 'bzip2', bytes: Buffer.concat([Buffer.from('BZh91AY&SY'), Buffer.alloc(32, 7)]) },
    { name: 'xz', bytes: Buffer.concat([Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]), Buffer.alloc(32, 7)]) },
    { name: 'zstd', bytes: Buffer.concat([Buffer.from([0x28, 0xb5, 0x2f, 0xfd]), Buffer.alloc(32, 7)]) },
  ])('$name cannot be read here, so it is a finding (fail closed)', ({ bytes }) => {
    expect(rulesIn(bodyFindings(body('application/octet-stream', new Uint8Array(bytes))))).toContain(UNREADABLE_RULE)
    expect(rulesIn(textFindings(`blob=${b64(bytes)}`))).toContain(UNREADABLE_RULE)
  })
  it('a compression bomb is a finding, not a hang', () => {
    const bomb = gzipSync(Buffer.alloc(64 * 1024 * 1024), { level: constants.Z_BEST_COMPRESSION })
    expect(rulesIn(bodyFindings(body('application/octet-stream', new Uint8Array(bomb))))).toContain(SCAN_LIMIT_RULE)
  })
  it('near miss: compressed harmless data passes, in a body and base64 in text', () => {
    const clean = Buffer.from(JSON.stringify({ text: harmless }))
    expect(bodyFindings(body('application/octet-stream', new Uint8Array(gzipSync(clean))))).toEqual([])
    expect(bodyFindings(body('application/json', new Uint8Array(brotliCompressSync(clean)), 'br'))).toEqual([])
    expect(bodyFindings(body('application/zip', new Uint8Array(zipOf('a.txt', clean, 8))))).toEqual([])
    expect(textFindings(`blob=${b64(gzipSync(clean))}`)).toEqual([])
  })
})

describe('nesting', () => {
  const hex = (s: string) => Buffer.from(s).toString('hex')
  it('three mixed layers are read through', () => {
    expect(rulesIn(textFindings(b64(encodeBase32(Buffer.from(hex(token))))))).toContain('github-pat')
  })
  it('a text that still decodes past the last layer is a finding (fail closed)', () => {
    expect(rulesIn(textFindings(b64(hex(b64(hex(b64(`x ${token}`)))))))).toContain(SCAN_LIMIT_RULE)
  })
  it('near miss: the same depth over harmless words is no finding', () => {
    expect(textFindings(b64(hex(b64(hex(harmless)))))).toEqual([])
  })
})
