import { createServer, type Server } from 'node:http'
import type { Controller } from '../reconcile/controller.js'

/**
 * /healthz (the process answers), /readyz (specs loaded and the first pass
 * queued) and /metrics (Prometheus text), on a loopback address only.
 */
export async function startHealthServer(controller: Controller, address: string): Promise<Server> {
  const [host, portText] = splitAddress(address)
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]
    if (req.method !== 'GET') {
      res.writeHead(405).end()
    } else if (path === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n')
    } else if (path === '/readyz') {
      res.writeHead(controller.ready ? 200 : 503, { 'content-type': 'text/plain' }).end(controller.ready ? 'ready\n' : 'starting\n')
    } else if (path === '/metrics') {
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(controller.metrics.render())
    } else {
      res.writeHead(404).end()
    }
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(Number(portText), host, () => resolve())
  })
  return server
}

function splitAddress(address: string): [string, string] {
  const i = address.lastIndexOf(':')
  if (i < 0) throw new Error(`--listen ${address}: expected host:port`)
  const host = address.slice(0, i).replace(/^\[|\]$/g, '')
  if (!['127.0.0.1', 'localhost', '::1'].includes(host)) throw new Error(`--listen ${address}: the health and metrics endpoints only listen on loopback`)
  return [host, address.slice(i + 1)]
}
