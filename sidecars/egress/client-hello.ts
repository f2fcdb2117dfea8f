/**
 * The server name a TLS ClientHello asks for, read from the first bytes of a
 * passthrough tunnel without terminating TLS. The proxy compares it with the
 * CONNECT host, so an agent cannot open a tunnel to an allowed host and then
 * ask the server behind it (a CDN, a shared front end) for another one.
 *
 * The ClientHello may span several TLS records and TCP segments; the parser
 * reassembles handshake fragments and says `incomplete` until it has the
 * whole message.
 */

export type ClientHelloParse =
  | { status: 'incomplete' }
  | { status: 'invalid'; reason: string }
  | { status: 'ok'; serverName: string | undefined }

const RECORD_HANDSHAKE = 0x16
const HANDSHAKE_CLIENT_HELLO = 0x01
const EXTENSION_SERVER_NAME = 0x0000
const NAME_TYPE_HOST = 0x00

/** Cap on how much is buffered while waiting for the whole ClientHello. */
export const MAX_CLIENT_HELLO_BYTES = 64 * 1024

export function parseClientHello(data: Uint8Array): ClientHelloParse {
  // Reassemble the handshake layer from consecutive handshake records.
  const fragments: Uint8Array[] = []
  let handshakeLength = 0
  let offset = 0
  let expected: number | undefined
  while (offset + 5 <= data.length) {
    if (data[offset] !== RECORD_HANDSHAKE) return { status: 'invalid', reason: 'not a TLS handshake record' }
    if (data[offset + 1] !== 0x03) return { status: 'invalid', reason: 'not a TLS record version' }
    const recordLength = ((data[offset + 3] as number) << 8) | (data[offset + 4] as number)
    if (recordLength === 0 || recordLength > 16384 + 2048) return { status: 'invalid', reason: 'bad TLS record length' }
    const end = offset + 5 + recordLength
    const fragment = data.subarray(offset + 5, Math.min(end, data.length))
    fragments.push(fragment)
    handshakeLength += fragment.length
    if (expected === undefined && handshakeLength >= 4) {
      const head = concat(fragments, 4)
      if (head[0] !== HANDSHAKE_CLIENT_HELLO) return { status: 'invalid', reason: 'first handshake message is not a ClientHello' }
      expected = 4 + (((head[1] as number) << 16) | ((head[2] as number) << 8) | (head[3] as number))
      if (expected > MAX_CLIENT_HELLO_BYTES) return { status: 'invalid', reason: 'ClientHello too large' }
    }
    if (expected !== undefined && handshakeLength >= expected) return parseHello(concat(fragments, expected))
    if (end > data.length) return { status: 'incomplete' }
    offset = end
  }
  if (data.length > 0 && data[0] !== RECORD_HANDSHAKE) return { status: 'invalid', reason: 'not a TLS handshake record' }
  return { status: 'incomplete' }
}

function concat(parts: Uint8Array[], length: number): Uint8Array {
  const out = new Uint8Array(length)
  let at = 0
  for (const part of parts) {
    if (at >= length) break
    const take = part.subarray(0, length - at)
    out.set(take, at)
    at += take.length
  }
  return out
}

class Reader {
  offset = 0
  constructor(private readonly data: Uint8Array) {}
  need(n: number): boolean {
    return this.offset + n <= this.data.length
  }
  u8(): number {
    return this.data[this.offset++] as number
  }
  u16(): number {
    const value = ((this.data[this.offset] as number) << 8) | (this.data[this.offset + 1] as number)
    this.offset += 2
    return value
  }
  bytes(n: number): Uint8Array {
    const out = this.data.subarray(this.offset, this.offset + n)
    this.offset += n
    return out
  }
}

function parseHello(message: Uint8Array): ClientHelloParse {
  const r = new Reader(message.subarray(4))
  const bad = (reason: string): ClientHelloParse => ({ status: 'invalid', reason })
  if (!r.need(2 + 32 + 1)) return bad('truncated ClientHello')
  r.bytes(2 + 32) // legacy_version, random
  const sessionIdLength = r.u8()
  if (sessionIdLength > 32 || !r.need(sessionIdLength + 2)) return bad('bad session id')
  r.bytes(sessionIdLength)
  const suitesLength = r.u16()
  if (!r.need(suitesLength + 1)) return bad('bad cipher suites')
  r.bytes(suitesLength)
  const compressionLength = r.u8()
  if (!r.need(compressionLength)) return bad('bad compression methods')
  r.bytes(compressionLength)
  if (!r.need(2)) return { status: 'ok', serverName: undefined } // no extensions at all
  const extensionsLength = r.u16()
  if (!r.need(extensionsLength)) return bad('bad extensions length')
  const extensions = new Reader(r.bytes(extensionsLength))
  let serverName: string | undefined
  let seen = false
  while (extensions.need(4)) {
    const type = extensions.u16()
    const length = extensions.u16()
    if (!extensions.need(length)) return bad('bad extension length')
    const body = extensions.bytes(length)
    if (type !== EXTENSION_SERVER_NAME) continue
    if (seen) return bad('duplicate server_name extension')
    seen = true
    const names = new Reader(body)
    if (!names.need(2)) return bad('bad server_name list')
    const listLength = names.u16()
    if (!names.need(listLength)) return bad('bad server_name list')
    while (names.need(3)) {
      const nameType = names.u8()
      const nameLength = names.u16()
      if (!names.need(nameLength)) return bad('bad server name')
      const name = names.bytes(nameLength)
      if (nameType !== NAME_TYPE_HOST) continue
      if (serverName !== undefined) return bad('more than one host name')
      const text = Buffer.from(name).toString('latin1')
      if (!/^[\x21-\x7e]+$/.test(text)) return bad('server name is not printable ASCII')
      serverName = text
    }
  }
  if (extensions.offset !== extensionsLength) return bad('trailing bytes in extensions')
  return { status: 'ok', serverName }
}
