/**
 * An agent's side of the proxy, in-process: plain requests in absolute form,
 * HTTPS through CONNECT tunnels (with keep-alive), raw CONNECT for tunnel-level
 * checks. No secret ever goes on a command line this way.
 */
import { once } from 'node:events'
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https'
import { request as httpRequest, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http'
import type { Socket } from 'node:net'
import type { Duplex, Readable } from 'node:stream'
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls'

export interface Answer {
  status: number
  headers: IncomingHttpHeaders
  body: string
}

export interface RequestSpec {
  method?: string
  headers?: OutgoingHttpHeaders
  body?: string | Buffer | Readable
  /** TLS server name, when it should differ from the Host header. */
  servername?: string
}

async function collect(res: import('node:http').IncomingMessage): Promise<Answer> {
  const chunks: Buffer[] = []
  for await (const chunk of res) chunks.push(chunk as Buffer)
  return { status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }
}

function sendBody(req: import('node:http').ClientRequest, body: RequestSpec['body']): void {
  // With `Expect: 100-continue`, send the body only once the proxy asks for it, as curl does.
  const expect = req.getHeader('expect')
  if (body !== undefined && typeof expect === 'string' && expect.toLowerCase() === '100-continue') {
    req.once('continue', () => writeBody(req, body))
    req.once('response', () => {
      if (typeof body !== 'string' && !Buffer.isBuffer(body)) body.destroy()
    })
    req.flushHeaders()
    return
  }
  writeBody(req, body)
}

function writeBody(req: import('node:http').ClientRequest, body: RequestSpec['body']): void {
  if (body === undefined) req.end()
  else if (typeof body === 'string' || Buffer.isBuffer(body)) req.end(body)
  else body.pipe(req)
}

/** A plain-HTTP request through the proxy (absolute-form request target). */
export function viaProxy(proxyPort: number, url: string, spec: RequestSpec = {}, agent: import('node:http').Agent | false = false): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port: proxyPort, method: spec.method ?? 'GET', path: url, headers: spec.headers ?? {}, agent })
    req.on('response', (res) => collect(res).then(resolve, reject))
    req.on('error', reject)
    sendBody(req, spec.body)
  })
}

export interface ConnectAnswer {
  status: number
  headers: IncomingHttpHeaders
  socket: Socket
  /** What followed the CONNECT answer (its body, for a refusal). */
  body: () => Promise<string>
}

/** Send CONNECT host:port to the proxy. */
export function connectThrough(proxyPort: number, authority: string): Promise<ConnectAnswer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port: proxyPort, method: 'CONNECT', path: authority, agent: false })
    req.on('connect', (res, socket, head) => {
      resolve({
        status: res.statusCode ?? 0,
        headers: res.headers,
        socket,
        body: async () => {
          const chunks: Buffer[] = [head]
          socket.on('data', (chunk: Buffer) => chunks.push(chunk))
          await once(socket, 'close')
          return Buffer.concat(chunks).toString('utf8')
        },
      })
    })
    req.on('error', reject)
    req.end()
  })
}

export class TunnelRefused extends Error {
  constructor(
    readonly status: number,
    readonly headers: IncomingHttpHeaders,
    readonly body: string,
  ) {
    super(`CONNECT refused with ${status}`)
  }
}

/** An https.Agent that reaches every origin through CONNECT on the proxy, trusting `ca`. */
export class TunnelAgent extends HttpsAgent {
  constructor(
    private readonly proxyPort: number,
    private readonly tlsOptions: ConnectionOptions,
    keepAlive = true,
  ) {
    super({ keepAlive, maxSockets: 1 })
  }

  override createConnection(options: import('node:https').RequestOptions, callback?: (error: Error | null, socket: Duplex) => void): undefined {
    const done = (error: Error | null, socket?: Duplex) => callback?.(error, socket as Duplex)
    connectThrough(this.proxyPort, `${options.host?.includes(':') ? `[${options.host}]` : options.host}:${options.port}`).then(
      async (answer) => {
        if (answer.status !== 200) return done(new TunnelRefused(answer.status, answer.headers, await answer.body()))
        const tls = tlsConnect({ socket: answer.socket, servername: options.servername ?? options.host ?? '', ...this.tlsOptions })
        tls.once('secureConnect', () => done(null, tls))
        tls.once('error', (error) => done(error))
      },
      (error: Error) => done(error),
    )
    return undefined
  }
}

/** An HTTPS request through a CONNECT tunnel (intercepted or passed through). */
export function viaTunnel(agent: TunnelAgent, url: string, spec: RequestSpec = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(url, {
      method: spec.method ?? 'GET',
      headers: spec.headers ?? {},
      agent: agent as HttpsAgent,
      ...(spec.servername ? { servername: spec.servername } : {}),
    })
    req.on('response', (res) => collect(res).then(resolve, reject))
    req.on('error', reject)
    sendBody(req, spec.body)
  })
}
