/**
 * Forwarding one HTTP request to its origin: from the proxy port (absolute
 * URI) or from inside an intercepted tunnel. Steps, in order: ask the policy;
 * check a literal dial address; take the body (buffered up to the scan cap
 * and scanned, or streamed with its bytes charged to the domain's budget on a
 * route that opts out of body scanning); send it through the keep-alive pool
 * of the current config; stream the answer back, redacted of every secret
 * value when the config has any (scrub-answer.ts), untouched otherwise.
 * Nothing is sent upstream before every check that can refuse has passed,
 * except on streamed bodies, where exceeding the byte budget aborts the
 * upstream request mid-way.
 */
import type { IncomingMessage, ServerResponse, ClientRequest } from 'node:http'
import { request as httpRequest } from 'node:http'
import { request as httpsRequest } from 'node:https'
import { Transform, pipeline } from 'node:stream'
import { newTally, tallyTotal, type AnswerRedactor } from './answer-redactor.js'
import { DECODABLE_CODINGS } from './content-decoding.js'
import { checkLiteral } from './dial.js'
import { EgressDenial, isEgressDenial, respondAnswerRefused, respondDenied, respondUpstreamFailure } from './deny.js'
import { logEvent, type RequestFields } from './event-log.js'
import { callPolicy, isDenied } from './policy-call.js'
import type { AllowedRequest, Redaction, RequestTarget } from './policy.js'
import type { CompiledEgress, ProxyContext } from './proxy-context.js'
import type { TargetParse } from './request-target.js'
import { findingsTouch } from './request-scan.js'
import { limitAcceptEncoding, stripResponseHeaders, withContentLength } from './rewrite-headers.js'
import { bufferableLength, collectAnswer, isBodyless, logRedactions, redactAnswerHead, relayRedactedBody } from './scrub-answer.js'
import type { DlpFinding } from '../dlp/types.js'

export interface ForwardOptions {
  /** The client sent `Expect: 100-continue` and waits for a go-ahead before the body. */
  expectContinue: boolean
}

export function requestFields(target: RequestTarget, route?: string, redact: Redaction = { host: false, path: false }): RequestFields {
  const fields: RequestFields = {
    scheme: target.upgrade ? (target.scheme === 'https' ? 'wss' : 'ws') : target.scheme,
    method: target.method,
    host: redact.host ? '[redacted]' : target.host.host,
    port: target.port,
    path: redact.path ? '[redacted]' : target.url.pathname,
  }
  if (route) fields.route = route
  return fields
}

export function logDenied(ctx: ProxyContext, denial: EgressDenial, fields: Partial<RequestFields>, finding?: DlpFinding): void {
  const event: Parameters<typeof logEvent>[1] = { event: 'request.denied', rule: denial.rule, reason: denial.reason, ...fields }
  if (finding) Object.assign(event, { dlpRule: finding.rule, location: finding.location })
  if (denial.rule === 'policy-error' && denial.cause instanceof Error) Object.assign(event, { error: denial.cause.message.slice(0, 200) })
  logEvent(ctx.log, event)
}

export function logWarnings(ctx: ProxyContext, findings: readonly DlpFinding[], fields: Partial<RequestFields>): void {
  for (const finding of findings) logEvent(ctx.log, { event: 'dlp.warned', dlpRule: finding.rule, location: finding.location, ...fields })
}

function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length']
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0')
}

