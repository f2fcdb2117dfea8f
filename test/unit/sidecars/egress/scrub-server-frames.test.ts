import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { compileAnswerSecrets, REDACTED_MARKER, type RedactionTally } from '../../../../sidecars/egress/answer-redactor.js'
import { createServerFrameRedactor, readServerFrameHead, serverFrame } from '../../../../sidecars/egress/scrub-server-frames.js'
import { WebSocketDenial } from '../../../../sidecars/egress/websocket-frames.js'

const TOKEN = `wstok-${randomBytes(16).toString('hex')}`
const redactor = compileAnswerSecrets(new Map([['ws', TOKEN]]), [])!.forRequest({ agentHeaders: [] })

interface Frame {
  fin: boolean
  opcode: number
  payload: Buffer
}

/** An independent reader for what the agent receives. */
function frames(data: Buffer): Frame[] {
  const out: Frame[] = []
  let at = 0
  while (at < data.length) {
    const first = data[at] as number
    let length = (data[at + 1] as number) & 0x7f
    let head = 2
    if (length === 126) {
      length = data.readUInt16BE(at + 2)
      head = 4
    } else if (length === 127) {
      length = Number(data.readBigUInt64BE(at + 2))
      head = 10
    }
    out.push({ fin: (first & 0x80) !== 0, opcode: first & 0x0f, payload: data.subarray(at + head, at + head + length) })
    at += head + length
  }
  return out
}

/** Messages reassembled from frames; control frames stand alone. */
function messages(list: Frame[]): Array<{ opcode: number; payload: string }> {
  const out: Array<{ opcode: number; payload: string }> = []
  let open: { opcode: number; parts: Buffer[] } | undefined
  for (const frame of list) {
    if (frame.opcode >= 0x8) {
      out.push({ opcode: frame.opcode, payload: frame.payload.toString('latin1') })
      continue
    }
    open ??= { opcode: frame.opcode, parts: [] }
    open.parts.push(frame.payload)
    if (frame.fin) {
      out.push({ opcode: open.opcode, payload: Buffer.concat(open.parts).toString('latin1') })
      open = undefined
    }
  }
  return out
}

function frameOf(fin: boolean, opcode: number, payload: string | Buffer, rsv = 0): Buffer {
  const frame = serverFrame(fin, opcode, Buffer.isBuffer(payload) ? payload : Buffer.from(payload))
  frame[0] = (frame[0] as number) | (rsv << 4)
  return frame
}

async function run(pieces: readonly Buffer[]): Promise<{ out: Buffer; tallies: RedactionTally[]; error?: Error }> {
  const tallies: RedactionTally[] = []
  const filter = createServerFrameRedactor({ redactor, redacted: (tally) => tallies.push({ ...tally }) })
  const out: Buffer[] = []
  filter.on('data', (chunk: Buffer) => out.push(chunk))
  const result = new Promise<Error | undefined>((resolve) => {
    filter.on('error', resolve)
    filter.on('end', () => resolve(undefined))
  })
  for (const piece of pieces) filter.write(piece)
  filter.end()
  const error = await result
  return { out: Buffer.concat(out), tallies, ...(error ? { error } : {}) }
}

describe('readServerFrameHead', () => {
  const cases = [
    { name: 'too short', bytes: [0x81], want: { status: 'incomplete' } },
    { name: '16-bit length not all there', bytes: [0x82, 126, 0], want: { status: 'incomplete' } },
    { name: 'text frame', bytes: [0x81, 5], want: { status: 'ok', fin: true, opcode: 1, length: 5, headLength: 2 } },
    { name: '64-bit length', bytes: [0x02, 127, 0, 0, 0, 0, 0, 1, 0, 0], want: { status: 'ok', fin: false, opcode: 2, length: 65536, headLength: 10 } },
    { name: 'RSV1 (compressed)', bytes: [0xc1, 1], want: { status: 'invalid', compressed: true } },
    { name: 'masked', bytes: [0x81, 0x85], want: { status: 'invalid' } },
    { name: 'unknown opcode', bytes: [0x83, 0], want: { status: 'invalid' } },
    { name: 'fragmented control', bytes: [0x09, 0], want: { status: 'invalid' } },
    { name: 'control over 125 bytes', bytes: [0x89, 126, 0, 126], want: { status: 'invalid' } },
  ]
  it.each(cases)('$name', ({ bytes, want }) => {
    expect(readServerFrameHead(Buffer.from(bytes))).toMatchObject(want)
  })
})

