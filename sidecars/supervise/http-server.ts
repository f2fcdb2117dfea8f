/**
 * MCP over Streamable HTTP at `/mcp`, stateless: every POST gets a fresh
 * server and transport, answers in plain JSON, and shares nothing with the
 * next one but the files behind the ProposalDesk. So a bad request can
 * only fail itself. GET /healthz answers "ok" for probes.
 *
 * Bodies are capped at 1 MiB and must be JSON; anything else is refused
 * with a JSON-RPC error before the SDK sees it.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js'
import type { Logger } from 'pino'
import { MCP_PATH } from './environment.js'
import { logEvent } from './event-log.js'
import { createSuperviseServer } from './mcp-tools.js'
import type { ProposalDesk } from './proposal-desk.js'

export const MAX_BODY_BYTES = 1024 * 1024

export interface SuperviseHttpOptions {
  host: string
  port: number
  desk: ProposalDesk
  log: Logger
}

export interface SuperviseHttp {
  port: number
  close(): Promise<void>
}

export async function startSuperviseHttp(options: SuperviseHttpOptions): Promise<SuperviseHttp> {
  const { desk, log } = options
  const server: Server = createServer((req, res) => {
    handle(req, res, desk, log).catch((error: unknown) => {
      logEvent(log, { event: 'client.error', error: (error instanceof Error ? error.message : String(error)).slice(0, 300) })
      if (!res.headersSent) rpcError(res, 500, -32603, 'internal error')
      else res.destroy()
    })
  })
  server.on('clientError', (_error, socket) => socket.destroy())
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port, options.host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  const port = (server.address() as AddressInfo).port
  logEvent(log, { event: 'supervise.listening', address: options.host, port })
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}

async function handle(req: IncomingMessage, res: ServerResponse, desk: ProposalDesk, log: Logger): Promise<void> {
  const path = (req.url ?? '/').split('?')[0]
  if (path === '/healthz' && req.method === 'GET') {
    res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n')
    return
  }
  if (path !== MCP_PATH && path !== `${MCP_PATH}/`) {
    refuse(log, res, 404, -32601, `not found; the MCP endpoint is ${MCP_PATH}`)
    return
  }
  if (req.method !== 'POST') {
    // Stateless: no server-initiated stream (GET) and no session to end (DELETE).
    res.setHeader('allow', 'POST')
    refuse(log, res, 405, -32000, 'method not allowed; POST JSON-RPC messages')
    return
  }
  const body = await readBody(req)
  if (body === 'too-large') {
    refuse(log, res, 413, -32600, `request body over ${MAX_BODY_BYTES} bytes`)
    req.resume()
    return
  }
  let message: unknown
  try {
    message = JSON.parse(body.toString('utf8'))
  } catch {
    refuse(log, res, 400, -32700, 'parse error: the body is not JSON')
    return
  }
  const server = createSuperviseServer(desk, log)
  const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true })
  res.on('close', () => {
    void transport.close()
    void server.close()
  })
  await server.connect(transport)
  await transport.handleRequest(req, res, message)
}

function readBody(req: IncomingMessage): Promise<Buffer | 'too-large'> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    let over = false
    req.on('data', (chunk: Buffer) => {
      if (over) return
      size += chunk.length
      if (size > MAX_BODY_BYTES) {
        over = true
        resolve('too-large')
        return
      }
      chunks.push(chunk)
    })
    req.on('end', () => {
      if (!over) resolve(Buffer.concat(chunks))
    })
    req.on('error', reject)
  })
}

function refuse(log: Logger, res: ServerResponse, status: number, code: number, message: string): void {
  logEvent(log, { event: 'http.refused', status, reason: message })
  rpcError(res, status, code, message)
}

function rpcError(res: ServerResponse, status: number, code: number, message: string): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ jsonrpc: '2.0', error: { code, message }, id: null }))
}
