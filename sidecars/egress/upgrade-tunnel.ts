/**
 * WebSocket handshakes through an allowed route, on the proxy port
 * (`ws://` as `GET http://...`) or inside an intercepted tunnel (`wss://`).
 * The handshake is a request like any other: route, path rules, header
 * stripping, credential injection and DLP on the URL and headers. Once the
 * origin answers 101, frames are copied both ways; the agent's messages are
 * scanned whole before they leave (websocket-frames.ts) unless the route sets
 * scan.body false, and their bytes count against the domain's byte budget.
 * When the config has secret values, what comes back is redacted of them:
 * the handshake answer's headers, a refusal's body (scrub-answer.ts) and
 * every frame from the origin (scrub-server-frames.ts).
 */
import type { IncomingMessage } from 'node:http'
import { request as httpRequest } from 'node:http'
import { request as httpsRequest } from 'node:https'
import { Transform, pipeline, type Duplex } from 'node:stream'
import type { AnswerRedactor } from './answer-redactor.js'
import { DECODABLE_CODINGS } from './content-decoding.js'
import { checkLiteral } from './dial.js'
import { EgressDenial, isEgressDenial, respondAnswerRefused, respondDenied, respondUpstreamFailure } from './deny.js'
import { logEvent, type RequestFields } from './event-log.js'
import { logDenied, logWarnings, requestFields } from './forward-http.js'
import { callPolicy, isDenied } from './policy-call.js'
import type { ProxyContext } from './proxy-context.js'
import type { TargetParse } from './request-target.js'
import { limitAcceptEncoding, redactResponseHeaders } from './rewrite-headers.js'
import { logRedactions, redactAnswerHead, relayRedactedBody } from './scrub-answer.js'
import { createServerFrameRedactor } from './scrub-server-frames.js'
import { closeFrame, CLOSE_POLICY_VIOLATION, createClientFrameFilter, WebSocketDenial } from './websocket-frames.js'

