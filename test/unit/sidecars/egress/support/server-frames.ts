/**
 * Reading the frames the agent receives after a WebSocket handshake, on its
 * own (not the proxy's parser): unmasked frames with FIN, opcode and
 * payload, and the messages they make once fragments are joined.
 */

export interface ReceivedFrame {
  fin: boolean
  rsv: number
  opcode: number
  payload: Buffer
}

/** The complete frames at the start of `data`, and how many bytes they took. */
export function readFrames(data: Buffer): { frames: ReceivedFrame[]; used: number } {
  const frames: ReceivedFrame[] = []
  let at = 0
  for (;;) {
    if (data.length < at + 2) break
    const first = data[at] as number
    let length = (data[at + 1] as number) & 0x7f
    let head = 2
    if (length === 126) {
      if (data.length < at + 4) break
      length = data.readUInt16BE(at + 2)
      head = 4
    } else if (length === 127) {
      if (data.length < at + 10) break
      length = Number(data.readBigUInt64BE(at + 2))
      head = 10
    }
    if (data.length < at + head + length) break
    frames.push({ fin: (first & 0x80) !== 0, rsv: (first >> 4) & 0x7, opcode: first & 0x0f, payload: data.subarray(at + head, at + head + length) })
    at += head + length
  }
  return { frames, used: at }
}

/** Messages with their fragments joined; control frames stand alone, in arrival order. */
export function messagesOf(frames: readonly ReceivedFrame[]): Array<{ opcode: number; payload: Buffer }> {
  const out: Array<{ opcode: number; payload: Buffer }> = []
  let open: { opcode: number; parts: Buffer[] } | undefined
  for (const frame of frames) {
    if (frame.opcode >= 0x8) {
      out.push({ opcode: frame.opcode, payload: frame.payload })
      continue
    }
    open ??= { opcode: frame.opcode, parts: [] }
    open.parts.push(frame.payload)
    if (frame.fin) {
      out.push({ opcode: open.opcode, payload: Buffer.concat(open.parts) })
      open = undefined
    }
  }
  return out
}