export async function forwardHttpRequest(ctx: ProxyContext, req: IncomingMessage, res: ServerResponse, parsed: TargetParse, options: ForwardOptions): Promise<void> {
  const started = performance.now()
  const closeAfter = hasBody(req) && !options.expectContinue
  if (!parsed.ok) {
    logDenied(ctx, parsed.denial, { method: req.method ?? '' })
    respondDenied(res, parsed.denial, { close: closeAfter })
    return
  }
  const target = parsed.target
  const compiled = ctx.current()
  if (!compiled) {
    const denial = new EgressDenial('no-config', 'the egress proxy has no valid config loaded')
    logDenied(ctx, denial, requestFields(target))
    respondDenied(res, denial, { close: closeAfter })
    return
  }
  const decision = callPolicy(() => compiled.policy.decideRequest(target))
  if (isDenied(decision) || decision.action === 'deny') {
    const denial = isDenied(decision) ? decision : decision.denial
    const redact = isDenied(decision) ? undefined : decision.redact
    logDenied(ctx, denial, requestFields(target, undefined, redact), isDenied(decision) ? undefined : decision.finding)
    respondDenied(res, denial, { close: closeAfter })
    return
  }
  const fields = requestFields(target, decision.route, findingsTouch(decision.warnings))
  logWarnings(ctx, decision.warnings, fields)
  const deny = (denial: EgressDenial, finding?: DlpFinding, close = closeAfter) => {
    logDenied(ctx, denial, fields, finding)
    respondDenied(res, denial, { close })
  }

  const literal = callPolicy(() => checkLiteral(decision.dial.host, (a) => compiled.policy.checkAddress(a)))
  if (literal) return deny(literal)

  if (!hasBody(req)) return send(ctx, compiled, req, res, decision, fields, started, undefined)

  if (decision.scanBody) {
    const declared = Number(req.headers['content-length'] ?? Number.NaN)
    if (declared > decision.maxScanBytes) {
      return deny(new EgressDenial('body-too-large', `body of ${declared} bytes exceeds the scan limit of ${decision.maxScanBytes}`))
    }
    if (options.expectContinue) res.writeContinue()
    const body = await collectBody(req, decision.maxScanBytes)
    if (body === undefined) return deny(new EgressDenial('body-too-large', `body exceeds the scan limit of ${decision.maxScanBytes} bytes`), undefined, true)
    if (body === 'aborted') return
    const verdict = callPolicy(() => compiled.policy.inspectBody(decision, body))
    if (isDenied(verdict)) return deny(verdict)
    if (!verdict.ok) return deny(verdict.denial, verdict.finding)
    logWarnings(ctx, verdict.warnings, fields)
    const over = callPolicy(() => compiled.policy.chargeBytes(decision.rateKey, body.length))
    if (over) return deny(over)
    return send(ctx, compiled, req, res, { ...decision, headers: withContentLength(decision.headers, body.length) }, fields, started, body)
  }
  if (options.expectContinue) res.writeContinue()
  return send(ctx, compiled, req, res, decision, fields, started, 'stream')
}

/** Buffer a body up to `max` bytes; undefined past it (reading stops), 'aborted' if the client went away. */
function collectBody(req: IncomingMessage, max: number): Promise<Buffer | undefined | 'aborted'> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = []
    let size = 0
    const onData = (chunk: Buffer) => {
      size += chunk.length
      if (size > max) {
        cleanup()
        req.pause()
        resolve(undefined)
        return
      }
      chunks.push(chunk)
    }
    const onEnd = () => {
      cleanup()
      // A body that arrived in one read is used as is: no copy.
      resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size))
    }
    const onAbort = () => {
      cleanup()
      resolve('aborted')
    }
    const cleanup = () => {
      req.off('data', onData)
      req.off('end', onEnd)
      req.off('error', onAbort)
      req.off('close', onClose)
    }
    const onClose = () => {
      if (!req.complete) onAbort()
    }
    req.on('data', onData)
    req.on('end', onEnd)
    req.on('error', onAbort)
    req.on('close', onClose)
  })
}

