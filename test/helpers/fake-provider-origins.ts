/**
 * Fake Anthropic and OpenAI API origins that the real Claude Code and Codex
 * CLIs accept: plain HTTP, on this machine, answering every model call with a
 * fixed text and recording every request (with its Authorization header), so
 * an end-to-end test can check that (a) the CLI printed the fake answer and
 * (b) the origin saw the real token the egress proxy injected.
 *
 * Paths are exactly the real APIs' paths, so an origin works reached directly
 * (`ANTHROPIC_BASE_URL=http://host:port`; Codex
 * `-c 'openai_base_url="http://host:port/v1"'`) and reached as
 * `https://api.anthropic.com` / `https://api.openai.com` through an
 * intercepting proxy that rewrites only the origin.
 *
 * Measured on the real binaries, Claude Code 2.1.330 and Codex 0.169.0
 * (test/integration/sidecars/fake-provider-origins.test.ts runs them):
 *
 * CLAUDE CODE — `claude -p "say hi" --dangerously-skip-permissions`
 * - Auth: `CLAUDE_CODE_OAUTH_TOKEN=<token>` alone; no credentials file, no
 *   login, no OAuth endpoint has to succeed. It goes out as
 *   `Authorization: Bearer <token>` (never `x-api-key`) on the model call and
 *   on the startup calls below (except /api/directory/server-urls and one
 *   event_logging batch, sent without auth).
 * - Model call: `POST /v1/messages?beta=true` (note the query) with
 *   `stream: true`, headers `anthropic-version: 2023-06-01`,
 *   `anthropic-beta: claude-code-20250219,oauth-2025-04-20,...` (the
 *   oauth-2025-04-20 beta is what the real API needs with an OAuth token),
 *   `x-app: cli`, `anthropic-dangerous-direct-browser-access: true`,
 *   `user-agent: claude-cli/2.1.330 (external, sdk-cli)`. When the stream
 *   fails it retries once without `stream`. Default model `claude-sonnet-5-5`
 *   (any model is answered). A 404 here makes it exit 1 with "There's an
 *   issue with the selected model".
 * - Startup: with `CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1` and
 *   ANTHROPIC_BASE_URL the model call is the only request; reached as
 *   api.anthropic.com it still first sends GET /api/claude_code/settings and
 *   GET /api/claude_code/policy_limits (managed settings are not "non-
 *   essential"). Without that variable, through a proxy as api.anthropic.com:
 *   GET /api/claude_code/settings, GET /api/claude_code/policy_limits,
 *   POST /api/eval/sdk-<key> (GrowthBook flags), GET /api/claude_cli/bootstrap,
 *   GET /api/directory/server-urls, POST /api/event_logging/v2/batch; with
 *   ANTHROPIC_BASE_URL also HEAD /api/hello. None must succeed (404s only log
 *   errors), but they are answered as "nothing configured" (see
 *   ANTHROPIC_STARTUP_ROUTES). It CONNECTed to no host but api.anthropic.com.
 * - Root: `--dangerously-skip-permissions` refuses uid 0 unless `IS_SANDBOX=1`.
 * - Isolation: `HOME` and `CLAUDE_CONFIG_DIR` in a temp folder (a missing
 *   `.claude.json` only logs an error in the debug log).
 * - Proxy/trust: honours `HTTPS_PROXY` (CONNECT); trusts a CA from
 *   `NODE_EXTRA_CA_CERTS` or from `SSL_CERT_FILE`. Without either it fails
 *   after ~19 s: "Self-signed certificate detected (SELF_SIGNED_CERT_IN_CHAIN)".
 *
 * CODEX — `codex exec --dangerously-bypass-approvals-and-sandbox --skip-git-repo-check "say hi"`
 * - Auth: `CODEX_API_KEY=<key>`, or `$CODEX_HOME/auth.json` =
 *   `{"auth_mode":"apikey","OPENAI_API_KEY":"<key>"}` (what
 *   `codex login --with-api-key` writes, key on stdin). `OPENAI_API_KEY` in
 *   the environment alone is NOT used by 0.169: requests go out with no
 *   Authorization header at all. The key goes out as `Authorization: Bearer`.
 * - `CODEX_HOME` must exist (codex refuses a missing one). Close stdin
 *   (spawn with stdin ignored or </dev/null), or it waits on "Reading
 *   additional input from stdin...". Final answer on stdout; banner and logs
 *   on stderr.
 * - Base URL: `-c 'openai_base_url="http://host:port/v1"'` (or the same key in
 *   `$CODEX_HOME/config.toml`). The `OPENAI_BASE_URL` environment variable is
 *   ignored by 0.169 (it still dials api.openai.com).
 * - Transport: first a WebSocket, `GET /v1/responses` with
 *   `openai-beta: responses_websockets=2026-02-06` and the bearer; each
 *   request is one text message `{"type":"response.create", ...Responses
 *   body}` and each event comes back as one JSON text message. The first
 *   message is a warm-up (`"generate": false`, answered with created +
 *   completed and no output); the turn follows with `previous_response_id`.
 *   A handshake answered `426 Upgrade Required` makes it fall back to HTTP at
 *   once; any other refusal (404, connection error) costs five WebSocket
 *   retries (~5 s) first. HTTP: `POST /v1/responses`, `stream: true`,
 *   `accept: text/event-stream`; SSE events response.created,
 *   response.output_item.added, response.output_text.delta,
 *   response.output_item.done, response.completed (with usage). The origin
 *   serves the WebSocket by default; `websocket: false` answers 426.
 * - Other hosts, seen through a proxy: `GET https://chatgpt.com/backend-api/codex/models?client_version=0.169.0`
 *   WITH the API key as bearer (even in API-key mode; `chatgpt_base_url`
 *   does not move it), `GET chatgpt.com/backend-api/plugins/export/curated`,
 *   github.com + api.github.com (curated plugins sync), ab.chatgpt.com
 *   (analytics). None must succeed. `-c features.plugins=false` drops the
 *   plugin calls, `-c analytics.enabled=false` drops ab.chatgpt.com. When
 *   chatgpt.com's CONNECT is refused, codex retries /models for ~9 s before
 *   and during the turn; answered 404 over HTTP (route chatgpt.com to this
 *   origin: /backend-api/* is a 404 here) it goes on at once.
 * - Proxy/trust: honours `HTTPS_PROXY` for HTTP and the WebSocket; trusts a
 *   CA from `CODEX_CA_CERTIFICATE` or `SSL_CERT_FILE` (PEM). Without either
 *   it retries the TLS failure for minutes.
 */
