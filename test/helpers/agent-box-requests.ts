/**
 * Requests made from inside a real agent box, for the exfiltration suite.
 *
 * Nothing secret ever goes on a command line: every request is a curl config
 * file (`curl -K`) or a JSON file read by a small node WebSocket client,
 * written into the box through exec's stdin (a shell script of base64
 * heredocs) and then run. curl and node find the proxy in the box's
 * environment (HTTP_PROXY, HTTPS_PROXY) and trust the Agent's CA the way
 * every tool in the box does (the system bundle for curl,
 * NODE_EXTRA_CA_CERTS for node).
 *
 * What comes back is every byte the agent received (response heads as curl
 * saw them, CONNECT answers included; bodies undecoded with `--raw`), so a
 * test can search them for secrets and then parse them.
 */
import { Buffer } from 'node:buffer'
import { gunzipSync } from 'node:zlib'

/** One HTTP request the agent makes with curl. */
export interface BoxRequest {
  url: string
  method?: string
  /** `Name: value` lines; `Name:` alone removes a header curl would add. */
  headers?: string[]
  body?: Buffer
}

export interface ResponseHead {
  status: number
  headers: [string, string][]
}

/** What curl saw for one request. */
export interface BoxResponse {
  id: string
  exitCode: number
  /** Every response head, in order: a CONNECT answer first when there was a tunnel. */
  heads: ResponseHead[]
  /** The response heads exactly as received (curl --dump-header). */
  rawHead: Buffer
  /** The final body as received: chunk framing and content coding untouched (curl --raw). */
  rawBody: Buffer
  /** The final body with chunk framing and gzip removed, for reading. */
  body: Buffer
  /** curl's own error line, if any. */
  curlError: string
}

const BOX_DIR = '/tmp/e2e-exfil'

/** A shell script (for `sh -s`, on stdin) that writes `files` under `dir`, each from a base64 heredoc. */
export function writeFilesScript(files: ReadonlyMap<string, Buffer>, dir = BOX_DIR): string {
  const lines = [`mkdir -p ${dir}`]
  for (const [name, content] of files) {
    if (!/^[A-Za-z0-9._-]+$/.test(name)) throw new Error(`unsafe box file name ${name}`)
    lines.push(`base64 -d > ${dir}/${name} <<'B64EOF'`, content.toString('base64').replace(/.{1,76}/g, '$&\n').trimEnd(), 'B64EOF')
  }
  return `${lines.join('\n')}\n`
}

