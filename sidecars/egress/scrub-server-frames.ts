/**
 * WebSocket frames from the origin, on their way to the agent, when the
 * config has secret values: parsed (RFC 6455; server frames are unmasked),
 * every text and binary payload and every control payload redacted
 * (answer-redactor.ts), and framed again. Without secret values this module
 * is not used and frames are copied as they come (upgrade-tunnel.ts).
 *
 * A message is redacted as one stream across its fragments, so a value
 * split between two fragments (or two reads of one frame) is still caught.
 * Nothing waits for a whole message or even a whole frame: each read of
 * payload goes on at once as a fragment of the message (an intermediary may
 * refragment a message when no extension is in use), so memory stays bounded
 * by the read size. A frame that arrives whole in one read and holds no
 * secret goes on byte for byte.
 *
 * Compressed frames cannot appear (the handshake strips permessage-deflate),
 * so RSV bits set anyway end the connection (`answer-unscannable`), as does
 * a frame that breaks the protocol: a masked frame, an unknown opcode, a
 * fragmented or oversized control frame, a continuation out of place.
 */
import { Transform, type TransformCallback } from 'node:stream'
import { newTally, tallyTotal, type AnswerRedactor, type RedactionTally, type StreamRedactor } from './answer-redactor.js'
import { EgressDenial } from './deny.js'
import { CLOSE_POLICY_VIOLATION, CLOSE_PROTOCOL_ERROR, WebSocketDenial } from './websocket-frames.js'

export interface ServerFrameOptions {
  redactor: AnswerRedactor
  /** Once per message, or per control frame, in which something was redacted. */
  redacted(tally: RedactionTally): void
}

export type ServerFrameHead =
  | { status: 'incomplete' }
  | { status: 'invalid'; reason: string; compressed?: boolean }
  | { status: 'ok'; fin: boolean; opcode: number; length: number; headLength: number }

const MAX_HEAD = 10
const CONTROL_MAX = 125
const EMPTY = Buffer.alloc(0)

/** Read the head of one frame from the origin (unmasked) at the start of `data`. */
export function readServerFrameHead(data: Buffer): ServerFrameHead {
  if (data.length < 2) return { status: 'incomplete' }
  const first = data[0] as number
  const second = data[1] as number
  if ((first & 0x70) !== 0) return { status: 'invalid', reason: 'frame from the origin has RSV bits set (compressed or extended)', compressed: true }
  if ((second & 0x80) !== 0) return { status: 'invalid', reason: 'frame from the origin is masked' }
  const opcode = first & 0x0f
  if (opcode > 0x2 && (opcode < 0x8 || opcode > 0xa)) return { status: 'invalid', reason: `unknown opcode ${opcode} from the origin` }
  let length = second & 0x7f
  let headLength = 2
  if (length === 126) {
    if (data.length < 4) return { status: 'incomplete' }
    length = data.readUInt16BE(2)
    headLength = 4
  } else if (length === 127) {
    if (data.length < 10) return { status: 'incomplete' }
    const long = data.readBigUInt64BE(2)
    if (long > BigInt(Number.MAX_SAFE_INTEGER)) return { status: 'invalid', reason: 'frame length from the origin is out of range' }
    length = Number(long)
    headLength = 10
  }
  const fin = (first & 0x80) !== 0
  if (opcode >= 0x8 && (!fin || length > CONTROL_MAX)) return { status: 'invalid', reason: 'control frame from the origin is fragmented or too long' }
  return { status: 'ok', fin, opcode, length, headLength }
}

/** An unmasked frame as the origin would have sent it. */
export function serverFrame(fin: boolean, opcode: number, payload: Buffer): Buffer {
  const length = payload.length
  const extra = length < 126 ? 0 : length < 65536 ? 2 : 8
  const head = Buffer.alloc(2 + extra)
  head[0] = (fin ? 0x80 : 0) | opcode
  head[1] = extra === 0 ? length : extra === 2 ? 126 : 127
  if (extra === 2) head.writeUInt16BE(length, 2)
  if (extra === 8) head.writeBigUInt64BE(BigInt(length), 2)
  return Buffer.concat([head, payload], head.length + length)
}

interface OpenFrame {
  fin: boolean
  opcode: number
  remaining: number
  /** Control frames only: the payload so far (at most 125 bytes). */
  control?: Buffer[]
}

interface OpenMessage {
  opcode: number
  /** A fragment of it has gone to the agent: the rest are continuations. */
  started: boolean
  body: StreamRedactor
}