import { createHash, randomUUID } from 'node:crypto'
import { once } from 'node:events'
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import type { Duplex } from 'node:stream'

export interface FakeOriginRequest {
  /** HTTP method; `WEBSOCKET` for a message received on an upgraded connection. */
  method: string
  /** Path with query, as received (`/v1/messages?beta=true`). */
  path: string
  /** The Authorization header, '' when absent. */
  authorization: string
  headers: IncomingHttpHeaders
  /** Request body (or WebSocket message) as text. */
  body: string
}

export interface FakeProviderOrigin {
  /** `http://127.0.0.1:PORT` (loopback, whatever the listening host). */
  url: string
  host: string
  port: number
  requests: FakeOriginRequest[]
  close(): Promise<void>
}

export interface FakeOriginOptions {
  /** The text every model call answers with. */
  answer: string
  /** Default 0.0.0.0, so containers reach it through the host's address. */
  host?: string
  /** Default 0: a free port. */
  port?: number
  /**
   * A model call whose body contains this text is refused with a 400
   * invalid_request_error, which the CLI reports and exits non-zero on
   * (it does not retry a 4xx): the failing-task case.
   */
  refuseWhenBodyHas?: string
  /** Serve https with this certificate (egress injects a credential only over https). Default: plain http. */
  tls?: { certPem: string; keyPem: string }
}

type Route = (req: IncomingMessage, res: ServerResponse, body: string) => void

async function listen(options: FakeOriginOptions, route: Route, upgrade?: (req: IncomingMessage, socket: Duplex, head: Buffer, record: (r: FakeOriginRequest) => void) => void): Promise<FakeProviderOrigin> {
  const requests: FakeOriginRequest[] = []
  const upgraded = new Set<Duplex>()
  const record = (r: FakeOriginRequest) => void requests.push(r)
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8')
      record({ method: req.method ?? '', path: req.url ?? '', authorization: req.headers.authorization ?? '', headers: req.headers, body })
      try {
        route(req, res, body)
      } catch (error) {
        if (!res.headersSent) jsonResponse(res, 500, { error: { message: String(error) } })
        else res.destroy()
      }
    })
  }
  const server: Server | HttpsServer = options.tls ? createHttpsServer({ cert: options.tls.certPem, key: options.tls.keyPem }, handler) : createServer(handler)
  server.keepAliveTimeout = 60_000
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    upgraded.add(socket)
    socket.on('close', () => upgraded.delete(socket))
    socket.on('error', () => socket.destroy())
    if (upgrade) upgrade(req, socket, head, record)
    else socket.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n')
  })
  const host = options.host ?? '0.0.0.0'
  server.listen(options.port ?? 0, host)
  await once(server, 'listening')
  const port = (server.address() as AddressInfo).port
  const loopback = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host
  return {
    url: `${options.tls ? 'https' : 'http'}://${loopback.includes(':') ? `[${loopback}]` : loopback}:${port}`,
    host,
    port,
    requests,
    close: async () => {
      const closed = once(server, 'close')
      server.close()
      server.closeAllConnections()
      for (const socket of upgraded) socket.destroy()
      await closed
    },
  }
}

