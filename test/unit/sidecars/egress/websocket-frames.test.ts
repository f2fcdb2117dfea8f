import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { EgressDenial } from '../../../../sidecars/egress/deny.js'
import { closeFrame, createClientFrameFilter, readClientFrame, WebSocketDenial, type MessageKind } from '../../../../sidecars/egress/websocket-frames.js'

/** A client frame: masked, with the given flags. */
function frame(opcode: number, payload: string | Buffer, options: { fin?: boolean; rsv?: number; masked?: boolean } = {}): Buffer {
  const body = Buffer.isBuffer(payload) ? payload : Buffer.from(payload)
  const masked = options.masked ?? true
  const lengthBytes = body.length < 126 ? 0 : body.length < 65536 ? 2 : 8
  const head = Buffer.alloc(2 + lengthBytes + (masked ? 4 : 0))
  head[0] = ((options.fin ?? true) ? 0x80 : 0) | ((options.rsv ?? 0) << 4) | opcode
  head[1] = (masked ? 0x80 : 0) | (body.length < 126 ? body.length : body.length < 65536 ? 126 : 127)
  if (lengthBytes === 2) head.writeUInt16BE(body.length, 2)
  if (lengthBytes === 8) head.writeBigUInt64BE(BigInt(body.length), 2)
  if (!masked) return Buffer.concat([head, body])
  const mask = randomBytes(4)
  mask.copy(head, 2 + lengthBytes)
  const out = Buffer.from(body)
  for (let i = 0; i < out.length; i++) out[i] = (out[i] as number) ^ (mask[i % 4] as number)
  return Buffer.concat([head, out])
}

async function filter(input: Buffer[], maxMessageBytes = 1024): Promise<{ passed: Buffer; seen: Array<[MessageKind, string]>; error?: WebSocketDenial }> {
  const seen: Array<[MessageKind, string]> = []
  const transform = createClientFrameFilter({
    maxMessageBytes,
    inspect: (kind, payload) => {
      const text = Buffer.from(payload).toString()
      seen.push([kind, text])
      return text.includes('SECRET') ? new EgressDenial('dlp', 'secret matching rule known-secret in websocket') : undefined
    },
  })
  const out: Buffer[] = []
  transform.on('data', (chunk: Buffer) => out.push(chunk))
  const error = await new Promise<WebSocketDenial | undefined>((resolve) => {
    transform.on('error', (e: WebSocketDenial) => resolve(e))
    transform.on('finish', () => resolve(undefined))
    for (const chunk of input) transform.write(chunk)
    transform.end()
  })
  return error ? { passed: Buffer.concat(out), seen, error } : { passed: Buffer.concat(out), seen }
}

describe('createClientFrameFilter', () => {
  it('passes clean messages byte for byte after scanning each whole', async () => {
    const frames = [frame(0x1, 'hello'), frame(0x2, Buffer.from([1, 2, 3])), frame(0x9, 'ping')]
    const got = await filter([Buffer.concat(frames)])
    expect(got.error).toBeUndefined()
    expect(got.passed.equals(Buffer.concat(frames))).toBe(true)
    expect(got.seen).toEqual([
      ['text', 'hello'],
      ['binary', '\u0001\u0002\u0003'],
      ['control', 'ping'],
    ])
  })

  it('reassembles fragments and input split at any byte', async () => {
    const frames = Buffer.concat([frame(0x1, 'par', { fin: false }), frame(0x9, 'p'), frame(0x0, 'tial', { fin: false }), frame(0x0, ' message')])
    const pieces = Array.from(frames).map((byte) => Buffer.from([byte]))
    const got = await filter(pieces)
    expect(got.seen).toEqual([
      ['control', 'p'],
      ['text', 'partial message'],
    ])
    expect(got.passed.length).toBe(frames.length)
  })

  const refused = [
    { name: 'a secret in a text message', input: [frame(0x1, 'token SECRET')], rule: 'dlp', code: 1008 },
    { name: 'a secret split across fragments', input: [frame(0x1, 'SEC', { fin: false }), frame(0x0, 'RET')], rule: 'dlp', code: 1008 },
    { name: 'a secret in a ping', input: [frame(0x9, 'SECRET')], rule: 'dlp', code: 1008 },
    { name: 'a secret in a close reason', input: [frame(0x8, Buffer.concat([Buffer.from([0x03, 0xe8]), Buffer.from('SECRET')]))], rule: 'dlp', code: 1008 },
    { name: 'a compressed frame', input: [frame(0x1, 'x', { rsv: 4 })], rule: 'body-unscannable', code: 1008 },
    { name: 'an unmasked client frame', input: [frame(0x1, 'x', { masked: false })], rule: 'malformed-request', code: 1002 },
    { name: 'a continuation without a start', input: [frame(0x0, 'x')], rule: 'malformed-request', code: 1002 },
    { name: 'a new message inside a fragmented one', input: [frame(0x1, 'a', { fin: false }), frame(0x1, 'b')], rule: 'malformed-request', code: 1002 },
    { name: 'a fragmented control frame', input: [frame(0x9, 'x', { fin: false })], rule: 'malformed-request', code: 1002 },
    { name: 'a reserved opcode', input: [frame(0x3, 'x')], rule: 'malformed-request', code: 1002 },
    { name: 'a message above the cap', input: [frame(0x1, 'x'.repeat(2000))], rule: 'body-too-large', code: 1009 },
    { name: 'fragments adding up above the cap', input: [frame(0x1, 'x'.repeat(600), { fin: false }), frame(0x0, 'x'.repeat(600))], rule: 'body-too-large', code: 1009 },
  ]
  it.each(refused)('refuses $name and lets nothing of that message through', async ({ input, rule, code }) => {
    const got = await filter(input)
    expect(got.error?.rule).toBe(rule)
    expect(got.error?.closeCode).toBe(code)
    expect(got.passed.length).toBe(0)
  })

  it('refuses a declared 64-bit length above the cap before the payload arrives', () => {
    const head = Buffer.from([0x82, 0xff, 0, 0, 0, 1, 0, 0, 0, 0, 1, 2, 3, 4])
    expect(readClientFrame(head, 1024)).toEqual({ status: 'too-large' })
  })
})

describe('closeFrame', () => {
  it('is an unmasked close frame with the code and a reason cut to 123 bytes', () => {
    const got = closeFrame(1008, `bottle-egress: dlp: ${'x'.repeat(300)}`)
    expect(got[0]).toBe(0x88)
    expect(got[1]).toBe(125)
    expect(got.readUInt16BE(2)).toBe(1008)
    expect(got.subarray(4).toString().startsWith('bottle-egress: dlp: ')).toBe(true)
  })
})