function send(
  ctx: ProxyContext,
  compiled: CompiledEgress,
  req: IncomingMessage,
  res: ServerResponse,
  decision: AllowedRequest,
  fields: RequestFields,
  started: number,
  body: Buffer | 'stream' | undefined,
): Promise<void> {
  return new Promise((resolve) => {
    const agents = ctx.upstream.agentsFor(compiled)
    const https = decision.dial.scheme === 'https'
    const redactor = compiled.answers?.forRequest({ injectedSlot: decision.injected?.slot, agentHeaders: req.rawHeaders })
    const upstream: ClientRequest = (https ? httpsRequest : httpRequest)({
      host: decision.dial.host,
      port: decision.dial.port,
      method: req.method,
      path: decision.path,
      headers: redactor ? limitAcceptEncoding(decision.headers, DECODABLE_CODINGS) : decision.headers,
      agent: https ? agents.https : agents.http,
    })
    let bytesOut = body instanceof Buffer ? body.length : 0
    let bytesIn = 0
    // One log line and one answer per request, whichever of the paths below ends it.
    let ended = false
    const end = (): boolean => {
      if (ended) return false
      ended = true
      resolve()
      return true
    }
    const fail = (error: Error) => {
      upstream.destroy()
      if (!end()) return
      if (isEgressDenial(error)) {
        logDenied(ctx, error, fields)
        respondDenied(res, error, { close: true })
      } else {
        logEvent(ctx.log, { event: 'request.failed', error: describeError(error), bytesOut, ...fields })
        respondUpstreamFailure(res, describeError(error), { close: true })
      }
    }
    upstream.on('error', fail)
    const logAllowed = (status: number) => {
      if (!end()) return
      const event: Parameters<typeof logEvent>[1] = {
        event: 'request.allowed',
        status,
        bytesOut,
        bytesIn,
        durationMs: Math.round((performance.now() - started) * 10) / 10,
        ...fields,
      }
      if (decision.injected) event.injected = `${decision.injected.scheme} slot ${decision.injected.slot}`
      logEvent(ctx.log, event)
    }
    const relayRedacted = (answer: IncomingMessage, redactor: AnswerRedactor) => {
      const status = answer.statusCode ?? 502
      const head = redactAnswerHead(stripResponseHeaders(answer.rawHeaders), status, isBodyless(req.method, status), redactor)
      if (!head.ok) {
        upstream.destroy()
        if (!end()) return
        logDenied(ctx, head.denial, fields)
        respondAnswerRefused(res, head.denial, { close: true })
        return
      }
      for (const { where, tally } of head.redactions) logRedactions(ctx.log, fields, where, tally)
      const whole = bufferableLength(stripResponseHeaders(answer.rawHeaders), head.body)
      if (whole !== undefined) {
        void collectAnswer(answer, whole, (bytes) => {
          bytesIn += bytes
          ctx.streamed(bytes)
        }).then((body) => {
          if (!body) {
            upstream.destroy()
            res.destroy()
            if (end()) logEvent(ctx.log, { event: 'request.failed', error: 'the origin ended the answer early', bytesOut, ...fields })
            return
          }
          const tally = newTally()
          const redacted = redactor.redactBytes(body, tally)
          if (tallyTotal(tally) > 0) logRedactions(ctx.log, fields, 'body', tally)
          res.on('finish', () => logAllowed(status))
          res.writeHead(status, answer.statusMessage, withContentLength(head.headers, redacted.length))
          res.end(redacted)
        })
        return
      }
      res.writeHead(status, answer.statusMessage, head.headers)
      relayRedactedBody(answer, res, head.body === 'none' ? 'identity' : head.body, redactor, {
        received: (bytes) => {
          bytesIn += bytes
          ctx.streamed(bytes)
        },
        redacted: (tally) => logRedactions(ctx.log, fields, 'body', tally),
        failed: (error) => {
          upstream.destroy()
          res.destroy()
          if (end()) logEvent(ctx.log, { event: 'request.failed', error: describeError(error), bytesOut, ...fields })
        },
      })
      res.on('finish', () => logAllowed(status))
    }
    upstream.on('response', (answer) => {
      if (redactor) return relayRedacted(answer, redactor)
      res.writeHead(answer.statusCode ?? 502, answer.statusMessage, stripResponseHeaders(answer.rawHeaders))
      // Forwarded by hand, with backpressure, not with pipe() or pipeline():
      // pipe adds seven listeners per request and pipeline an AbortController
      // (and a DOMException on completion), a measurable share of the
      // per-request cost. Errors and hang-ups are handled explicitly below.
      answer.on('data', (chunk: Buffer) => {
        bytesIn += chunk.length
        ctx.streamed(chunk.length)
        if (!res.write(chunk)) answer.pause()
      })
      res.on('drain', () => answer.resume())
      answer.on('end', () => res.end())
      answer.on('error', (error) => {
        res.destroy()
        if (end()) logEvent(ctx.log, { event: 'request.failed', error: describeError(error), bytesOut, ...fields })
      })
      res.on('finish', () => logAllowed(answer.statusCode ?? 0))
    })
    // The agent hung up before the answer was complete: stop the origin too.
    res.on('close', () => {
      if (res.writableFinished) return
      upstream.destroy()
      if (end()) logEvent(ctx.log, { event: 'request.failed', error: 'client closed the connection', bytesOut, ...fields })
    })

    if (body === 'stream') {
      const charge = new Transform({
        transform(chunk: Buffer, _encoding, callback) {
          const over = callPolicy(() => compiled.policy.chargeBytes(decision.rateKey, chunk.length))
          if (over) return callback(over)
          bytesOut += chunk.length
          ctx.streamed(chunk.length)
          callback(null, chunk)
        },
      })
      pipeline(req, charge, upstream, (error) => {
        if (error) fail(error)
      })
    } else {
      upstream.end(body)
      if (body) ctx.streamed(body.length)
    }
  })
}

function describeError(error: Error): string {
  const code = (error as NodeJS.ErrnoException).code
  return code ? `${code}: ${error.message}`.slice(0, 200) : error.message.slice(0, 200)
}