function jsonResponse(res: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(value)
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers }).end(text)
}

function parseJson(body: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(body)
    return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {}
  } catch {
    return {}
  }
}

function pathOf(req: IncomingMessage): string {
  return (req.url ?? '/').split('?')[0] ?? '/'
}

/** Split an answer into a few deltas, as a real stream would. */
function deltas(text: string): string[] {
  const words = text.match(/\S+\s*|\s+/g) ?? []
  return words.length > 0 ? words : ['']
}

// ---------------------------------------------------------------------------
// Anthropic

/**
 * Endpoints Claude Code 2.1.330 calls at startup besides the model, seen as
 * api.anthropic.com through an intercepting proxy without
 * CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC. None has to succeed for `-p` to
 * print the answer; these answers are the ones its debug log takes as "no
 * settings", "no restrictions", "fetch ok". Matched on the path without query.
 */
const ANTHROPIC_STARTUP_ROUTES: Record<string, { status: number; body: unknown }> = {
  // Connectivity check (sent to ANTHROPIC_BASE_URL when non-essential traffic is on).
  '/api/hello': { status: 200, body: { message: 'hello' } },
  // Remote managed settings: 404 is "No settings found" (200/204/304/404 are all accepted).
  '/api/claude_code/settings': { status: 404, body: { type: 'error', error: { type: 'not_found_error', message: 'no managed settings' } } },
  // "Policy limits: No restrictions".
  '/api/claude_code/policy_limits': { status: 200, body: { restrictions: {} } },
  // Model options for the account: "[Bootstrap] Fetch ok".
  '/api/claude_cli/bootstrap': { status: 200, body: { client_data: null, additional_model_options: [] } },
  // MCP registry: anything but 200 with a list of URLs is logged as an error.
  '/api/directory/server-urls': { status: 200, body: { urls: [] } },
  '/api/event_logging/v2/batch': { status: 200, body: {} },
  '/api/event_logging/batch': { status: 200, body: {} },
  '/v1/models': {
    status: 200,
    body: { data: [{ type: 'model', id: 'claude-sonnet-5-5', display_name: 'Claude Sonnet', created_at: '2025-01-01T00:00:00Z' }], has_more: false, first_id: 'claude-sonnet-5-5', last_id: 'claude-sonnet-5-5' },
  },
}

function anthropicMessage(model: string, answer: string, id: string): Record<string, unknown> {
  return {
    id,
    type: 'message',
    role: 'assistant',
    model,
    content: [{ type: 'text', text: answer }],
    stop_reason: 'end_turn',
    stop_sequence: null,
    usage: { input_tokens: 12, output_tokens: Math.max(1, deltas(answer).length), cache_creation_input_tokens: 0, cache_read_input_tokens: 0 },
  }
}

function anthropicStream(res: ServerResponse, model: string, answer: string, id: string): void {
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', 'request-id': `req_${id}` })
  const event = (type: string, data: Record<string, unknown>) => res.write(`event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`)
  const pieces = deltas(answer)
  event('message_start', {
    message: { id, type: 'message', role: 'assistant', model, content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 12, output_tokens: 1, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 } },
  })
  event('content_block_start', { index: 0, content_block: { type: 'text', text: '' } })
  event('ping', {})
  for (const text of pieces) event('content_block_delta', { index: 0, delta: { type: 'text_delta', text } })
  event('content_block_stop', { index: 0 })
  event('message_delta', { delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: Math.max(1, pieces.length) } })
  event('message_stop', {})
  res.end()
}

