/**
 * CONNECT: the policy decides before any tunnel exists, so a refused host
 * gets a 403 with the denial marker, never a `200 Connection Established`.
 * The destination is resolved and checked (SSRF) before answering, too.
 *
 * An intercepted tunnel is handed to `intercept-tls`. A passthrough tunnel
 * dials the checked address, answers 200, reads the agent's ClientHello,
 * refuses a server name other than the CONNECT host, and then copies bytes
 * both ways, charging what leaves to the domain's byte budget.
 */
import type { IncomingMessage } from 'node:http'
import { connect as netConnect, type Socket } from 'node:net'
import { Transform, pipeline, type Duplex } from 'node:stream'
import { MAX_CLIENT_HELLO_BYTES, parseClientHello } from './client-hello.js'
import { fixedLookup, resolveChecked } from './dial.js'
import { EgressDenial, isEgressDenial, respondDenied, respondUpstreamFailure } from './deny.js'
import { logEvent } from './event-log.js'
import type { TunnelInfo } from './intercept-tls.js'
import { callPolicy, isDenied } from './policy-call.js'
import type { CompiledEgress, ProxyContext } from './proxy-context.js'
import { canonicalHost, parseAuthority } from './route-match.js'
import type { LeafCertificates } from './certificates.js'

const ESTABLISHED = 'HTTP/1.1 200 Connection Established\r\n\r\n'
const CLIENT_HELLO_TIMEOUT_MS = 10_000

export type Intercept = (client: Duplex, head: Buffer, info: TunnelInfo, leaves: LeafCertificates) => void

export async function handleConnect(ctx: ProxyContext, req: IncomingMessage, client: Duplex, head: Buffer, intercept: Intercept): Promise<void> {
  client.on('error', () => client.destroy())
  const refuse = (denial: EgressDenial, fields: { host?: string; port?: number; dlpRule?: string; location?: string } = {}) => {
    logEvent(ctx.log, { event: 'tunnel.denied', rule: denial.rule, reason: denial.reason, ...fields })
    respondDenied(client, denial)
  }
  const authority = parseAuthority(req.url ?? '')
  if (!authority.ok) return refuse(new EgressDenial('malformed-request', authority.reason))
  const { host, port } = authority.value
  const compiled = ctx.current()
  if (!compiled) return refuse(new EgressDenial('no-config', 'the egress proxy has no valid config loaded'), { host: host.host, port })

  const decision = callPolicy(() => compiled.policy.decideConnect({ host, port }))
  if (isDenied(decision)) return refuse(decision, { host: host.host, port })
  if (decision.action === 'deny') {
    const fields = { host: decision.redact.host ? '[redacted]' : host.host, port }
    return refuse(decision.denial, decision.finding ? { ...fields, dlpRule: decision.finding.rule, location: decision.finding.location } : fields)
  }
  for (const finding of decision.warnings) logEvent(ctx.log, { event: 'dlp.warned', dlpRule: finding.rule, location: finding.location, host: '[redacted]', port })

  let addresses: string[]
  try {
    addresses = await resolveChecked(decision.dial.host, (a) => compiled.policy.checkAddress(a), ctx.resolve)
  } catch (error) {
    if (isEgressDenial(error)) return refuse(error, { host: host.host, port })
    logEvent(ctx.log, { event: 'client.error', error: `resolve ${decision.dial.host}: ${(error as Error).message}`.slice(0, 200) })
    return respondUpstreamFailure(client, `cannot resolve ${decision.dial.host}`)
  }

  const info: TunnelInfo = { host, port, route: decision.route }
  if (decision.action === 'intercept') {
    if (!compiled.leaves) return refuse(new EgressDenial('policy-error', 'interception needs the agent CA, which is not loaded'), { host: host.host, port })
    logEvent(ctx.log, { event: 'tunnel.opened', mode: 'intercept', host: host.host, port, route: decision.route })
    client.write(ESTABLISHED)
    intercept(client, head, info, compiled.leaves)
    return
  }
  passthrough(ctx, compiled, client, head, info, decision.dial.host, decision.dial.port, addresses, decision.rateKey)
}

