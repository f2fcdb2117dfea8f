import { writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:https'
import { join } from 'node:path'
import { dockerHostAddress } from '../../scripts/lib/docker-host-address.js'
import { createLeafCertificates, mintCertificateAuthority } from '../../sidecars/egress/certificates.js'

export interface OriginRequest {
  path: string
  authorization: string
}

/**
 * A stand-in API on this machine, over https with a certificate from a CA of
 * its own (written to `caFile`, for `bottle controller --upstream-ca`),
 * listening where the bundles can dial it: the Docker bridge's address.
 * It answers `origin: token-ok` when the expected bearer token arrived.
 */
export async function startHttpsOrigin(options: { dir: string; token?: string }): Promise<{ server: Server; host: string; port: number; caFile: string; seen: OriginRequest[]; close(): void }> {
  const host = await dockerHostAddress()
  const ca = mintCertificateAuthority({ commonName: 'bottle test origin CA' })
  const caFile = join(options.dir, 'origin-ca.crt')
  writeFileSync(caFile, ca.certPem)
  const leaves = createLeafCertificates({ ca })
  const seen: OriginRequest[] = []
  const server = createServer({ cert: leaves.certificateFor(host).certPem, key: leaves.keyPem, keepAliveTimeout: 60_000 }, (req, res) => {
    seen.push({ path: req.url ?? '', authorization: req.headers.authorization ?? '' })
    req.resume()
    req.on('end', () => res.writeHead(200, { 'content-type': 'text/plain' }).end(`origin: ${options.token && req.headers.authorization === `Bearer ${options.token}` ? 'token-ok' : 'no-token'}\n`))
  })
  await new Promise<void>((resolve) => server.listen(0, '0.0.0.0', () => resolve()))
  const port = (server.address() as { port: number }).port
  return { server, host, port, caFile, seen, close: () => server.close() }
}