describe('createServerFrameRedactor', () => {
  it('passes clean frames byte for byte, however the reads are cut', async () => {
    const input = Buffer.concat([frameOf(true, 1, 'hello'), frameOf(true, 2, randomBytes(70_000)), frameOf(true, 9, 'ping'), frameOf(false, 1, 'a'), frameOf(true, 0, 'b')])
    expect((await run([input])).out.equals(input)).toBe(true)
    const cut = [input.subarray(0, 1), input.subarray(1, 9), input.subarray(9, 40_000), input.subarray(40_000)]
    expect(messages(frames((await run(cut)).out))).toEqual(messages(frames(input)))
  })

  it('redacts a text and a binary message', async () => {
    const binary = Buffer.concat([randomBytes(8), Buffer.from(TOKEN), Buffer.from(Buffer.from(`u:${TOKEN}`).toString('base64'))])
    const { out, tallies } = await run([Buffer.concat([frameOf(true, 1, `{"auth":"${TOKEN}"}`), frameOf(true, 2, binary)])])
    expect(out.includes(TOKEN)).toBe(false)
    expect(out.includes(Buffer.from(TOKEN).toString('base64').slice(0, 20))).toBe(false)
    const got = messages(frames(out))
    expect(got[0]).toEqual({ opcode: 1, payload: `{"auth":"${REDACTED_MARKER}"}` })
    expect(got[1]?.opcode).toBe(2)
    expect(tallies).toEqual([
      { 'known-secret': 1, 'injected-credential': 0 },
      { 'known-secret': 2, 'injected-credential': 0 },
    ])
  })

  it('catches a value split across two fragments, with a ping between them', async () => {
    const half = 9
    const input = Buffer.concat([frameOf(false, 1, `x ${TOKEN.slice(0, half)}`), frameOf(true, 9, 'p'), frameOf(true, 0, `${TOKEN.slice(half)} y`)])
    const { out, tallies } = await run([input])
    expect(out.includes(TOKEN.slice(0, half))).toBe(false)
    const got = messages(frames(out))
    expect(got).toEqual([
      { opcode: 9, payload: 'p' },
      { opcode: 1, payload: `x ${REDACTED_MARKER} y` },
    ])
    expect(tallies).toHaveLength(1)
  })

  it('catches a value split across two reads of one frame, at every byte', async () => {
    const input = frameOf(true, 1, `[${TOKEN}]`)
    for (let at = 1; at < input.length; at++) {
      const { out } = await run([input.subarray(0, at), input.subarray(at)])
      expect(out.includes(TOKEN.slice(0, 8))).toBe(false)
      expect(messages(frames(out))).toEqual([{ opcode: 1, payload: `[${REDACTED_MARKER}]` }])
    }
  })

  it('redacts a close reason and keeps it within 125 bytes', async () => {
    const reason = Buffer.concat([Buffer.from([0x03, 0xe8]), Buffer.from(`bad token ${TOKEN}`)])
    const { out } = await run([frameOf(true, 8, reason)])
    const [close] = frames(out)
    expect(close?.opcode).toBe(8)
    expect(close?.payload.readUInt16BE(0)).toBe(1000)
    expect(close?.payload.subarray(2).toString()).toBe(`bad token ${REDACTED_MARKER}`)
  })

  const refusals = [
    { name: 'RSV bits (a compressed frame)', input: frameOf(true, 1, 'x', 4), code: 1008 },
    { name: 'a masked frame', input: Buffer.from([0x81, 0x81, 1, 2, 3, 4, 5]), code: 1002 },
    { name: 'a continuation outside a message', input: frameOf(true, 0, 'x'), code: 1002 },
    { name: 'a new message inside another', input: Buffer.concat([frameOf(false, 1, 'a'), frameOf(true, 1, 'b')]), code: 1002 },
  ]
  it.each(refusals)('ends the connection on $name', async ({ input, code }) => {
    const { error } = await run([input])
    expect(error).toBeInstanceOf(WebSocketDenial)
    expect(error).toMatchObject({ rule: 'answer-unscannable', closeCode: code })
  })
})
