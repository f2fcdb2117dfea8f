import { mkdtemp, rm } from 'node:fs/promises'
import { createServer, type Server, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { encodeFrame, FrameDecoder } from '../../../../../controller/runtime/vm/frames.js'
import { GuestChannel } from '../../../../../controller/runtime/vm/guest-channel.js'

interface Request {
  id: string
  op: string
  argv?: string[]
}

/**
 * A stand-in guest agent on a Unix socket: it answers pings (unless told
 * to stay silent) and runs no command, answering every exec with exit 0.
 */
class FakeGuest {
  readonly received: Request[] = []
  answerPings = true
  private readonly sockets = new Set<Socket>()

  constructor(readonly server: Server) {
    server.on('connection', (socket) => {
      this.sockets.add(socket)
      const decoder = new FrameDecoder()
      socket.on('data', (chunk: Buffer) => {
        for (const message of decoder.push(chunk) as Request[]) {
          this.received.push(message)
          if (message.op === 'ping' && this.answerPings) socket.write(encodeFrame({ id: message.id, type: 'pong', pid: 1, uptimeMs: 1 }))
          if (message.op === 'exec') socket.write(encodeFrame({ id: message.id, type: 'exit', code: 0 }))
        }
      })
      socket.on('close', () => this.sockets.delete(socket))
    })
  }

  close(): void {
    for (const socket of this.sockets) socket.destroy()
    this.server.close()
  }
}

describe('GuestChannel.connect', () => {
  let dir: string
  let socketPath: string
  let guest: FakeGuest

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bottle-guest-channel-'))
    socketPath = join(dir, 'agent.sock')
    const server = createServer()
    await new Promise<void>((resolve) => server.listen(socketPath, resolve))
    guest = new FakeGuest(server)
  })

  afterEach(async () => {
    guest.close()
    await rm(dir, { recursive: true, force: true })
  })

  it('waits for the first answer by default, and fails when none comes', async () => {
    guest.answerPings = false
    await expect(GuestChannel.connect(socketPath, { readyTimeoutMs: 300, pingIntervalMs: 50 })).rejects.toThrow(/did not answer in time/)
    expect(guest.received.filter((m) => m.op === 'ping').length).toBeGreaterThan(1)
  })

  it('runs afterConnect once connected, before the first ping', async () => {
    const order: string[] = []
    const channel = await GuestChannel.connect(socketPath, {
      afterConnect: async () => {
        order.push(`afterConnect with ${guest.received.length} requests seen`)
      },
    })
    order.push(`ready with ${guest.received.length} requests seen`)
    channel.close()
    expect(order).toEqual(['afterConnect with 0 requests seen', 'ready with 1 requests seen'])
    expect(guest.received[0]?.op).toBe('ping')
  })

  it('pipelined: resolves before the answer, with requests going out behind the ping', async () => {
    guest.answerPings = false
    const channel = await GuestChannel.connect(socketPath, { pipelined: true, readyTimeoutMs: 5_000 })
    const result = await channel.exec(['true'])
    expect(result.exitCode).toBe(0)
    expect(guest.received.map((m) => m.op)).toEqual(['ping', 'exec'])
    channel.close()
  })

  it('pipelined: a guest that never answers the ping fails the channel and what waits on it', async () => {
    guest.answerPings = false
    // The fake answers execs at once, so the waiting request is a second ping.
    const channel = await GuestChannel.connect(socketPath, { pipelined: true, readyTimeoutMs: 200 })
    await expect(channel.ping(5_000)).rejects.toThrow(/did not answer in time/)
    await expect(channel.exec(['true'])).rejects.toThrow(/did not answer in time/)
  })

  it('pipelined: an answered ping leaves the channel working past the ready timeout', async () => {
    const channel = await GuestChannel.connect(socketPath, { pipelined: true, readyTimeoutMs: 100 })
    await new Promise((resolve) => setTimeout(resolve, 250))
    expect((await channel.exec(['true'])).exitCode).toBe(0)
    channel.close()
  })
})
