/** Just enough RFC 6455 framing for the egress WebSocket tests (single-frame messages). */
import { randomBytes } from 'node:crypto'

export function encodeFrame(opcode: number, payload: Buffer, masked: boolean): Buffer {
  const length = payload.length
  const lengthBytes = length < 126 ? 0 : length < 65536 ? 2 : 8
  const head = Buffer.alloc(2 + lengthBytes + (masked ? 4 : 0))
  head[0] = 0x80 | opcode
  head[1] = (masked ? 0x80 : 0) | (length < 126 ? length : length < 65536 ? 126 : 127)
  if (lengthBytes === 2) head.writeUInt16BE(length, 2)
  if (lengthBytes === 8) head.writeBigUInt64BE(BigInt(length), 2)
  if (!masked) return Buffer.concat([head, payload])
  const mask = randomBytes(4)
  mask.copy(head, 2 + lengthBytes)
  const body = Buffer.from(payload)
  for (let i = 0; i < body.length; i++) body[i] = (body[i] as number) ^ (mask[i % 4] as number)
  return Buffer.concat([head, body])
}

export function decodeFrame(data: Buffer): { opcode: number; payload: Buffer; length: number } | undefined {
  if (data.length < 2) return undefined
  const opcode = (data[0] as number) & 0x0f
  const masked = ((data[1] as number) & 0x80) !== 0
  let length = (data[1] as number) & 0x7f
  let at = 2
  if (length === 126) {
    if (data.length < 4) return undefined
    length = data.readUInt16BE(2)
    at = 4
  } else if (length === 127) {
    if (data.length < 10) return undefined
    length = Number(data.readBigUInt64BE(2))
    at = 10
  }
  const maskAt = at
  if (masked) at += 4
  if (data.length < at + length) return undefined
  const payload = Buffer.from(data.subarray(at, at + length))
  if (masked) for (let i = 0; i < payload.length; i++) payload[i] = (payload[i] as number) ^ (data[maskAt + (i % 4)] as number)
  return { opcode, payload, length: at + length }
}
