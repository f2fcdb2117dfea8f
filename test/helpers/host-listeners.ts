import { createSocket, type Socket } from 'node:dgram'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'

/**
 * What a box that escaped would reach on the host: an HTTP listener on every
 * host address, and UDP port 53 on every host address, where a DNS lookup
 * leaking to the host would land. Each records who reached it.
 */
export interface HostListeners {
  httpPort: number
  /** Peer addresses of every HTTP request. */
  httpPeers: string[]
  /** Peer addresses of every datagram to port 53. */
  dnsPeers: string[]
  close(): Promise<void>
}

export async function startHostListeners(): Promise<HostListeners> {
  const httpPeers: string[] = []
  const dnsPeers: string[] = []
  const http: Server = createServer((request, response) => {
    httpPeers.push(request.socket.remoteAddress ?? '?')
    response.end('host\n')
  })
  await new Promise<void>((resolve) => http.listen(0, '0.0.0.0', resolve))
  const dns: Socket = createSocket('udp4')
  dns.on('message', (_message, peer) => dnsPeers.push(peer.address))
  await new Promise<void>((resolve, reject) => {
    dns.once('error', reject)
    dns.bind(53, '0.0.0.0', () => resolve())
  })
  return {
    httpPort: (http.address() as AddressInfo).port,
    httpPeers,
    dnsPeers,
    close: async () => {
      dns.close()
      await new Promise<void>((resolve) => http.close(() => resolve()))
    },
  }
}
