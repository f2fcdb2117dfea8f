/**
 * A CONNECT shim for wrk, which cannot speak to a forward proxy: every
 * connection accepted here opens `CONNECT <target>` on the proxy, and once the
 * proxy answers 200, bytes are copied both ways untouched. wrk's TLS thus
 * runs through the tunnel to whatever the proxy puts at the other end (its
 * interception, for bottle and mitmdump). The copy is plain TCP and costs
 * far less than the TLS client it replaces.
 *
 * With `direct` for the proxy port it relays to the target itself, so the
 * direct-to-origin baseline of intercepted HTTPS pays for the same relay
 * hop as the proxies (otherwise "p99 over direct" would count the shim
 * against the proxy).
 *
 *   node connect-shim.js <proxyPort|direct> <host:port>   (prints the listening port)
 */
import { connect, createServer, type AddressInfo, type Socket } from 'node:net'

const direct = process.argv[2] === 'direct'
const proxyPort = Number(process.argv[2])
const target = process.argv[3] ?? ''

function relay(client: Socket): void {
  client.setNoDelay(true)
  const colon = target.lastIndexOf(':')
  const origin = connect(Number(target.slice(colon + 1)), target.slice(0, colon))
  origin.setNoDelay(true)
  const close = () => {
    client.destroy()
    origin.destroy()
  }
  client.on('error', close)
  origin.on('error', close)
  client.on('close', close)
  origin.on('close', close)
  origin.pipe(client)
  client.pipe(origin)
}

function tunnel(client: Socket): void {
  client.setNoDelay(true)
  const proxy = connect(proxyPort, '127.0.0.1')
  proxy.setNoDelay(true)
  const close = () => {
    client.destroy()
    proxy.destroy()
  }
  client.on('error', close)
  proxy.on('error', close)
  client.pause()
  proxy.write(`CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n\r\n`)
  let head = Buffer.alloc(0)
  const onHead = (chunk: Buffer) => {
    head = Buffer.concat([head, chunk])
    const end = head.indexOf('\r\n\r\n')
    if (end < 0) return
    proxy.off('data', onHead)
    if (!/^HTTP\/1\.[01] 200/.test(head.toString('latin1', 0, end))) return close()
    const rest = head.subarray(end + 4)
    if (rest.length > 0) client.write(rest)
    proxy.pipe(client)
    client.pipe(proxy)
    client.resume()
  }
  proxy.on('data', onHead)
  client.on('close', close)
  proxy.on('close', close)
}

const server = createServer(direct ? relay : tunnel)
server.listen(0, '127.0.0.1', () => process.stdout.write(`${(server.address() as AddressInfo).port}\n`))
process.once('SIGTERM', () => process.exit(0))