/** A fake `api.anthropic.com` that Claude Code accepts. */
export async function startFakeAnthropicOrigin(options: FakeOriginOptions): Promise<FakeProviderOrigin> {
  return listen(options, (req, res, body) => {
    const path = pathOf(req)
    const id = `msg_fake_${randomUUID().replaceAll('-', '')}`
    if (req.method === 'POST' && path === '/v1/messages') {
      const request = parseJson(body)
      const model = typeof request.model === 'string' ? request.model : 'claude-sonnet-5-5'
      if (options.refuseWhenBodyHas !== undefined && body.includes(options.refuseWhenBodyHas)) {
        return jsonResponse(res, 400, { type: 'error', error: { type: 'invalid_request_error', message: 'fake origin: this prompt is refused on purpose' } })
      }
      if (request.stream === true) anthropicStream(res, model, options.answer, id)
      else jsonResponse(res, 200, anthropicMessage(model, options.answer, id), { 'request-id': `req_${id}` })
      return
    }
    if (req.method === 'POST' && path === '/v1/messages/count_tokens') return jsonResponse(res, 200, { input_tokens: Math.max(1, Math.ceil(body.length / 4)) })
    // GrowthBook remote evaluation of feature flags (`POST /api/eval/sdk-...`): no flags.
    const startup = path.startsWith('/api/eval/') ? { status: 200, body: { features: {} } } : ANTHROPIC_STARTUP_ROUTES[path]
    if (startup) {
      if (req.method === 'HEAD') return void res.writeHead(startup.status, { 'content-length': 0 }).end()
      return jsonResponse(res, startup.status, startup.body)
    }
    jsonResponse(res, 404, { type: 'error', error: { type: 'not_found_error', message: `fake origin: no route for ${req.method} ${path}` } })
  })
}

// ---------------------------------------------------------------------------
// OpenAI

export interface FakeOpenAIOriginOptions extends FakeOriginOptions {
  /**
   * Serve the Responses WebSocket transport (what Codex tries first). Default
   * true. False answers the handshake `426 Upgrade Required`, which makes
   * Codex fall back to HTTP POST + SSE at once.
   */
  websocket?: boolean
}

/** The Responses API events for one answer, in order. */
function responsesEvents(model: string, answer: string): Record<string, unknown>[] {
  const responseId = `resp_fake_${randomUUID().replaceAll('-', '')}`
  const itemId = `msg_fake_${randomUUID().replaceAll('-', '')}`
  const createdAt = Math.floor(Date.now() / 1000)
  const pieces = deltas(answer)
  const base = { id: responseId, object: 'response', created_at: createdAt, model }
  const item = { id: itemId, type: 'message', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: answer, annotations: [] }] }
  const usage = { input_tokens: 12, input_tokens_details: { cached_tokens: 0 }, output_tokens: pieces.length, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 12 + pieces.length }
  let sequence = 0
  const event = (type: string, data: Record<string, unknown>) => ({ type, sequence_number: sequence++, ...data })
  return [
    event('response.created', { response: { ...base, status: 'in_progress', output: [] } }),
    event('response.in_progress', { response: { ...base, status: 'in_progress', output: [] } }),
    event('response.output_item.added', { output_index: 0, item: { ...item, status: 'in_progress', content: [] } }),
    event('response.content_part.added', { item_id: itemId, output_index: 0, content_index: 0, part: { type: 'output_text', text: '', annotations: [] } }),
    ...pieces.map((delta) => event('response.output_text.delta', { item_id: itemId, output_index: 0, content_index: 0, delta })),
    event('response.output_text.done', { item_id: itemId, output_index: 0, content_index: 0, text: answer }),
    event('response.content_part.done', { item_id: itemId, output_index: 0, content_index: 0, part: { type: 'output_text', text: answer, annotations: [] } }),
    event('response.output_item.done', { output_index: 0, item }),
    event('response.completed', { response: { ...base, status: 'completed', output: [item], usage } }),
  ]
}

/** A request that only warms a connection up (`generate: false`) gets created + completed and no output. */
function warmupEvents(model: string): Record<string, unknown>[] {
  const base = { id: `resp_fake_${randomUUID().replaceAll('-', '')}`, object: 'response', created_at: Math.floor(Date.now() / 1000), model }
  return [
    { type: 'response.created', sequence_number: 0, response: { ...base, status: 'in_progress', output: [] } },
    { type: 'response.completed', sequence_number: 1, response: { ...base, status: 'completed', output: [], usage: { input_tokens: 0, input_tokens_details: { cached_tokens: 0 }, output_tokens: 0, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 0 } } },
  ]
}

function eventsFor(request: Record<string, unknown>, answer: string): Record<string, unknown>[] {
  const model = typeof request.model === 'string' ? request.model : 'gpt-fake'
  return request.generate === false ? warmupEvents(model) : responsesEvents(model, answer)
}

const WEBSOCKET_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11'

