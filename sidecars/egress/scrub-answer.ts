/**
 * An origin's answer on its way back to the agent, when the config has
 * secret values: no value may reach the agent (answer-redactor.ts decides
 * what replaces it). Without secret values this module is not used and
 * answers are relayed as they come (forward-http.ts).
 *
 * Head: every header value is redacted (Set-Cookie, WWW-Authenticate,
 * Location, custom ones). A body may change length, so Content-Length goes
 * and Node frames the answer itself (chunked, or close-delimited for an
 * HTTP/1.0 agent).
 *
 * Body: plain bodies are redacted as they stream. Compressed bodies (gzip,
 * deflate, br) are decoded, redacted and sent as identity: Content-Encoding
 * goes too. Identity rather than re-encoding: compressing again would cost
 * more CPU than all the rest of the path, and agents sit on the same host
 * as the proxy, where the bytes saved are worth nothing. An answer the proxy
 * cannot decode (another coding, stacked codings, a compressed 206 part)
 * is refused with a 502 `answer-unscannable`, never passed on unread; the
 * request side offers only decodable codings, so only an origin ignoring
 * Accept-Encoding meets that. Bodiless answers (HEAD, 204, 304) keep their
 * headers apart from redaction.
 *
 * Streaming stays streaming: each chunk goes on as soon as it is redacted,
 * with backpressure from the agent's socket to the decoder to the origin.
 * The exception is an answer small enough to hold (a declared length up to
 * BUFFERED_ANSWER_BYTES, identity coding): it is read whole, redacted in one
 * pass per spelling and sent with its Content-Length, which costs less than
 * chunk-by-chunk relaying and keeps the agent's framing what the origin sent.
 */
import type { IncomingMessage } from 'node:http'
import type { Readable, Transform, Writable } from 'node:stream'
import type { Logger } from 'pino'
import { tallyTotal, type AnswerRedactor, type RedactionRule, type RedactionTally } from './answer-redactor.js'
import { createContentDecoder, planDecoding, type ContentCoding } from './content-decoding.js'
import { EgressDenial } from './deny.js'
import { logEvent, type RequestFields } from './event-log.js'
import { redactResponseHeaders, withoutHeaders, type HeaderRedaction } from './rewrite-headers.js'

export type BodyCoding = 'identity' | ContentCoding

export type RedactedHead =
  | { ok: true; headers: string[]; redactions: HeaderRedaction[]; body: BodyCoding | 'none' }
  | { ok: false; denial: EgressDenial }

const LENGTH = new Set(['content-length'])
const LENGTH_AND_CODING = new Set(['content-length', 'content-encoding'])

/**
 * The head the agent gets, from the origin's headers after hop-by-hop
 * stripping, or the refusal when the body cannot be read. `bodyless`: a HEAD
 * request, or a status that carries no body.
 */
export function redactAnswerHead(headers: string[], status: number, bodyless: boolean, redactor: AnswerRedactor): RedactedHead {
  const redacted = redactResponseHeaders(headers, redactor)
  if (bodyless) return { ok: true, headers: redacted.headers, redactions: redacted.redactions, body: 'none' }
  const plan = planDecoding(headers)
  if (plan.kind === 'undecodable') {
    return { ok: false, denial: new EgressDenial('answer-unscannable', `the origin answered with Content-Encoding ${plan.coding}, which the proxy cannot decode to redact secrets`) }
  }
  if (plan.kind === 'decode' && status === 206) {
    return { ok: false, denial: new EgressDenial('answer-unscannable', `a range of a ${plan.coding}-encoded body cannot be decoded to redact secrets`) }
  }
  const body = plan.kind === 'decode' ? plan.coding : 'identity'
  return { ok: true, headers: withoutHeaders(redacted.headers, body === 'identity' ? LENGTH : LENGTH_AND_CODING), redactions: redacted.redactions, body }
}

