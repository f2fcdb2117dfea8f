/**
 * A real https git server on the host: Node's https server in front of git's
 * own `git http-backend` (CGI), serving bare repositories from a folder and
 * requiring HTTP Basic auth with one token, the way a forge does. It
 * certifies `localhost` with a CA minted for the test.
 *
 * While it answers an authenticated request (git and its helpers are alive
 * at that moment), it looks through every process's argv and environment
 * for the token and records any process that holds it.
 */
import { spawn } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { createServer, type Server } from 'node:https'
import type { AddressInfo } from 'node:net'
import { createLeafCertificates, mintCertificateAuthority } from '../../../../../sidecars/egress/certificates.js'

export interface HttpsGitServer {
  port: number
  caPem: string
  /** Authenticated requests seen, and refused ones. */
  authorized: number
  refused: number
  /** `pid:what` of processes whose argv or environment held the token while git talked to us. */
  leaks: string[]
  close(): Promise<void>
}

/** `pid:cmdline` / `pid:environ` of every process (but this one) whose argv or environment holds `secret`. */
export function processesHolding(secret: string): string[] {
  const found: string[] = []
  for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    if (Number(pid) === process.pid) continue
    for (const what of ['cmdline', 'environ'] as const) {
      try {
        if (readFileSync(`/proc/${pid}/${what}`).includes(secret)) found.push(`${pid}:${what}`)
      } catch {
        // gone, or not ours to read
      }
    }
  }
  return found
}

export async function startHttpsGitServer(options: { projectRoot: string; username: string; token: string }): Promise<HttpsGitServer> {
  const ca = mintCertificateAuthority({ commonName: 'bottle git-gate test CA' })
  const leaves = createLeafCertificates({ ca })
  const expected = `Basic ${Buffer.from(`${options.username}:${options.token}`).toString('base64')}`
  const state = { authorized: 0, refused: 0, leaks: [] as string[] }

  const server: Server = createServer({ cert: leaves.certificateFor('localhost').certPem, key: leaves.keyPem }, (req, res) => {
    if (req.headers.authorization !== expected) {
      state.refused++
      req.resume()
      res.writeHead(401, { 'www-authenticate': 'Basic realm="test"', 'content-type': 'text/plain' })
      res.end('authentication required\n')
      return
    }
    state.authorized++
    state.leaks.push(...processesHolding(options.token))
    const url = new URL(req.url ?? '/', 'https://localhost')
    const child = spawn('git', ['http-backend'], {
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        GIT_CONFIG_NOSYSTEM: '1',
        GIT_CONFIG_GLOBAL: '/dev/null',
        GIT_PROJECT_ROOT: options.projectRoot,
        GIT_HTTP_EXPORT_ALL: '1',
        REQUEST_METHOD: req.method ?? 'GET',
        PATH_INFO: decodeURIComponent(url.pathname),
        QUERY_STRING: url.search.replace(/^\?/, ''),
        CONTENT_TYPE: req.headers['content-type'] ?? '',
        REMOTE_USER: options.username,
        REMOTE_ADDR: req.socket.remoteAddress ?? '',
        ...(req.headers['content-length'] ? { CONTENT_LENGTH: req.headers['content-length'] } : {}),
        ...(req.headers['content-encoding'] ? { HTTP_CONTENT_ENCODING: req.headers['content-encoding'] } : {}),
        ...(typeof req.headers['git-protocol'] === 'string' ? { GIT_PROTOCOL: req.headers['git-protocol'] } : {}),
      },
      stdio: ['pipe', 'pipe', 'inherit'],
    })
    req.pipe(child.stdin)
    let head = Buffer.alloc(0)
    let headersDone = false
    child.stdout.on('data', (chunk: Buffer) => {
      if (headersDone) return void res.write(chunk)
      head = Buffer.concat([head, chunk])
      const end = head.indexOf('\r\n\r\n')
      if (end === -1) return
      headersDone = true
      let status = 200
      const headers: Record<string, string> = {}
      for (const line of head.subarray(0, end).toString('latin1').split('\r\n')) {
        const colon = line.indexOf(':')
        const name = line.slice(0, colon).trim()
        const value = line.slice(colon + 1).trim()
        if (name.toLowerCase() === 'status') status = Number(value.split(' ')[0])
        else headers[name] = value
      }
      res.writeHead(status, headers)
      res.write(head.subarray(end + 4))
    })
    child.on('close', () => res.end())
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    port: (server.address() as AddressInfo).port,
    caPem: ca.certPem,
    get authorized() {
      return state.authorized
    },
    get refused() {
      return state.refused
    },
    leaks: state.leaks,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  }
}