/** One unmasked server frame. */
function serverFrame(opcode: number, payload: Buffer): Buffer {
  const length = payload.length
  const header = length < 126 ? Buffer.alloc(2) : length < 65_536 ? Buffer.alloc(4) : Buffer.alloc(10)
  header[0] = 0x80 | opcode
  if (length < 126) header[1] = length
  else if (length < 65_536) {
    header[1] = 126
    header.writeUInt16BE(length, 2)
  } else {
    header[1] = 127
    header.writeBigUInt64BE(BigInt(length), 2)
  }
  return Buffer.concat([header, payload])
}

/** Parses masked client frames; calls back with whole text messages and handles ping/close. */
function readWebSocket(socket: Duplex, head: Buffer, onText: (text: string) => void): void {
  let pending = head
  let fragments: Buffer[] | undefined
  const consume = () => {
    for (;;) {
      if (pending.length < 2) return
      const first = pending[0] as number
      const second = pending[1] as number
      let length = second & 0x7f
      let at = 2
      if (length === 126) {
        if (pending.length < 4) return
        length = pending.readUInt16BE(2)
        at = 4
      } else if (length === 127) {
        if (pending.length < 10) return
        length = Number(pending.readBigUInt64BE(2))
        at = 10
      }
      const masked = (second & 0x80) !== 0
      const total = at + (masked ? 4 : 0) + length
      if (pending.length < total) return
      const payload = Buffer.from(pending.subarray(total - length, total))
      if (masked) {
        const mask = pending.subarray(at, at + 4)
        for (let i = 0; i < payload.length; i++) payload[i] = (payload[i] as number) ^ (mask[i & 3] as number)
      }
      pending = pending.subarray(total)
      const fin = (first & 0x80) !== 0
      const opcode = first & 0x0f
      if (opcode === 0x8) {
        socket.end(serverFrame(0x8, payload.subarray(0, 2)))
        return
      }
      if (opcode === 0x9) {
        socket.write(serverFrame(0xa, payload))
        continue
      }
      if (opcode === 0xa) continue
      if (opcode === 0x1 || opcode === 0x2) fragments = [payload]
      else if (opcode === 0x0 && fragments) fragments.push(payload)
      else continue
      if (fin && fragments) {
        const text = Buffer.concat(fragments).toString('utf8')
        fragments = undefined
        onText(text)
      }
    }
  }
  socket.on('data', (chunk: Buffer) => {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk])
    consume()
  })
  consume()
}

/** A fake `api.openai.com` (Responses API, SSE and WebSocket) that Codex accepts. */
export async function startFakeOpenAIOrigin(options: FakeOpenAIOriginOptions): Promise<FakeProviderOrigin> {
  const websocket = options.websocket ?? true
  // ChatGPT logins reach the same API at chatgpt.com/backend-api/codex.
  const isResponses = (path: string) => path === '/v1/responses' || path === '/responses' || path === '/backend-api/codex/responses'
  return listen(
    options,
    (req, res, body) => {
      const path = pathOf(req)
      if (req.method === 'POST' && isResponses(path)) {
        const request = parseJson(body)
        const events = eventsFor(request, options.answer)
        if (request.stream === false) return jsonResponse(res, 200, (events.at(-1) as { response: unknown }).response)
        res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', 'x-request-id': `req_${randomUUID()}` })
        for (const event of events) res.write(`event: ${String(event.type)}\ndata: ${JSON.stringify(event)}\n\n`)
        res.end()
        return
      }
      if (req.method === 'GET' && (path === '/v1/models' || path === '/models')) {
        return jsonResponse(res, 200, { object: 'list', data: [{ id: 'gpt-fake', object: 'model', created: 1_700_000_000, owned_by: 'bottle-test' }], models: [] })
      }
      jsonResponse(res, 404, { error: { message: `fake origin: no route for ${req.method} ${path}`, type: 'invalid_request_error', param: null, code: 'not_found' } })
    },
    (req, socket, head, record) => {
      const path = pathOf(req)
      const key = req.headers['sec-websocket-key']
      const authorization = req.headers.authorization ?? ''
      record({ method: req.method ?? 'GET', path: req.url ?? '', authorization, headers: req.headers, body: '' })
      if (!websocket || !isResponses(path) || (req.headers.upgrade ?? '').toLowerCase() !== 'websocket' || typeof key !== 'string') {
        socket.end('HTTP/1.1 426 Upgrade Required\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}')
        return
      }
      const accept = createHash('sha1').update(`${key}${WEBSOCKET_GUID}`).digest('base64')
      socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`)
      readWebSocket(socket, head, (text) => {
        record({ method: 'WEBSOCKET', path: req.url ?? '', authorization, headers: req.headers, body: text })
        for (const event of eventsFor(parseJson(text), options.answer)) socket.write(serverFrame(0x1, Buffer.from(JSON.stringify(event))))
      })
    },
  )
}
