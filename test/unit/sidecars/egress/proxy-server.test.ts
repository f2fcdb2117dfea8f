import { randomBytes } from 'node:crypto'
import { connect as netConnect } from 'node:net'
import { connect as tlsConnect } from 'node:tls'
import type { Duplex } from 'node:stream'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startHarness, type Harness } from './support/proxy-harness.js'
import { startOrigin, type Origin } from './support/origin.js'
import { connectThrough, viaProxy } from './support/proxy-client.js'
import { createTestScanner } from './support/scanner.js'

let origin: Origin
let tlsOrigin: Origin
let proxy: Harness

beforeAll(async () => {
  origin = await startOrigin()
  tlsOrigin = await startOrigin({ tls: true })
  proxy = await startHarness({
    createScanner: createTestScanner,
    hosts: { 'ok.test': ['127.0.0.1'], 'tls.test': ['127.0.0.1'] },
    config: {
      allowPrivate: ['127.0.0.1/32'],
      upstreamCaCerts: [tlsOrigin.ca?.certPem ?? ''],
      routes: [
        { host: 'ok.test', ports: [origin.port] },
        { host: 'tls.test', ports: [tlsOrigin.port] },
      ],
    },
  })
})
afterAll(async () => {
  await proxy.close()
  await origin.close()
  await tlsOrigin.close()
})

/** Everything the peer sends until it closes (or 5 s pass). */
function drain(socket: Duplex): Promise<string> {
  return new Promise((resolve) => {
    let text = ''
    const timer = setTimeout(() => {
      socket.destroy()
      resolve(text)
    }, 5000)
    socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')))
    socket.on('error', () => {})
    socket.on('close', () => {
      clearTimeout(timer)
      resolve(text)
    })
  })
}

async function raw(bytes: Buffer | string): Promise<string> {
  const socket = netConnect(proxy.port, '127.0.0.1')
  socket.on('connect', () => socket.end(bytes))
  return drain(socket)
}

describe('malformed input on the proxy port', () => {
  const cases: Array<{ name: string; input: () => Buffer | string; want: RegExp }> = [
    { name: 'random bytes', input: () => randomBytes(512), want: /^(HTTP\/1\.1 403 Forbidden[\s\S]*\r\n\r\nbottle-egress: [a-z-]+: |$)/ },
    // Node reads a version-less request line as HTTP/0.9; the policy then judges it like any other.
    { name: 'a request line without a version', input: () => 'GET http://ok.test/\r\n\r\n', want: /^(HTTP\/1\.1 403 Forbidden[\s\S]*\r\n\r\nbottle-egress: [a-z-]+: |$)/ },
    { name: 'a NUL in a header value', input: () => `GET http://ok.test:${origin.port}/ HTTP/1.1\r\nHost: ok.test\r\nX-A: a\0b\r\n\r\n`, want: /403 Forbidden/ },
    { name: 'headers above 64 KiB', input: () => `GET http://ok.test:${origin.port}/ HTTP/1.1\r\nHost: ok.test\r\nX-Big: ${'a'.repeat(70_000)}\r\n\r\n`, want: /^HTTP\/1\.1 (403|431)/ },
    { name: 'a broken chunked body', input: () => `POST http://ok.test:${origin.port}/ HTTP/1.1\r\nHost: ok.test\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n`, want: /403 Forbidden|^$/ },
    { name: 'both Content-Length and chunked', input: () => `POST http://ok.test:${origin.port}/ HTTP/1.1\r\nHost: ok.test\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`, want: /403 Forbidden/ },
    { name: 'a port out of range', input: () => 'GET http://ok.test:99999/ HTTP/1.1\r\nHost: ok.test\r\n\r\n', want: /bottle-egress: malformed-request/ },
    { name: 'CONNECT to garbage', input: () => 'CONNECT ::::: HTTP/1.1\r\n\r\n', want: /bottle-egress: malformed-request/ },
  ]
  it.each(cases)('answers $name without falling over', async ({ input, want }) => {
    const reply = await raw(input())
    expect(reply).toMatch(want)
    expect(reply).not.toContain('X-Origin')
    expect((await viaProxy(proxy.port, `http://ok.test:${origin.port}/still-up`)).status).toBe(200)
  })

  it('drops a tunnel whose client sends garbage instead of TLS, and stays up', async () => {
    const tunnel = await connectThrough(proxy.port, `tls.test:${tlsOrigin.port}`)
    expect(tunnel.status).toBe(200)
    tunnel.socket.write(randomBytes(300))
    await drain(tunnel.socket)
    expect((await viaProxy(proxy.port, `http://ok.test:${origin.port}/still-up`)).status).toBe(200)
  })

  it('answers garbage inside an intercepted tunnel with a denial, and stays up', async () => {
    const tunnel = await connectThrough(proxy.port, `tls.test:${tlsOrigin.port}`)
    const tls = tlsConnect({ socket: tunnel.socket, servername: 'tls.test', ca: proxy.ca.certPem })
    await new Promise((resolve) => tls.once('secureConnect', resolve))
    tls.end('\x16\x03 NOT HTTP\r\n\r\n')
    expect(await drain(tls)).toMatch(/^(HTTP\/1\.1 403 Forbidden|$)/)
    expect((await viaProxy(proxy.port, `http://ok.test:${origin.port}/still-up`)).status).toBe(200)
  })

  it('survives clients that vanish mid-request', async () => {
    const gone: Promise<unknown>[] = []
    for (let i = 0; i < 20; i++) {
      const socket = netConnect(proxy.port, '127.0.0.1')
      socket.on('error', () => {})
      gone.push(new Promise((resolve) => socket.once('close', resolve)))
      socket.on('connect', () => {
        socket.write(`POST http://ok.test:${origin.port}/x HTTP/1.1\r\nHost: ok.test\r\nContent-Length: 100000\r\n\r\n${'a'.repeat(1000)}`)
        // The scenario: each client vanishes a different number of milliseconds into its request.
        setTimeout(() => socket.destroy(), i)
      })
    }
    await Promise.all(gone)
    expect((await viaProxy(proxy.port, `http://ok.test:${origin.port}/still-up`)).status).toBe(200)
  })
})
