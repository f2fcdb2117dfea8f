/**
 * The guest agent's wire format: frames of a 4-byte big-endian length and
 * that many bytes of UTF-8 JSON. A virtio-serial port is a byte stream with
 * no message boundaries, and JSON keeps the guest side (a plain .mjs run by
 * the image's node) free of dependencies. The guest's copy of this codec is
 * in images/vm-guest/guest-agent.mjs.
 */

/** Larger frames mean a corrupt stream, not a real message (output comes in 64 KiB chunks). */
export const MAX_FRAME_BYTES = 16 * 1024 * 1024

export function encodeFrame(message: unknown): Buffer {
  const body = Buffer.from(JSON.stringify(message), 'utf8')
  if (body.length > MAX_FRAME_BYTES) throw new RangeError(`frame of ${body.length} bytes exceeds ${MAX_FRAME_BYTES}`)
  const frame = Buffer.allocUnsafe(4 + body.length)
  frame.writeUInt32BE(body.length, 0)
  body.copy(frame, 4)
  return frame
}

/** Splits a byte stream into decoded frames; bytes of an unfinished frame wait for the next chunk. */
export class FrameDecoder {
  private pending: Buffer = Buffer.alloc(0)

  push(chunk: Buffer): unknown[] {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk])
    const messages: unknown[] = []
    while (this.pending.length >= 4) {
      const length = this.pending.readUInt32BE(0)
      if (length > MAX_FRAME_BYTES) throw new RangeError(`frame of ${length} bytes exceeds ${MAX_FRAME_BYTES}`)
      if (this.pending.length < 4 + length) break
      const body = this.pending.subarray(4, 4 + length)
      this.pending = this.pending.subarray(4 + length)
      messages.push(JSON.parse(body.toString('utf8')) as unknown)
    }
    return messages
  }
}
