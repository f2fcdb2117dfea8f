/**
 * DLP for WebSocket messages the agent sends. After a handshake through an
 * allowed route, frames from the agent are parsed (RFC 6455), each message is
 * held until its last fragment arrives, scanned whole, and only then passed
 * on byte for byte. Control frames (ping, pong, close) are scanned too, since
 * their payloads also leave. A message the policy refuses, a message above the
 * scan cap, a compressed frame (the handshake strips permessage-deflate, so
 * one can only be an evasion) or a malformed frame ends the connection: the
 * agent gets a close frame naming the rule, the origin gets nothing more.
 *
 * Frames from the origin are not scanned; they are redacted of the bottle's
 * secret values when it has any (scrub-server-frames.ts), else copied as
 * they come.
 */
import { Transform, type TransformCallback } from 'node:stream'
import { EgressDenial } from './deny.js'

export type MessageKind = 'text' | 'binary' | 'control'

/** Undefined to let the message through. */
export type InspectMessage = (kind: MessageKind, payload: Uint8Array) => EgressDenial | undefined

/** A denial that also says which close code the agent receives. */
export class WebSocketDenial extends EgressDenial {
  constructor(
    denial: EgressDenial,
    readonly closeCode: number,
  ) {
    super(denial.rule, denial.reason)
  }
}

export const CLOSE_PROTOCOL_ERROR = 1002
export const CLOSE_POLICY_VIOLATION = 1008
export const CLOSE_MESSAGE_TOO_BIG = 1009

export type FrameRead =
  | { status: 'incomplete' }
  | { status: 'invalid'; reason: string }
  | { status: 'too-large' }
  | { status: 'ok'; fin: boolean; rsv: number; opcode: number; payload: Buffer; length: number }

/** Read one client frame (masked, as RFC 6455 requires of clients) from the start of `data`. */
export function readClientFrame(data: Buffer, maxPayload: number): FrameRead {
  if (data.length < 2) return { status: 'incomplete' }
  const first = data[0] as number
  const second = data[1] as number
  if ((second & 0x80) === 0) return { status: 'invalid', reason: 'client frame is not masked' }
  let payloadLength = second & 0x7f
  let at = 2
  if (payloadLength === 126) {
    if (data.length < 4) return { status: 'incomplete' }
    payloadLength = data.readUInt16BE(2)
    at = 4
  } else if (payloadLength === 127) {
    if (data.length < 10) return { status: 'incomplete' }
    const long = data.readBigUInt64BE(2)
    if (long > BigInt(maxPayload)) return { status: 'too-large' }
    payloadLength = Number(long)
    at = 10
  }
  if (payloadLength > maxPayload) return { status: 'too-large' }
  if (data.length < at + 4 + payloadLength) return { status: 'incomplete' }
  const mask = data.subarray(at, at + 4)
  const payload = Buffer.from(data.subarray(at + 4, at + 4 + payloadLength))
  for (let i = 0; i < payload.length; i++) payload[i] = (payload[i] as number) ^ (mask[i & 3] as number)
  return { status: 'ok', fin: (first & 0x80) !== 0, rsv: (first >> 4) & 0x7, opcode: first & 0x0f, payload, length: at + 4 + payloadLength }
}

/** An unmasked close frame from the proxy to the agent, the reason cut to fit a control frame. */
export function closeFrame(code: number, reason: string): Buffer {
  const text = Buffer.from(reason).subarray(0, 123)
  const frame = Buffer.alloc(4 + text.length)
  frame[0] = 0x88
  frame[1] = 2 + text.length
  frame.writeUInt16BE(code, 2)
  text.copy(frame, 4)
  return frame
}

/** Agent-to-origin bytes in, scanned whole messages out. Errors with a WebSocketDenial. */
export function createClientFrameFilter(options: { maxMessageBytes: number; inspect: InspectMessage }): Transform {
  let pending: Buffer = Buffer.alloc(0)
  let message: { kind: 'text' | 'binary'; raw: Buffer[]; payload: Buffer[]; size: number } | undefined

  const refuse = (denial: EgressDenial, code: number) => new WebSocketDenial(denial, code)
  const protocolError = (reason: string) => refuse(new EgressDenial('malformed-request', `WebSocket ${reason}`), CLOSE_PROTOCOL_ERROR)

  return new Transform({
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk])
      for (;;) {
        const frame = readClientFrame(pending, options.maxMessageBytes)
        if (frame.status === 'incomplete') return callback()
        if (frame.status === 'invalid') return callback(protocolError(frame.reason))
        if (frame.status === 'too-large' || (message && message.size + frame.payload.length > options.maxMessageBytes)) {
          return callback(refuse(new EgressDenial('body-too-large', `WebSocket message exceeds the scan limit of ${options.maxMessageBytes} bytes`), CLOSE_MESSAGE_TOO_BIG))
        }
        const raw = pending.subarray(0, frame.length)
        pending = pending.subarray(frame.length)
        if (frame.rsv !== 0) {
          return callback(refuse(new EgressDenial('body-unscannable', 'compressed or extended WebSocket frames cannot be scanned'), CLOSE_POLICY_VIOLATION))
        }
        if (frame.opcode >= 0x8) {
          if (!frame.fin || frame.payload.length > 125) return callback(protocolError('control frame is fragmented or too long'))
          const denial = options.inspect('control', frame.payload)
          if (denial) return callback(refuse(denial, CLOSE_POLICY_VIOLATION))
          this.push(raw)
          continue
        }
        if (frame.opcode === 0x1 || frame.opcode === 0x2) {
          if (message) return callback(protocolError('message started inside another message'))
          message = { kind: frame.opcode === 0x1 ? 'text' : 'binary', raw: [], payload: [], size: 0 }
        } else if (frame.opcode !== 0x0 || !message) {
          return callback(protocolError(`unexpected opcode ${frame.opcode}`))
        }
        message.raw.push(Buffer.from(raw))
        message.payload.push(frame.payload)
        message.size += frame.payload.length
        if (!frame.fin) continue
        const whole = message
        message = undefined
        const denial = options.inspect(whole.kind, Buffer.concat(whole.payload, whole.size))
        if (denial) return callback(refuse(denial, CLOSE_POLICY_VIOLATION))
        for (const piece of whole.raw) this.push(piece)
      }
    },
  })
}
