/**
 * The init's control channel: a unix socket in the run folder (mode 0600,
 * so only the bundle's own user can use it) that takes one JSON request per
 * connection and answers one JSON line.
 *
 * The controller uses it through the same binary:
 *   node /opt/bottle/init.mjs restart <daemon>   # restart one daemon, print its new status
 *   node /opt/bottle/init.mjs status             # print every daemon's status
 * run with `exec` in the sidecars container. A request the init cannot parse
 * gets `{ok: false}` and never disturbs the daemons.
 */
import { chmodSync, rmSync } from 'node:fs'
import { createConnection, createServer, type Server } from 'node:net'
import { join } from 'node:path'
import { z } from 'zod'
import type { DaemonStatus } from './supervisor.js'

export const CONTROL_SOCKET_NAME = 'init.sock'

const requestSchema = z.discriminatedUnion('op', [
  z.strictObject({ op: z.literal('restart'), daemon: z.string().min(1).max(64) }),
  z.strictObject({ op: z.literal('status') }),
])

export type ControlRequest = z.infer<typeof requestSchema>

export type ControlResponse = { ok: true; daemons: DaemonStatus[] } | { ok: false; error: string }

export type ControlHandler = (request: ControlRequest) => Promise<ControlResponse>

/** Requests are tiny; anything longer is not ours. */
const MAX_REQUEST_BYTES = 4096

export function controlSocketPath(runDir: string): string {
  return join(runDir, CONTROL_SOCKET_NAME)
}

export function parseControlRequest(line: string): ControlRequest | { error: string } {
  let value: unknown
  try {
    value = JSON.parse(line)
  } catch {
    return { error: 'request is not JSON' }
  }
  const parsed = requestSchema.safeParse(value)
  if (!parsed.success) return { error: `request is not valid: ${parsed.error.issues[0]?.message ?? 'unknown shape'}` }
  return parsed.data
}

export async function serveControl(path: string, handler: ControlHandler): Promise<Server> {
  // A socket left by a previous run of the container would make listen() fail.
  rmSync(path, { force: true })
  const server = createServer((socket) => {
    let buffer = ''
    socket.setEncoding('utf8')
    const answer = (response: ControlResponse): void => {
      socket.end(`${JSON.stringify(response)}\n`)
    }
    socket.on('error', () => socket.destroy())
    socket.on('data', (chunk: string) => {
      buffer += chunk
      if (buffer.length > MAX_REQUEST_BYTES) {
        answer({ ok: false, error: 'request too large' })
        return
      }
      const newline = buffer.indexOf('\n')
      if (newline < 0) return
      socket.removeAllListeners('data')
      const request = parseControlRequest(buffer.slice(0, newline))
      if ('error' in request) {
        answer({ ok: false, error: request.error })
        return
      }
      handler(request).then(answer, (error: unknown) =>
        answer({ ok: false, error: error instanceof Error ? error.message : String(error) }),
      )
    })
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(path, () => {
      server.off('error', reject)
      resolve()
    })
  })
  chmodSync(path, 0o600)
  return server
}

export function sendControl(path: string, request: ControlRequest, timeoutMs: number): Promise<ControlResponse> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(path)
    let buffer = ''
    socket.setEncoding('utf8')
    socket.setTimeout(timeoutMs, () => {
      socket.destroy()
      reject(new Error(`no answer from the init within ${timeoutMs} ms`))
    })
    socket.on('error', (error: NodeJS.ErrnoException) => {
      const hint = error.code === 'ENOENT' || error.code === 'ECONNREFUSED' ? ` (is the init running? no socket at ${path})` : ''
      reject(new Error(`cannot reach the init: ${error.message}${hint}`))
    })
    socket.on('data', (chunk: string) => {
      buffer += chunk
    })
    socket.on('end', () => {
      try {
        resolve(JSON.parse(buffer) as ControlResponse)
      } catch {
        reject(new Error('the init sent an unreadable answer'))
      }
    })
    socket.write(`${JSON.stringify(request)}\n`)
  })
}
