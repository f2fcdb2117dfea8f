import { once } from 'node:events'
import { createServer, type AddressInfo } from 'node:net'
import { connect } from 'node:tls'
import { beforeAll, describe, expect, it } from 'vitest'
import { parseClientHello } from '../../../../sidecars/egress/client-hello.js'

/** The first bytes a real Node TLS client sends, captured on a loopback socket. */
async function captureClientHello(servername: string | undefined): Promise<Buffer> {
  const server = createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const port = (server.address() as AddressInfo).port
  const got = new Promise<Buffer>((resolve) => {
    server.once('connection', (socket) => {
      let data = Buffer.alloc(0)
      socket.on('data', (chunk: Buffer) => {
        data = Buffer.concat([data, chunk])
        const parsed = parseClientHello(data)
        if (parsed.status !== 'incomplete' || data.length > 4096) {
          socket.destroy()
          resolve(data)
        }
      })
    })
  })
  const client = connect({ host: '127.0.0.1', port, ...(servername === undefined ? {} : { servername }), rejectUnauthorized: false })
  client.on('error', () => {})
  const hello = await got
  client.destroy()
  server.close()
  return hello
}

/** Re-frame a single-record ClientHello into records of at most `size` handshake bytes. */
function splitRecords(hello: Buffer, size: number): Buffer {
  const body = hello.subarray(5, 5 + hello.readUInt16BE(3))
  const records: Buffer[] = []
  for (let at = 0; at < body.length; at += size) {
    const part = body.subarray(at, at + size)
    const header = Buffer.from([0x16, 0x03, 0x01, 0, 0])
    header.writeUInt16BE(part.length, 3)
    records.push(header, part)
  }
  return Buffer.concat(records)
}

let named: Buffer
let anonymous: Buffer

beforeAll(async () => {
  named = await captureClientHello('api.example.com')
  anonymous = await captureClientHello(undefined)
})

describe('parseClientHello', () => {
  it('reads the server name of a real ClientHello', () => {
    expect(parseClientHello(named)).toEqual({ status: 'ok', serverName: 'api.example.com' })
  })

  it('reports no server name when the client sent none', () => {
    expect(parseClientHello(anonymous)).toEqual({ status: 'ok', serverName: undefined })
  })

  const cuts = [1, 4, 5, 6, 40, -1]
  it.each(cuts)('is incomplete when cut to %i bytes (or one short)', (cut) => {
    const length = cut === -1 ? named.length - 1 : cut
    expect(parseClientHello(named.subarray(0, length)).status).toBe('incomplete')
  })

  const sizes = [1, 7, 100, 512]
  it.each(sizes)('reassembles a ClientHello split into %i-byte records', (size) => {
    expect(parseClientHello(splitRecords(named, size))).toEqual({ status: 'ok', serverName: 'api.example.com' })
  })

  const garbage: Array<{ name: string; bytes: Buffer; reason: RegExp }> = [
    { name: 'plain HTTP', bytes: Buffer.from('GET / HTTP/1.1\r\nHost: a\r\n\r\n'), reason: /not a TLS handshake record/ },
    { name: 'SSH banner', bytes: Buffer.from('SSH-2.0-OpenSSH_9.2\r\n'), reason: /not a TLS handshake record/ },
    { name: 'a handshake record of another version', bytes: Buffer.from([0x16, 0x02, 0x00, 0x00, 0x05, 1, 0, 0, 1, 0]), reason: /version/ },
    { name: 'a ServerHello instead', bytes: Buffer.from([0x16, 0x03, 0x03, 0x00, 0x04, 2, 0, 0, 0]), reason: /not a ClientHello/ },
    { name: 'an empty record', bytes: Buffer.from([0x16, 0x03, 0x01, 0x00, 0x00]), reason: /record length/ },
  ]
  it.each(garbage)('refuses $name', ({ bytes, reason }) => {
    const got = parseClientHello(bytes)
    expect(got.status).toBe('invalid')
    if (got.status === 'invalid') expect(got.reason).toMatch(reason)
  })

  it('refuses a ClientHello whose extensions overrun the message', () => {
    const broken = Buffer.from(named)
    // The extensions length sits right before the extensions; inflate it past the end.
    const sessionLength = broken[5 + 4 + 34] as number
    const suitesAt = 5 + 4 + 35 + sessionLength
    const compressionAt = suitesAt + 2 + broken.readUInt16BE(suitesAt)
    const extensionsAt = compressionAt + 1 + (broken[compressionAt] as number)
    broken.writeUInt16BE(0xffff, extensionsAt)
    expect(parseClientHello(broken).status).toBe('invalid')
  })
})