/** Answers with a declared length up to this are held whole, redacted, and sent with their length. */
export const BUFFERED_ANSWER_BYTES = 256 * 1024

/** The declared length of an identity-coded answer small enough to hold whole, or undefined. */
export function bufferableLength(headers: readonly string[], coding: BodyCoding | 'none'): number | undefined {
  if (coding !== 'identity') return undefined
  for (let i = 0; i + 1 < headers.length; i += 2) {
    if ((headers[i] as string).toLowerCase() !== 'content-length') continue
    const length = Number(headers[i + 1])
    return Number.isSafeInteger(length) && length >= 0 && length <= BUFFERED_ANSWER_BYTES ? length : undefined
  }
  return undefined
}

/** Read a whole answer of known, small length; undefined when it ends short or fails. */
export function collectAnswer(answer: IncomingMessage, length: number, received: (bytes: number) => void): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = []
    let size = 0
    answer.on('data', (chunk: Buffer) => {
      received(chunk.length)
      size += chunk.length
      // More than declared is a broken origin: stop holding it.
      if (size > length) return resolve(undefined)
      chunks.push(chunk)
    })
    answer.on('end', () => resolve(answer.complete && size === length ? Buffer.concat(chunks, size) : undefined))
    answer.on('error', () => resolve(undefined))
    answer.on('close', () => resolve(undefined))
  })
}

/** A status or method after which an answer has no body (RFC 9110 6.4.1). */
export function isBodyless(method: string | undefined, status: number): boolean {
  return method === 'HEAD' || status === 204 || status === 304 || (status >= 100 && status < 200)
}

export interface BodyRelayHooks {
  /** Bytes as they came from the origin (before decoding). */
  received(bytes: number): void
  /** Called once at the end of the body when something was redacted. */
  redacted(tally: RedactionTally): void
  /** The origin's stream or its decoding failed after the head went out. */
  failed(error: Error): void
}

/** Relay a body from the origin to `sink`, decoding `coding` and redacting; ends `sink` at the end. */
export function relayRedactedBody(answer: IncomingMessage, sink: Writable, coding: BodyCoding, redactor: AnswerRedactor, hooks: BodyRelayHooks): void {
  const body = redactor.stream()
  let decoder: Transform | undefined
  // What is paused while the agent reads slowly: the origin, or the decoder between them.
  let source: Readable = answer
  let failed = false
  const fail = (error: Error) => {
    if (failed) return
    failed = true
    hooks.failed(error)
  }
  const emit = (chunk: Buffer) => {
    const out = body.write(chunk)
    if (out.length > 0 && !sink.write(out)) source.pause()
  }
  const finish = () => {
    const rest = body.end()
    if (rest.length > 0) sink.end(rest)
    else sink.end()
    if (tallyTotal(body.tally) > 0) hooks.redacted(body.tally)
  }
  sink.on('drain', () => source.resume())
  answer.on('data', (chunk: Buffer) => {
    hooks.received(chunk.length)
    if (coding === 'identity') return emit(chunk)
    if (!decoder) {
      const created = createContentDecoder(coding, chunk)
      decoder = created
      source = created
      created.on('data', emit)
      created.on('drain', () => answer.resume())
      created.on('end', finish)
      created.on('error', (error) => fail(new Error(`the ${coding} body does not decode: ${error.message}`)))
    }
    if (!decoder.write(chunk)) answer.pause()
  })
  answer.on('end', () => (decoder ? decoder.end() : finish()))
  answer.on('error', fail)
}

/** One `answer.redacted` line per rule that replaced something at `where`; never the value. */
export function logRedactions(log: Logger, fields: Partial<RequestFields>, where: string, tally: RedactionTally): void {
  for (const rule of Object.keys(tally) as RedactionRule[]) {
    const count = tally[rule]
    if (count > 0) logEvent(log, { event: 'answer.redacted', rule, where, count, ...fields })
  }
}