/** Origin-to-agent bytes in, redacted frames out. Errors with a WebSocketDenial. */
export function createServerFrameRedactor(options: ServerFrameOptions): Transform {
  const { redactor } = options
  let head: Buffer = EMPTY
  let frame: OpenFrame | undefined
  let message: OpenMessage | undefined

  const refuse = (reason: string, compressed: boolean | undefined) =>
    new WebSocketDenial(new EgressDenial('answer-unscannable', `WebSocket ${reason}`), compressed ? CLOSE_POLICY_VIOLATION : CLOSE_PROTOCOL_ERROR)

  return new Transform({
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      let offset = 0
      // Unchanged bytes of this chunk not yet pushed, as one run: frames that pass untouched go on in one piece.
      let runStart = 0
      let runEnd = 0
      const pass = (start: number, end: number) => {
        if (start !== runEnd) {
          flushRun()
          runStart = start
        }
        runEnd = end
      }
      const flushRun = () => {
        if (runEnd > runStart) this.push(chunk.subarray(runStart, runEnd))
        runStart = runEnd
      }
      const emit = (bytes: Buffer) => {
        flushRun()
        this.push(bytes)
      }

      for (;;) {
        if (!frame) {
          if (offset >= chunk.length) break
          const frameStart = offset
          const fromHead = head.length
          const view = fromHead === 0 ? chunk.subarray(offset, offset + MAX_HEAD) : Buffer.concat([head, chunk.subarray(offset, offset + MAX_HEAD)])
          const read = readServerFrameHead(view)
          if (read.status === 'incomplete') {
            head = Buffer.from(view)
            offset = chunk.length
            break
          }
          if (read.status === 'invalid') return callback(refuse(read.reason, read.compressed))
          const data = read.opcode === 0x1 || read.opcode === 0x2
          if (data && message) return callback(refuse('message from the origin started inside another message', false))
          if (read.opcode === 0x0 && !message) return callback(refuse('continuation frame from the origin outside a message', false))
          head = EMPTY
          offset += read.headLength - fromHead
          const end = offset + read.length
          // Whole in this read and not inside a fragmented message: redact in one go, and pass it as is when clean.
          if (fromHead === 0 && end <= chunk.length && (read.opcode >= 0x8 || (data && read.fin))) {
            const payload = chunk.subarray(offset, end)
            const tally = newTally()
            const out = redactor.redactBytes(payload, tally)
            if (out === payload) pass(frameStart, end)
            else emit(serverFrame(true, read.opcode, read.opcode >= 0x8 ? fitControl(read.opcode, out) : out))
            if (tallyTotal(tally) > 0) options.redacted(tally)
            offset = end
            continue
          }
          frame = { fin: read.fin, opcode: read.opcode, remaining: read.length }
          if (read.opcode >= 0x8) frame.control = []
          else if (data) message = { opcode: read.opcode, started: false, body: redactor.stream() }
        }

        const take = Math.min(frame.remaining, chunk.length - offset)
        if (take === 0 && frame.remaining > 0) break
        const piece = chunk.subarray(offset, offset + take)
        offset += take
        frame.remaining -= take
        if (frame.control) {
          frame.control.push(piece)
          if (frame.remaining > 0) continue
          const tally = newTally()
          const out = redactor.redactBytes(Buffer.concat(frame.control), tally)
          emit(serverFrame(true, frame.opcode, fitControl(frame.opcode, out)))
          if (tallyTotal(tally) > 0) options.redacted(tally)
          frame = undefined
          continue
        }
        const open = message as OpenMessage
        const out = open.body.write(piece)
        if (frame.remaining > 0 || !frame.fin) {
          if (out.length > 0) {
            emit(serverFrame(false, open.started ? 0x0 : open.opcode, out))
            open.started = true
          }
          if (frame.remaining === 0) frame = undefined
          continue
        }
        const rest = open.body.end()
        emit(serverFrame(true, open.started ? 0x0 : open.opcode, rest.length === 0 ? out : Buffer.concat([out, rest])))
        if (tallyTotal(open.body.tally) > 0) options.redacted(open.body.tally)
        message = undefined
        frame = undefined
      }
      flushRun()
      callback()
    },
  })
}

/** A control payload cut to the 125 bytes the protocol allows (a close reason at a UTF-8 boundary). */
function fitControl(opcode: number, payload: Buffer): Buffer {
  if (payload.length <= CONTROL_MAX) return payload
  let end = CONTROL_MAX
  if (opcode === 0x8) while (end > 2 && ((payload[end] as number) & 0xc0) === 0x80) end--
  return payload.subarray(0, end)
}
