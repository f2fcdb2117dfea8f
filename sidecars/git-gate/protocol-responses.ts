/**
 * How a refusal reaches the git client so that git prints it:
 *
 *   - an HTTP error with a text/plain body: git shows the body as
 *     `remote: bottle-git-gate: ...` before its own "unable to access" line;
 *     used for anything refused before git's protocol starts;
 *   - on info/refs, a 200 advertisement holding an `ERR` packet: git prints
 *     `fatal: remote error: bottle-git-gate: ...`; used when the request is
 *     fine but the gate cannot serve it (upstream unreachable), which is the
 *     protocol's own way to say so;
 *   - inside a receive-pack result, `ng` per ref (receive-pack-request.ts).
 *
 * Every refusal carries the `X-Bottle-Git-Gate: refused` header as well.
 */
import type { ServerResponse } from 'node:http'
import { MARKER, type GateRejection } from './gate-rejection.js'
import { FLUSH, pktLine } from './pkt-line.js'
import type { GitService } from './route-request.js'

export const REFUSAL_HEADER = 'x-bottle-git-gate'

/** Refuse over HTTP with a one-line text body. Ends the response. */
export function sendRejection(res: ServerResponse, rejection: GateRejection): void {
  if (res.headersSent) {
    res.destroy()
    return
  }
  const body = `${MARKER} ${rejection.reason}\n`
  res.writeHead(rejection.status, {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-cache',
    [REFUSAL_HEADER]: 'refused',
    ...(rejection.status === 405 ? { allow: 'GET, POST' } : {}),
  })
  res.end(body)
}

/** The body of an info/refs answer that is only an error packet. */
export function advertisementError(service: GitService, message: string): Buffer {
  return Buffer.concat([pktLine(`# service=${service}\n`), FLUSH, pktLine(`ERR ${MARKER} ${message.replace(/[\r\n]+/g, ' ')}\n`)])
}

/** Refuse an info/refs request in git's own protocol. Ends the response. */
export function sendAdvertisementError(res: ServerResponse, service: GitService, message: string): void {
  const body = advertisementError(service, message)
  res.writeHead(200, {
    'content-type': `application/x-${service}-advertisement`,
    'content-length': body.length,
    'cache-control': 'no-cache',
    [REFUSAL_HEADER]: 'refused',
  })
  res.end(body)
}
