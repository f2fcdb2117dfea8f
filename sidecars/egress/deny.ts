/**
 * The one shape of a refusal. Every policy decision that stops a request ends
 * in `respondDenied`, so the agent (and the escape tests) can tell a policy
 * block from a network failure: status 403, header `X-Bottle-Egress: denied`,
 * header `X-Bottle-Egress-Rule: <rule>`, and a body starting
 * `bottle-egress: <rule>: <reason>`. Reasons name rules and locations, never
 * the matched text or a secret value.
 */
import type { ServerResponse } from 'node:http'
import type { Duplex } from 'node:stream'

export type DenialRule =
  | 'no-config' // nothing valid has been loaded yet
  | 'no-route' // host not in the allowlist
  | 'port-not-allowed'
  | 'ip-literal' // an IP address no route names
  | 'path-not-allowed'
  | 'path-not-canonical' // a path origins could read differently, on a route with path prefixes
  | 'host-mismatch' // a request inside a tunnel names another host
  | 'ssrf' // the destination resolves to a refused address
  | 'dlp' // a secret in the URL, a header, the host or the body
  | 'body-too-large' // above the scan cap on a scanning route
  | 'body-unscannable' // compressed or unparseable body on a scanning route
  | 'rate-limit-requests'
  | 'rate-limit-bytes'
  | 'plaintext-auth' // a credential route asked for over plain HTTP
  | 'unsupported-scheme'
  | 'unsupported-upgrade'
  | 'malformed-request'
  | 'sni-mismatch' // the TLS ClientHello names another host than CONNECT did
  | 'policy-error' // the policy threw: deny
  | 'answer-unscannable' // an answer in a coding or framing the proxy cannot read to redact secrets (502, not 403)

export const MARKER_HEADER = 'X-Bottle-Egress'
export const RULE_HEADER = 'X-Bottle-Egress-Rule'

export class EgressDenial extends Error {
  override name = 'EgressDenial'
  constructor(
    readonly rule: DenialRule,
    readonly reason: string,
  ) {
    super(`${rule}: ${reason}`)
  }
}

export function isEgressDenial(value: unknown): value is EgressDenial {
  return value instanceof Error && value.name === 'EgressDenial' && typeof (value as EgressDenial).rule === 'string'
}

export function denialBody(denial: EgressDenial): string {
  return `bottle-egress: ${denial.rule}: ${denial.reason}\n`
}

export interface RespondOptions {
  /** Close the connection after the answer (the request body was not consumed). */
  close?: boolean
}

/** Write a denial on a response, or on a raw socket (CONNECT, upgrade) before any tunnel exists. */
export function respondDenied(target: ServerResponse | Duplex, denial: EgressDenial, options: RespondOptions = {}): void {
  writeAnswer(target, 403, 'Forbidden', { [MARKER_HEADER]: 'denied', [RULE_HEADER]: denial.rule }, denialBody(denial), options)
}

/** The origin could not be reached or failed: not a policy decision, so a different marker. */
export function respondUpstreamFailure(target: ServerResponse | Duplex, message: string, options: RespondOptions = {}): void {
  writeAnswer(target, 502, 'Bad Gateway', { [MARKER_HEADER]: 'upstream-error' }, `bottle-egress: upstream-error: ${message}\n`, options)
}

/** An answer the proxy will not relay because it cannot redact it (`answer-unscannable`): 502, with the denial markers. */
export function respondAnswerRefused(target: ServerResponse | Duplex, denial: EgressDenial, options: RespondOptions = {}): void {
  writeAnswer(target, 502, 'Bad Gateway', { [MARKER_HEADER]: 'denied', [RULE_HEADER]: denial.rule }, denialBody(denial), options)
}

function writeAnswer(
  target: ServerResponse | Duplex,
  status: number,
  statusText: string,
  extra: Record<string, string>,
  body: string,
  options: RespondOptions,
): void {
  const headers: Record<string, string> = {
    'Content-Type': 'text/plain; charset=utf-8',
    'Content-Length': String(Buffer.byteLength(body)),
    'Cache-Control': 'no-store',
    ...extra,
  }
  if (isServerResponse(target)) {
    if (target.headersSent) {
      target.destroy()
      return
    }
    if (options.close) headers.Connection = 'close'
    target.writeHead(status, statusText, headers)
    target.end(body)
    if (options.close) target.once('finish', () => target.socket?.destroySoon?.())
    return
  }
  if (target.destroyed || !target.writable) {
    target.destroy()
    return
  }
  headers.Connection = 'close'
  const head = `HTTP/1.1 ${status} ${statusText}\r\n${Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('')}\r\n`
  target.end(head + body)
}

function isServerResponse(target: ServerResponse | Duplex): target is ServerResponse {
  return typeof (target as ServerResponse).writeHead === 'function'
}
