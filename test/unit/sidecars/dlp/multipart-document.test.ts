import { Buffer } from 'node:buffer'
import { describe, expect, it } from 'vitest'
import { multipartDocument } from '../../../../sidecars/dlp/multipart-document.js'

const enc = (s: string) => new Uint8Array(Buffer.from(s, 'utf8'))
const B = 'XyZ-boundary-42'
const form = (...parts: string[]) => `--${B}\r\n${parts.join(`\r\n--${B}\r\n`)}\r\n--${B}--\r\n`

describe('multipartDocument', () => {
  const body = form(
    'Content-Disposition: form-data; name="title"\r\n\r\nhello',
    'Content-Disposition: form-data; name="file"; filename="notes.txt"\r\nContent-Type: text/plain\r\n\r\nline one\r\nline two',
  )

  it('reads every part', () => {
    const result = multipartDocument(enc(body), B, 'body', () => true, { remaining: 1 << 20, exceeded: false })
    if (!result.ok) throw new Error(result.reason)
    const texts = result.doc.segmentsFor([[0, body.length]]).map((s) => s.text)
    expect(texts).toContain('hello')
    expect(texts).toContain('line one\r\nline two')
    expect(texts).toContain('"notes.txt"')
  })

  it.each([
    { needle: 'hello', want: 'body.multipart[0].content' },
    { needle: 'title', want: 'body.multipart[0].name' },
    { needle: 'notes.txt', want: 'body.multipart[1].filename' },
    { needle: 'text/plain', want: 'body.multipart[1].header:content-type' },
    { needle: 'line two', want: 'body.multipart[1].content' },
    { needle: `--${B}--`, want: 'body.multipart' },
  ])('locates $needle', ({ needle, want }) => {
    const result = multipartDocument(enc(body), B, 'body', () => true, { remaining: 1 << 20, exceeded: false })
    if (!result.ok) throw new Error(result.reason)
    expect(result.doc.locate([body.indexOf(needle)])).toEqual([want])
  })

  it('accepts bare LF line endings, a preamble and an epilogue', () => {
    const lf = `preamble\n--${B}\nContent-Disposition: form-data; name="a"\n\nvalue\n--${B}--\nepilogue`
    const result = multipartDocument(enc(lf), B, 'body', () => true, { remaining: 1 << 20, exceeded: false })
    expect(result.ok && result.doc.locate([lf.indexOf('value'), 0, lf.indexOf('epilogue')])).toEqual([
      'body.multipart[0].content',
      'body.multipart.preamble',
      'body.multipart.epilogue',
    ])
  })

  it('decodes quoted-printable parts', () => {
    const qp = form('Content-Disposition: form-data; name="a"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nsecret=3Dva=\r\nlue')
    const result = multipartDocument(enc(qp), B, 'body', () => true, { remaining: 1 << 20, exceeded: false })
    expect(result.ok && result.doc.segmentsFor([]).some((s) => s.text === 'secret=value' && !s.rawCovered)).toBe(true)
  })

  it('reads UTF-8 parts as UTF-8', () => {
    const utf8 = form('Content-Disposition: form-data; name="a"\r\n\r\nпривет мир')
    const result = multipartDocument(enc(utf8), B, 'body', () => true, { remaining: 1 << 20, exceeded: false })
    expect(result.ok && result.doc.segmentsFor([]).some((s) => s.text === 'привет мир')).toBe(true)
  })

  it.each([
    { name: 'no boundary parameter', body: form('a'), boundary: undefined },
    { name: 'an invalid boundary', body: form('a'), boundary: 'x'.repeat(71) },
    { name: 'no opening boundary', body: 'just text', boundary: B },
    { name: 'no closing boundary', body: `--${B}\r\nContent-Disposition: form-data; name="a"\r\n\r\nvalue`, boundary: B },
    { name: 'no blank line after the headers', body: `--${B}\r\nContent-Disposition: form-data; name="a"\r\n--${B}--\r\n`, boundary: B },
    { name: 'a header line without a colon', body: form('Content-Disposition form-data\r\n\r\nvalue'), boundary: B },
    { name: 'a compressed part', body: form('Content-Disposition: form-data; name="a"\r\nContent-Encoding: gzip\r\n\r\nvalue'), boundary: B },
    { name: 'an unknown transfer encoding', body: form('Content-Disposition: form-data; name="a"\r\nContent-Transfer-Encoding: x-uuencode\r\n\r\nvalue'), boundary: B },
    { name: 'data after a boundary', body: `--${B}junk\r\n\r\nvalue\r\n--${B}--`, boundary: B },
    { name: 'a body cut inside a boundary line', body: `--${B}`, boundary: B },
  ])('refuses $name', ({ body: raw, boundary }) => {
    expect(multipartDocument(enc(raw), boundary, 'body', () => true, { remaining: 1 << 20, exceeded: false }).ok).toBe(false)
  })
})