export function handleUpgrade(ctx: ProxyContext, req: IncomingMessage, client: Duplex, head: Buffer, parsed: TargetParse): void {
  client.on('error', () => client.destroy())
  if (!parsed.ok) {
    logDenied(ctx, parsed.denial, { method: req.method ?? '' })
    return respondDenied(client, parsed.denial)
  }
  const protocol = req.headers.upgrade ?? ''
  const target = { ...parsed.target, upgrade: protocol }
  if (protocol.toLowerCase() !== 'websocket') {
    const denial = new EgressDenial('unsupported-upgrade', 'only WebSocket upgrades are proxied')
    logDenied(ctx, denial, requestFields(target))
    return respondDenied(client, denial)
  }
  const compiled = ctx.current()
  if (!compiled) {
    const denial = new EgressDenial('no-config', 'the egress proxy has no valid config loaded')
    logDenied(ctx, denial, requestFields(target))
    return respondDenied(client, denial)
  }
  const decision = callPolicy(() => compiled.policy.decideRequest(target))
  if (isDenied(decision)) {
    logDenied(ctx, decision, requestFields(target))
    return respondDenied(client, decision)
  }
  if (decision.action === 'deny') {
    logDenied(ctx, decision.denial, requestFields(target, undefined, decision.redact), decision.finding)
    return respondDenied(client, decision.denial)
  }
  const fields = requestFields(target, decision.route)
  logWarnings(ctx, decision.warnings, fields)
  const literal = callPolicy(() => checkLiteral(decision.dial.host, (a) => compiled.policy.checkAddress(a)))
  if (literal) {
    logDenied(ctx, literal, fields)
    return respondDenied(client, literal)
  }

  const started = performance.now()
  const agents = ctx.upstream.agentsFor(compiled)
  const https = decision.dial.scheme === 'https'
  const redactor = compiled.answers?.forRequest({ injectedSlot: decision.injected?.slot, agentHeaders: req.rawHeaders })
  // A WebSocket connection is never pooled: a fresh socket with the same checked lookup and trust.
  const upstreamReq = (https ? httpsRequest : httpRequest)({
    host: decision.dial.host,
    port: decision.dial.port,
    method: req.method,
    path: decision.path,
    headers: redactor ? limitAcceptEncoding(decision.headers, DECODABLE_CODINGS) : decision.headers,
    agent: false,
    lookup: agents.lookup,
    ...(https ? { secureContext: agents.secureContext } : {}),
  })
  upstreamReq.on('error', (error) => {
    if (isEgressDenial(error)) {
      logDenied(ctx, error, fields)
      respondDenied(client, error)
    } else {
      logEvent(ctx.log, { event: 'request.failed', error: error.message.slice(0, 200), bytesOut: 0, ...fields })
      respondUpstreamFailure(client, error.message.slice(0, 200))
    }
  })
  upstreamReq.on('response', (answer) => {
    if (redactor) return relayRedactedRefusal(ctx, answer, client, redactor, fields, started)
    // The origin declined to switch protocols: relay its answer and close.
    client.write(`HTTP/1.1 ${answer.statusCode ?? 502} ${answer.statusMessage ?? ''}\r\n${rawHeaderLines(answer.rawHeaders, ['connection', 'transfer-encoding', 'keep-alive'])}Connection: close\r\n\r\n`)
    answer.pipe(client)
    logEvent(ctx.log, { event: 'request.allowed', status: answer.statusCode ?? 0, bytesOut: 0, bytesIn: 0, durationMs: Math.round(performance.now() - started), ...fields })
  })
  upstreamReq.on('upgrade', (answer, upstream, upstreamHead) => {
    let headers = answer.rawHeaders
    if (redactor) {
      const redacted = redactResponseHeaders(headers, redactor)
      for (const { where, tally } of redacted.redactions) logRedactions(ctx.log, fields, where, tally)
      headers = redacted.headers
    }
    client.write(`HTTP/1.1 101 ${answer.statusMessage ?? 'Switching Protocols'}\r\n${rawHeaderLines(headers, [])}\r\n`)
    // Without secret values to redact, the origin's frames are copied as they come.
    const frames = redactor ? createServerFrameRedactor({ redactor, redacted: (tally) => logRedactions(ctx.log, fields, 'websocket', tally) }) : undefined
    if (upstreamHead.length > 0) (frames ?? client).write(upstreamHead)
    let bytesOut = 0
    let bytesIn = 0
    let open = 2
    const closed = () => {
      if (--open > 0) return
      logEvent(ctx.log, {
        event: 'tunnel.closed',
        mode: 'websocket',
        host: target.host.host,
        port: target.port,
        route: decision.route,
        bytesOut,
        bytesIn,
        durationMs: Math.round(performance.now() - started),
      })
    }
    // A refusal ends the connection with a close frame naming the rule; the
    // origin gets nothing more. It runs before the pipeline below is torn
    // down, so the teardown's errors are known to be ours.
    let refused = false
    const refuse = (denial: EgressDenial): EgressDenial => {
      if (refused) return denial
      refused = true
      logDenied(ctx, denial, fields)
      const code = denial instanceof WebSocketDenial ? denial.closeCode : CLOSE_POLICY_VIOLATION
      client.end(closeFrame(code, `bottle-egress: ${denial.rule}: ${denial.reason}`))
      return denial
    }
    const charge = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        const over = callPolicy(() => compiled.policy.chargeBytes(decision.rateKey, chunk.length))
        if (over) return callback(refuse(over))
        bytesOut += chunk.length
        ctx.streamed(chunk.length)
        callback(null, chunk)
      },
    })
    const count = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        bytesIn += chunk.length
        ctx.streamed(chunk.length)
        callback(null, chunk)
      },
    })
    if (head.length > 0) charge.write(head)
    const stages: Duplex[] = [charge]
    if (decision.scanBody) {
      // This connection's recent messages, for a secret split over consecutive messages.
      const recent: string[] = []
      const filter = createClientFrameFilter({
        maxMessageBytes: decision.maxScanBytes,
        inspect: (kind, payload) => {
          const verdict = callPolicy(() => compiled.policy.inspectMessage(decision, kind, payload, recent))
          if (isDenied(verdict)) return verdict
          if (!verdict.ok) return verdict.denial
          logWarnings(ctx, verdict.warnings, fields)
          return undefined
        },
      })
      // The filter's own refusals (a message with a secret, a malformed frame) surface as errors.
      filter.on('error', (error) => {
        if (isEgressDenial(error)) refuse(error)
      })
      stages.push(filter)
    }
    // The agent's socket stays out of the pipeline: a pipeline destroys every
    // stream in it on error, and the close frame must be flushed first.
    client.pipe(charge)
    client.on('close', () => upstream.destroy())
    pipeline([...stages, upstream], (error) => {
      if (error && !refused) client.destroy()
      closed()
    })
    if (frames) {
      // A frame that cannot be read to redact it ends the connection, like a refused message.
      frames.on('error', (error) => {
        refuse(isEgressDenial(error) ? error : new EgressDenial('answer-unscannable', `WebSocket frames from the origin: ${error.message.slice(0, 200)}`))
        upstream.destroy()
      })
      upstream.pipe(count).pipe(frames).pipe(client)
    } else {
      upstream.pipe(count).pipe(client)
    }
    upstream.on('error', () => {
      if (!refused) client.destroy()
    })
    upstream.on('close', () => {
      if (!refused) client.end()
      closed()
    })
  })
  upstreamReq.end()
}

/**
 * The origin declined to switch protocols and the config has secret values:
 * its answer is relayed like any redacted answer (headers, then the body,
 * decoded when compressed), close-delimited.
 */
function relayRedactedRefusal(ctx: ProxyContext, answer: IncomingMessage, client: Duplex, redactor: AnswerRedactor, fields: RequestFields, started: number): void {
  const status = answer.statusCode ?? 502
  const head = redactAnswerHead(answer.rawHeaders, status, status === 204 || status === 304, redactor)
  if (!head.ok) {
    answer.destroy()
    logDenied(ctx, head.denial, fields)
    return respondAnswerRefused(client, head.denial)
  }
  for (const { where, tally } of head.redactions) logRedactions(ctx.log, fields, where, tally)
  client.write(`HTTP/1.1 ${status} ${answer.statusMessage ?? ''}\r\n${rawHeaderLines(head.headers, ['connection', 'transfer-encoding', 'keep-alive'])}Connection: close\r\n\r\n`)
  relayRedactedBody(answer, client, head.body === 'none' ? 'identity' : head.body, redactor, {
    received: (bytes) => ctx.streamed(bytes),
    redacted: (tally) => logRedactions(ctx.log, fields, 'body', tally),
    failed: () => client.destroy(),
  })
  logEvent(ctx.log, { event: 'request.allowed', status, bytesOut: 0, bytesIn: 0, durationMs: Math.round(performance.now() - started), ...fields })
}

function rawHeaderLines(raw: readonly string[], skip: readonly string[]): string {
  let out = ''
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i] as string
    if (skip.includes(name.toLowerCase())) continue
    out += `${name}: ${(raw[i + 1] as string).replace(/[\r\n]/g, '')}\r\n`
  }
  return out
}