function passthrough(
  ctx: ProxyContext,
  compiled: CompiledEgress,
  client: Duplex,
  head: Buffer,
  info: TunnelInfo,
  dialHost: string,
  dialPort: number,
  addresses: string[],
  rateKey: string,
): void {
  const started = performance.now()
  const upstream: Socket = netConnect({ host: dialHost, port: dialPort, lookup: fixedLookup(addresses) })
  let connected = false
  upstream.on('error', (error) => {
    if (!connected) {
      logEvent(ctx.log, { event: 'client.error', error: `connect ${info.host.host}:${info.port}: ${error.message}`.slice(0, 200) })
      respondUpstreamFailure(client, `cannot connect to ${info.host.host}:${info.port}`)
    }
    upstream.destroy()
    client.destroy()
  })
  client.on('close', () => upstream.destroy())
  upstream.once('connect', () => {
    connected = true
    logEvent(ctx.log, { event: 'tunnel.opened', mode: 'passthrough', host: info.host.host, port: info.port, route: info.route })
    client.write(ESTABLISHED)
    readClientHello(client, head).then((hello) => {
      if (hello.kind !== 'ok') {
        logEvent(ctx.log, { event: 'tunnel.denied', rule: hello.kind === 'mismatch' ? 'sni-mismatch' : 'malformed-request', reason: hello.reason, host: info.host.host, port: info.port })
        client.destroy()
        upstream.destroy()
        return
      }
      if (hello.serverName !== undefined) {
        const named = canonicalHost(hello.serverName)
        if (!named.ok || named.value.host !== info.host.host) {
          logEvent(ctx.log, { event: 'tunnel.denied', rule: 'sni-mismatch', reason: `TLS server name differs from the CONNECT host ${info.host.host}`, host: info.host.host, port: info.port })
          client.destroy()
          upstream.destroy()
          return
        }
      }
      splice(ctx, compiled, client, upstream, hello.buffered, info, rateKey, started)
    })
  })
}

type HelloRead = { kind: 'ok'; serverName: string | undefined; buffered: Buffer } | { kind: 'invalid' | 'mismatch'; reason: string }

function readClientHello(client: Duplex, head: Buffer): Promise<HelloRead> {
  return new Promise((resolve) => {
    let buffered = head
    const timer = setTimeout(() => done({ kind: 'invalid', reason: 'no TLS ClientHello in time' }), CLIENT_HELLO_TIMEOUT_MS)
    const done = (result: HelloRead) => {
      clearTimeout(timer)
      client.off('data', onData)
      client.off('end', onEnd)
      client.pause()
      resolve(result)
    }
    const evaluate = () => {
      const parsed = parseClientHello(buffered)
      if (parsed.status === 'ok') return done({ kind: 'ok', serverName: parsed.serverName, buffered })
      if (parsed.status === 'invalid') return done({ kind: 'invalid', reason: `passthrough tunnels carry TLS only: ${parsed.reason}` })
      if (buffered.length > MAX_CLIENT_HELLO_BYTES) return done({ kind: 'invalid', reason: 'ClientHello too large' })
    }
    const onData = (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk])
      evaluate()
    }
    const onEnd = () => done({ kind: 'invalid', reason: 'client closed before its ClientHello' })
    client.on('data', onData)
    client.on('end', onEnd)
    if (buffered.length > 0) evaluate()
  })
}

function splice(ctx: ProxyContext, compiled: CompiledEgress, client: Duplex, upstream: Socket, first: Buffer, info: TunnelInfo, rateKey: string, started: number): void {
  let bytesOut = 0
  let bytesIn = 0
  let open = 2
  const closed = () => {
    if (--open > 0) return
    logEvent(ctx.log, {
      event: 'tunnel.closed',
      mode: 'passthrough',
      host: info.host.host,
      port: info.port,
      route: info.route,
      bytesOut,
      bytesIn,
      durationMs: Math.round(performance.now() - started),
    })
  }
  const charge = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      const over = callPolicy(() => compiled.policy.chargeBytes(rateKey, chunk.length))
      if (over) {
        logEvent(ctx.log, { event: 'tunnel.denied', rule: over.rule, reason: over.reason, host: info.host.host, port: info.port })
        return callback(over)
      }
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
  charge.write(first)
  pipeline(client, charge, upstream, (error) => {
    if (error) {
      client.destroy()
      upstream.destroy()
    }
    closed()
  })
  pipeline(upstream, count, client, (error) => {
    if (error) {
      client.destroy()
      upstream.destroy()
    }
    closed()
  })
  client.resume()
}
