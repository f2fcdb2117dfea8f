/**
 * git's pkt-line framing (gitprotocol-common(5)): four hex digits of length
 * (including themselves), then the payload; `0000` is a flush. Side-band
 * wraps payloads with a band byte: 1 data, 2 progress (shown as `remote:`),
 * 3 fatal error.
 */

export const FLUSH = Buffer.from('0000', 'ascii')
/** Largest payload of one pkt-line. */
export const MAX_PAYLOAD = 65516

export function pktLine(payload: string | Buffer): Buffer {
  const data = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload
  if (data.length > MAX_PAYLOAD) throw new Error(`pkt-line payload too long (${data.length} bytes)`)
  return Buffer.concat([Buffer.from((data.length + 4).toString(16).padStart(4, '0'), 'ascii'), data])
}

/** Payload in side-band packets; side-band (not -64k) allows 999 bytes per packet. */
export function sideBand(band: 1 | 2 | 3, data: Buffer, large: boolean): Buffer[] {
  const max = (large ? MAX_PAYLOAD : 1000 - 4) - 1
  const packets: Buffer[] = []
  for (let offset = 0; offset < data.length; offset += max) {
    packets.push(pktLine(Buffer.concat([Buffer.from([band]), data.subarray(offset, offset + max)])))
  }
  return packets
}

export type PktRead = { kind: 'data'; payload: Buffer; next: number } | { kind: 'flush' | 'delim' | 'response-end'; next: number } | { kind: 'incomplete' } | { kind: 'invalid' }

/** Read one pkt-line at `offset` of `buffer`. */
export function readPktLine(buffer: Buffer, offset: number): PktRead {
  if (buffer.length - offset < 4) return { kind: 'incomplete' }
  const header = buffer.subarray(offset, offset + 4).toString('latin1')
  if (!/^[0-9a-f]{4}$/.test(header)) return { kind: 'invalid' }
  const length = parseInt(header, 16)
  if (length === 0) return { kind: 'flush', next: offset + 4 }
  if (length === 1) return { kind: 'delim', next: offset + 4 }
  if (length === 2) return { kind: 'response-end', next: offset + 4 }
  if (length < 4) return { kind: 'invalid' }
  if (buffer.length - offset < length) return { kind: 'incomplete' }
  return { kind: 'data', payload: buffer.subarray(offset + 4, offset + length), next: offset + length }
}
