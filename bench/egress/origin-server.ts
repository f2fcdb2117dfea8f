/**
 * Benchmark origin, run as its own process: answers every request with a
 * body of the requested size (`/bytes/<n>`), after reading the request body.
 * Serves plain HTTP and HTTPS (certificate from BENCH_ORIGIN_CERT /
 * BENCH_ORIGIN_KEY) and prints `{"httpPort":..,"httpsPort":..}` when ready.
 */
import { readFileSync } from 'node:fs'
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import type { AddressInfo } from 'node:net'

const bodies = new Map<number, Buffer>()
function bodyOf(size: number): Buffer {
  let body = bodies.get(size)
  if (!body) {
    body = Buffer.alloc(size, 'a')
    bodies.set(size, body)
  }
  return body
}

function handle(req: IncomingMessage, res: ServerResponse): void {
  const size = Math.min(Number(/^\/bytes\/(\d+)/.exec(req.url ?? '')?.[1] ?? 0), 16 * 1024 * 1024)
  req.on('data', () => {})
  req.on('end', () => {
    const body = bodyOf(size)
    res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': body.length })
    res.end(body)
  })
}

const http = createHttpServer({ keepAliveTimeout: 60_000 }, handle)
const https = createHttpsServer(
  { cert: readFileSync(process.env.BENCH_ORIGIN_CERT ?? '', 'utf8'), key: readFileSync(process.env.BENCH_ORIGIN_KEY ?? '', 'utf8'), keepAliveTimeout: 60_000 },
  handle,
)
http.listen(0, '127.0.0.1', () => {
  https.listen(0, '127.0.0.1', () => {
    process.stdout.write(`${JSON.stringify({ httpPort: (http.address() as AddressInfo).port, httpsPort: (https.address() as AddressInfo).port })}\n`)
  })
})
