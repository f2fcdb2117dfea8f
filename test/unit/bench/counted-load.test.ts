import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { countedLoad } from '../../../bench/egress/load-generator.js'

describe('countedLoad (the steady-state phase of bench/egress)', () => {
  let server: Server | undefined
  afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())))

  it('sends exactly the requests a batch asks for, over connections kept open from batch to batch', async () => {
    let requests = 0
    const sockets = new Set<unknown>()
    server = createServer((req, res) => {
      sockets.add(req.socket)
      requests++
      req.resume()
      req.on('end', () => res.end('ok'))
    })
    await new Promise<void>((resolve) => (server as Server).listen(0, '127.0.0.1', resolve))
    const port = (server.address() as AddressInfo).port
    const load = countedLoad({ scheme: 'http', originHost: '127.0.0.1', originPort: port, caPem: '', bodyBytes: 64, connections: 4, warmupMs: 0, durationMs: 0 })
    try {
      const first = await load.batch(101)
      expect(first).toMatchObject({ requests: 101, errors: 0 })
      expect(requests).toBe(101)
      const second = await load.batch(37)
      expect(second).toMatchObject({ requests: 37, errors: 0 })
      expect(requests).toBe(138)
      // Four connections at most, whatever the number of batches: no batch pays for new ones.
      expect(sockets.size).toBeGreaterThan(0)
      expect(sockets.size).toBeLessThanOrEqual(4)
    } finally {
      load.close()
    }
  })

  it('counts a refused request as an error, not as a success', async () => {
    server = createServer((req, res) => {
      req.resume()
      req.on('end', () => {
        res.statusCode = 403
        res.end('no')
      })
    })
    await new Promise<void>((resolve) => (server as Server).listen(0, '127.0.0.1', resolve))
    const port = (server.address() as AddressInfo).port
    const load = countedLoad({ scheme: 'http', originHost: '127.0.0.1', originPort: port, caPem: '', bodyBytes: 64, connections: 2, warmupMs: 0, durationMs: 0 })
    try {
      expect(await load.batch(5)).toMatchObject({ requests: 5, errors: 5 })
    } finally {
      load.close()
    }
  })
})
