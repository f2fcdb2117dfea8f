/**
 * One HTTP exchange through the proxy, reading every byte the agent would
 * receive (status line, headers, chunk framing, body) before any client
 * library decodes it: to search the raw bytes for a secret, then parse them.
 * Plain HTTP goes to the proxy port in absolute form; HTTPS through a
 * CONNECT tunnel and TLS with the agent's CA.
 */
import { once } from 'node:events'
import { connect as netConnect } from 'node:net'
import type { Duplex } from 'node:stream'
import { connect as tlsConnect } from 'node:tls'
import { connectThrough } from './proxy-client.js'

export interface RawAnswer {
  raw: Buffer
  status: number
  headers: Array<[string, string]>
  body: Buffer
}

/** A socket through the proxy to `host:port`: TLS inside a tunnel when `agentCaPem` is given, else the proxy port itself. */
export async function socketThrough(proxyPort: number, host: string, port: number, agentCaPem?: string): Promise<Duplex> {
  if (agentCaPem === undefined) {
    const socket = netConnect(proxyPort, '127.0.0.1')
    await once(socket, 'connect')
    return socket
  }
  const tunnel = await connectThrough(proxyPort, `${host}:${port}`)
  if (tunnel.status !== 200) throw new Error(`CONNECT refused with ${tunnel.status}`)
  const tls = tlsConnect({ socket: tunnel.socket, servername: host, ca: agentCaPem })
  await once(tls, 'secureConnect')
  return tls
}

/** Send one request with `Connection: close` and read until the proxy closes. */
export async function rawExchange(
  proxyPort: number,
  url: string,
  options: { headers?: Record<string, string>; method?: string; agentCaPem?: string } = {},
): Promise<RawAnswer> {
  const target = new URL(url)
  const port = Number(target.port || (target.protocol === 'https:' ? 443 : 80))
  const socket = await socketThrough(proxyPort, target.hostname, port, target.protocol === 'https:' ? options.agentCaPem : undefined)
  const requestTarget = target.protocol === 'https:' ? `${target.pathname}${target.search}` : url
  const lines = [`${options.method ?? 'GET'} ${requestTarget} HTTP/1.1`, `Host: ${target.host}`, 'Connection: close']
  for (const [name, value] of Object.entries(options.headers ?? {})) lines.push(`${name}: ${value}`)
  const chunks: Buffer[] = []
  socket.on('data', (chunk: Buffer) => chunks.push(chunk))
  socket.on('error', () => {})
  socket.write(`${lines.join('\r\n')}\r\n\r\n`)
  await once(socket, 'close')
  const raw = Buffer.concat(chunks)
  return { raw, ...parseAnswer(raw, options.method === 'HEAD') }
}

export function parseAnswer(raw: Buffer, bodyless = false): Omit<RawAnswer, 'raw'> {
  const end = raw.indexOf('\r\n\r\n')
  if (end < 0) throw new Error('no complete answer head')
  const [statusLine, ...headerLines] = raw.subarray(0, end).toString('latin1').split('\r\n')
  const status = Number(statusLine?.split(' ')[1])
  const headers = headerLines.map((line): [string, string] => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()])
  const rest = raw.subarray(end + 4)
  const chunked = headers.some(([name, value]) => name === 'transfer-encoding' && value.toLowerCase().includes('chunked'))
  const length = headers.find(([name]) => name === 'content-length')?.[1]
  const body = bodyless ? Buffer.alloc(0) : chunked ? dechunk(rest) : length !== undefined ? rest.subarray(0, Number(length)) : rest
  return { status, headers, body }
}

function dechunk(data: Buffer): Buffer {
  const parts: Buffer[] = []
  let at = 0
  for (;;) {
    const lineEnd = data.indexOf('\r\n', at)
    if (lineEnd < 0) throw new Error('truncated chunked body')
    const size = Number.parseInt(data.subarray(at, lineEnd).toString('latin1'), 16)
    if (size === 0) return Buffer.concat(parts)
    parts.push(data.subarray(lineEnd + 2, lineEnd + 2 + size))
    at = lineEnd + 2 + size + 2
  }
}