function quote(value: string): string {
  if (/[\r\n]/.test(value)) throw new Error('curl config values cannot hold line breaks')
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`
}

/** The curl config for one request; the body, when there is one, is a file next to it. */
export function curlConfig(id: string, request: BoxRequest, dir = BOX_DIR): string {
  const lines = [
    `url = ${quote(request.url)}`,
    'path-as-is',
    'http1.1',
    'raw',
    'silent',
    'show-error',
    'verbose',
    'max-time = 20',
    `dump-header = ${quote(`${dir}/${id}.head`)}`,
    `output = ${quote(`${dir}/${id}.body`)}`,
    // curl 7.88 would wait for 100-continue on larger bodies; the proxy answers either way.
    `header = ${quote('Expect:')}`,
  ]
  if (request.method) lines.push(`request = ${quote(request.method)}`)
  for (const header of request.headers ?? []) lines.push(`header = ${quote(header)}`)
  if (request.body) lines.push(`data-binary = ${quote(`@${dir}/${id}.req`)}`)
  return `${lines.join('\n')}\n`
}

/** Files and the script lines that run `requests` in order, each line of output describing one. */
export interface CurlBatch {
  files: Map<string, Buffer>
  commands: string[]
}

export function newBatch(): CurlBatch {
  return { files: new Map(), commands: [] }
}

/** Adds a request whose outcome is reported as one `@@` line. */
export function addRequest(batch: CurlBatch, id: string, request: BoxRequest, dir = BOX_DIR): void {
  if (!/^[a-z0-9-]+$/.test(id)) throw new Error(`bad request id ${id}`)
  batch.files.set(`${id}.cfg`, Buffer.from(curlConfig(id, request, dir)))
  if (request.body) batch.files.set(`${id}.req`, request.body)
  const f = `${dir}/${id}`
  batch.commands.push(
    `rm -f ${f}.head ${f}.body ${f}.err; curl -K ${f}.cfg 2>${f}.err; rc=$?`,
    `printf '@@ %s %s %s %s %s\\n' ${id} "$rc" "$(b ${f}.head)" "$(b ${f}.body)" "$(grep -a '^curl:' ${f}.err | b -)"`,
  )
}

/** Adds a request whose outcome is not reported (window flushes). */
export function addQuietRequest(batch: CurlBatch, id: string, request: BoxRequest, dir = BOX_DIR): void {
  batch.files.set(`${id}.cfg`, Buffer.from(curlConfig(id, request, dir)))
  if (request.body) batch.files.set(`${id}.req`, request.body)
  batch.commands.push(`curl -K ${dir}/${id}.cfg 2>/dev/null >/dev/null`)
}

/** The whole batch as one script for `sh -s`. */
export function batchScript(batch: CurlBatch, dir = BOX_DIR): string {
  const b64 = `b() { if [ "$1" = - ]; then out=$(base64 -w0); elif [ -s "$1" ]; then out=$(base64 -w0 < "$1"); else out=; fi; printf '%s' "\${out:--}"; }`
  return `${writeFilesScript(batch.files, dir)}${b64}\n${batch.commands.join('\n')}\n`
}

function fromB64(field: string | undefined): Buffer {
  return !field || field === '-' ? Buffer.alloc(0) : Buffer.from(field, 'base64')
}

/** Heads as curl dumped them: one block per response (a CONNECT answer, 1xx, the final one). */
export function parseHeads(raw: Buffer): ResponseHead[] {
  const heads: ResponseHead[] = []
  for (const line of raw.toString('latin1').split(/\r?\n/)) {
    const status = /^HTTP\/[\d.]+ (\d{3})/.exec(line)
    if (status) {
      heads.push({ status: Number(status[1]), headers: [] })
      continue
    }
    const colon = line.indexOf(':')
    if (colon > 0 && heads.length > 0) heads[heads.length - 1]!.headers.push([line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim()])
  }
  return heads
}

export function headerOf(head: ResponseHead | undefined, name: string): string | undefined {
  return head?.headers.find(([n]) => n === name)?.[1]
}

function dechunk(raw: Buffer): Buffer {
  const out: Buffer[] = []
  let at = 0
  for (;;) {
    const eol = raw.indexOf('\r\n', at)
    if (eol < 0) return Buffer.concat(out)
    const size = Number.parseInt(raw.subarray(at, eol).toString('latin1').split(';')[0] ?? '', 16)
    if (!Number.isFinite(size) || size === 0) return Buffer.concat(out)
    out.push(raw.subarray(eol + 2, eol + 2 + size))
    at = eol + 2 + size + 2
  }
}

/** The `@@` lines of a batch's output, by id. */
export function parseBatchOutput(stdout: string): Map<string, BoxResponse> {
  const results = new Map<string, BoxResponse>()
  for (const line of stdout.split('\n')) {
    if (!line.startsWith('@@ ')) continue
    const [, id, rc, head, body, error] = line.split(' ')
    if (!id) continue
    const rawHead = fromB64(head)
    const heads = parseHeads(rawHead)
    const rawBody = fromB64(body)
    const last = heads[heads.length - 1]
    let decoded = headerOf(last, 'transfer-encoding')?.toLowerCase() === 'chunked' ? dechunk(rawBody) : rawBody
    if (headerOf(last, 'content-encoding')?.toLowerCase() === 'gzip') {
      try {
        decoded = gunzipSync(decoded)
      } catch {
        // left as received
      }
    }
    results.set(id, { id, exitCode: Number(rc), heads, rawHead, rawBody, body: decoded, curlError: fromB64(error).toString('utf8').trim() })
  }
  return results
}

/** The refusal in a response: from the CONNECT answer's or the final answer's X-Bottle-Egress-Rule, and the body's first line when curl got one. */
export function refusalOf(response: BoxResponse): { status: number; rule: string; body: string } | undefined {
  for (const head of response.heads) {
    const rule = headerOf(head, 'x-bottle-egress-rule')
    if (rule === undefined) continue
    const final = head === response.heads[response.heads.length - 1]
    return { status: head.status, rule, body: final ? (response.body.toString('utf8').split('\n')[0] ?? '') : '' }
  }
  return undefined
}

/**
 * A WebSocket client for inside the box (node, CommonJS, no dependencies).
 * `node ws-client.cjs spec.json` reads
 *   {url: "ws://..." | "wss://...", steps: [{frames: [{opcode, fin, b64}]}]}
 * and goes through the proxy in HTTP_PROXY: absolute-form GET for ws://, a
 * CONNECT tunnel and TLS (trusting what NODE_EXTRA_CA_CERTS adds) for wss://.
 * After each step (one message, maybe in several frames) it waits for the
 * next frame from the other side. It prints one JSON line: the CONNECT and
 * handshake heads, the events (frames, close with code and reason, end,
 * timeout) and `raw`, every byte received after the tunnel, base64.
 */
export const WS_CLIENT_SCRIPT = String.raw`'use strict'
const net = require('net'), tls = require('tls'), crypto = require('crypto'), fs = require('fs')
const spec = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'))
const proxy = new URL(process.env.HTTP_PROXY || 'http://egress:8888')
const target = new URL(spec.url)
const secure = target.protocol === 'wss:'
const port = Number(target.port || (secure ? 443 : 80))
const result = { caFile: process.env.NODE_EXTRA_CA_CERTS || '', caPresent: false, connect: '', handshake: '', events: [], raw: '' }
try { result.caPresent = fs.statSync(result.caFile).size > 0 } catch {}
const raw = []
let done = false
function finish() {
  if (done) return
  done = true
  result.raw = Buffer.concat(raw).toString('base64')
  process.stdout.write(JSON.stringify(result) + '\n', () => process.exit(0))
}
setTimeout(() => { result.events.push({ type: 'timeout', where: 'overall' }); finish() }, spec.timeoutMs || 20000).unref()

function reader(stream, record) {
  let buf = Buffer.alloc(0), ended = false, wake = null
  const onData = (d) => { if (record) raw.push(d); buf = Buffer.concat([buf, d]); if (wake) wake() }
  const onEnd = () => { ended = true; if (wake) wake() }
  stream.on('data', onData); stream.on('end', onEnd); stream.on('close', onEnd); stream.on('error', onEnd)
  return {
    async until(take, ms) {
      const deadline = Date.now() + ms
      for (;;) {
        const got = take()
        if (got !== undefined) return got
        if (ended) return { ended: true }
        const left = deadline - Date.now()
        if (left <= 0) return { timeout: true }
        await new Promise((r) => { wake = r; setTimeout(r, left) })
        wake = null
      }
    },
    head() {
      const end = buf.indexOf('\r\n\r\n')
      if (end < 0) return undefined
      const text = buf.subarray(0, end).toString('latin1')
      buf = buf.subarray(end + 4)
      return { text }
    },
    frame() {
      if (buf.length < 2) return undefined
      const b0 = buf[0], b1 = buf[1]
      let len = b1 & 0x7f, at = 2
      if (len === 126) { if (buf.length < 4) return undefined; len = buf.readUInt16BE(2); at = 4 }
      else if (len === 127) { if (buf.length < 10) return undefined; len = Number(buf.readBigUInt64BE(2)); at = 10 }
      const masked = (b1 & 0x80) !== 0, maskAt = at
      if (masked) at += 4
      if (buf.length < at + len) return undefined
      const payload = Buffer.from(buf.subarray(at, at + len))
      if (masked) for (let i = 0; i < payload.length; i++) payload[i] ^= buf[maskAt + (i % 4)]
      buf = buf.subarray(at + len)
      return { frame: { opcode: b0 & 0x0f, fin: (b0 & 0x80) !== 0, payload } }
    },
    rest() { return buf },
    detach() { stream.off('data', onData); stream.off('end', onEnd); stream.off('close', onEnd); stream.off('error', onEnd) },
  }
}

function encode(opcode, payload, fin) {
  const len = payload.length
  const extra = len < 126 ? 0 : len < 65536 ? 2 : 8
  const head = Buffer.alloc(2 + extra + 4)
  head[0] = (fin ? 0x80 : 0) | opcode
  head[1] = 0x80 | (len < 126 ? len : len < 65536 ? 126 : 127)
  if (extra === 2) head.writeUInt16BE(len, 2)
  if (extra === 8) head.writeBigUInt64BE(BigInt(len), 2)
  const mask = crypto.randomBytes(4)
  mask.copy(head, 2 + extra)
  const body = Buffer.from(payload)
  for (let i = 0; i < body.length; i++) body[i] ^= mask[i % 4]
  return Buffer.concat([head, body])
}

async function nextEvent(r, ms) {
  for (;;) {
    const got = await r.until(() => r.frame(), ms)
    if (got.ended) return { type: 'end' }
    if (got.timeout) return { type: 'timeout' }
    const f = got.frame
    if (f.opcode === 0x9 || f.opcode === 0xa) continue
    if (f.opcode === 0x8) return { type: 'close', code: f.payload.length >= 2 ? f.payload.readUInt16BE(0) : 0, reason: f.payload.subarray(2).toString('utf8') }
    return { type: 'frame', opcode: f.opcode, fin: f.fin, b64: f.payload.toString('base64') }
  }
}

async function main() {
  const sock = net.connect(Number(proxy.port || 80), proxy.hostname)
  await new Promise((resolve, reject) => { sock.once('connect', resolve); sock.once('error', reject) })
  let stream = sock
  let r
  if (secure) {
    const pre = reader(sock, false)
    sock.write('CONNECT ' + target.hostname + ':' + port + ' HTTP/1.1\r\nHost: ' + target.hostname + ':' + port + '\r\n\r\n')
    const head = await pre.until(() => pre.head(), 10000)
    result.connect = head.text || ''
    if (!/^HTTP\/1\.[01] 200/.test(result.connect)) return finish()
    pre.detach()
    stream = tls.connect({ socket: sock, servername: target.hostname })
    await new Promise((resolve, reject) => { stream.once('secureConnect', resolve); stream.once('error', reject) })
  }
  r = reader(stream, true)
  const path = target.pathname + target.search
  const requestTarget = secure ? path : 'http://' + target.host + path
  const extra = (spec.headers || []).map((h) => h + '\r\n').join('')
  stream.write('GET ' + requestTarget + ' HTTP/1.1\r\nHost: ' + target.host + '\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ' + crypto.randomBytes(16).toString('base64') + '\r\nSec-WebSocket-Version: 13\r\n' + extra + '\r\n')
  const head = await r.until(() => r.head(), 10000)
  result.handshake = head.text || ''
  if (!/^HTTP\/1\.1 101/.test(result.handshake)) {
    await r.until(() => undefined, 2000)
    return finish()
  }
  for (const step of spec.steps) {
    for (const f of step.frames) stream.write(encode(f.opcode, Buffer.from(f.b64, 'base64'), f.fin !== false))
    const event = await nextEvent(r, 8000)
    result.events.push(event)
    if (event.type !== 'frame') return finish()
  }
  stream.write(encode(0x8, Buffer.from([0x03, 0xe8]), true))
  result.events.push(await nextEvent(r, 3000))
  finish()
}
main().catch((error) => { result.events.push({ type: 'error', message: String(error && error.message) }); finish() })
`

export interface WsFrameSpec {
  opcode: number
  fin?: boolean
  payload: Buffer
}

/** One message per step, possibly in several frames; the client waits for one frame back after each. */
export interface WsSession {
  url: string
  steps: { frames: WsFrameSpec[] }[]
  headers?: string[]
}

export type WsEvent =
  | { type: 'frame'; opcode: number; fin: boolean; b64: string }
  | { type: 'close'; code: number; reason: string }
  | { type: 'end' }
  | { type: 'timeout'; where?: string }
  | { type: 'error'; message: string }

export interface WsOutcome {
  caFile: string
  caPresent: boolean
  connect: string
  handshake: string
  events: WsEvent[]
  /** Every byte received after the tunnel (handshake answer, frames). */
  raw: Buffer
}

export function wsSessionFile(session: WsSession): Buffer {
  return Buffer.from(
    JSON.stringify({
      url: session.url,
      headers: session.headers ?? [],
      steps: session.steps.map((s) => ({ frames: s.frames.map((f) => ({ opcode: f.opcode, fin: f.fin ?? true, b64: f.payload.toString('base64') })) })),
    }),
  )
}

export function parseWsOutcome(line: string): WsOutcome {
  const value = JSON.parse(line) as Omit<WsOutcome, 'raw'> & { raw: string }
  return { ...value, raw: Buffer.from(value.raw, 'base64') }
}

export { BOX_DIR }
