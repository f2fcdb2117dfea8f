import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startHarness, type Harness } from './support/proxy-harness.js'
import { startOrigin, type Origin } from './support/origin.js'
import { connectThrough, TunnelAgent, viaProxy, viaTunnel, type RequestSpec } from './support/proxy-client.js'
import { createTestScanner } from './support/scanner.js'

// A fresh known secret per run: the value a route injects, which the agent must never be able to send anywhere.
// No '-' in it, so it is also a valid DNS label (hosts are compared lowercased).
const SECRET = `bt_${randomBytes(18).toString('base64url').replace(/-/g, 'x')}`
const AWS_KEY_ID = 'AKIAQYLPMN5HHHFPZAM2'
let origin: Origin
let plainOrigin: Origin
let proxy: Harness
let agent: TunnelAgent

beforeAll(async () => {
  origin = await startOrigin({ tls: true })
  plainOrigin = await startOrigin()
  proxy = await startHarness({
    createScanner: createTestScanner,
    hosts: { 'api.test': ['127.0.0.1'], 'files.test': ['127.0.0.1'], 'plain.test': ['127.0.0.1'] },
    secrets: { github: SECRET },
    config: {
      allowPrivate: ['127.0.0.1/32'],
      upstreamCaCerts: [origin.ca?.certPem ?? ''],
      routes: [
        { host: 'api.test', ports: [origin.port], auth: { scheme: 'Bearer', slot: 'github' } },
        { host: '*.files.test', ports: [origin.port] },
        { host: 'plain.test', ports: [plainOrigin.port] },
      ],
    },
  })
  agent = new TunnelAgent(proxy.port, { ca: proxy.ca.certPem })
})
afterAll(async () => {
  agent.destroy()
  await proxy.close()
  await origin.close()
  await plainOrigin.close()
})

function multipart(parts: Array<{ name: string; filename?: string; value: string }>): { body: string; type: string } {
  const boundary = `----bottle${randomBytes(6).toString('hex')}`
  const body =
    parts
      .map((p) => `--${boundary}\r\nContent-Disposition: form-data; name="${p.name}"${p.filename ? `; filename="${p.filename}"` : ''}\r\n\r\n${p.value}\r\n`)
      .join('') + `--${boundary}--\r\n`
  return { body, type: `multipart/form-data; boundary=${boundary}` }
}

const b64 = (text: string) => Buffer.from(text).toString('base64')
const hex = (text: string) => Buffer.from(text).toString('hex')

const cases: Array<{ name: string; url: string; spec?: RequestSpec }> = [
  { name: 'a known secret in the path', url: `/repos/${SECRET}/x` },
  { name: 'a known secret in the query', url: `/search?q=${SECRET}` },
  { name: 'a known secret URL-encoded twice in the query', url: `/search?q=${encodeURIComponent(encodeURIComponent(SECRET))}` },
  { name: 'a base64-encoded secret in the query', url: `/search?q=${encodeURIComponent(b64(SECRET))}` },
  { name: 'a hex-encoded secret in a header', url: '/h', spec: { headers: { 'X-Trace': hex(SECRET) } } },
  { name: 'a known secret in a custom header', url: '/h', spec: { headers: { 'X-Debug': `token=${SECRET}` } } },
  { name: 'a known secret in a cookie', url: '/h', spec: { headers: { Cookie: `session=${SECRET}` } } },
  { name: 'a known secret in a JSON value', url: '/post', spec: { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ note: { deep: [SECRET] } }) } },
  { name: 'a known secret as a JSON key', url: '/post', spec: { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ [SECRET]: 1 }) } },
  { name: 'a base64 secret in a JSON value', url: '/post', spec: { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ blob: b64(SECRET) }) } },
  { name: 'a known secret in a form field', url: '/post', spec: { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: `a=1&b=${encodeURIComponent(SECRET)}` } },
  (() => {
    const form = multipart([{ name: 'comment', value: 'hello' }, { name: 'upload', filename: 'notes.txt', value: `key ${SECRET}` }])
    return { name: 'a known secret in a multipart part', url: '/upload', spec: { method: 'POST', headers: { 'Content-Type': form.type }, body: form.body } }
  })(),
  (() => {
    const form = multipart([{ name: 'upload', filename: `${SECRET}.txt`, value: 'plain' }])
    return { name: 'a known secret in a multipart filename', url: '/upload', spec: { method: 'POST', headers: { 'Content-Type': form.type }, body: form.body } }
  })(),
  { name: 'an AWS key id (credential pattern) in a JSON body', url: '/post', spec: { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ id: AWS_KEY_ID }) } },
  { name: 'a known secret in a text body', url: '/post', spec: { method: 'POST', headers: { 'Content-Type': 'text/plain' }, body: `see ${SECRET}` } },
]

describe('DLP inside an intercepted tunnel', () => {
  it.each(cases)('refuses $name with the bottle-egress marker, and the origin sees nothing', async ({ url, spec }) => {
    const before = origin.seen.length
    const answer = await viaTunnel(agent, `https://api.test:${origin.port}${url}`, spec)
    expect(answer.status).toBe(403)
    expect(answer.headers['x-bottle-egress']).toBe('denied')
    expect(answer.body).toMatch(/^bottle-egress: dlp: secret matching rule [a-z-]+ in /)
    expect(answer.body).not.toContain(SECRET)
    expect(origin.seen.length).toBe(before)
  })

  it('lets a clean request through with the credential injected after scanning', async () => {
    const before = origin.seen.length
    const answer = await viaTunnel(agent, `https://api.test:${origin.port}/repos/me/app`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"title":"fix the test"}' })
    expect(answer.status).toBe(200)
    expect(origin.seen[before]?.headers.authorization).toBe(`Bearer ${SECRET}`)
  })
})

describe('DLP on hosts', () => {
  it('refuses a CONNECT whose subdomain carries the secret', async () => {
    const answer = await connectThrough(proxy.port, `${SECRET.toLowerCase()}.files.test:${origin.port}`)
    expect(answer.status).toBe(403)
    expect(answer.headers['x-bottle-egress-rule']).toBe('dlp')
  })

  it('refuses a CONNECT whose subdomain carries the secret in hex', async () => {
    const encoded = hex(SECRET)
    const half = Math.ceil(encoded.length / 2)
    const answer = await connectThrough(proxy.port, `${encoded.slice(0, half)}.${encoded.slice(half)}.files.test:${origin.port}`)
    expect(answer.status).toBe(403)
    expect(answer.headers['x-bottle-egress-rule']).toBe('dlp')
  })
})

describe('DLP on plain HTTP', () => {
  it.each(cases.slice(0, 4))('refuses $name', async ({ url }) => {
    const answer = await viaProxy(proxy.port, `http://plain.test:${plainOrigin.port}${url}`)
    expect(answer.status).toBe(403)
    expect(answer.headers['x-bottle-egress-rule']).toBe('dlp')
  })
})

describe('the decision log', () => {
  it('never carries the secret, in any encoding, nor the path or host that held it', () => {
    const text = JSON.stringify(proxy.logs)
    for (const form of [SECRET, b64(SECRET), hex(SECRET), encodeURIComponent(b64(SECRET))]) expect(text).not.toContain(form)
    const dlpLines = proxy.logs.filter((l) => l.rule === 'dlp')
    expect(dlpLines.length).toBeGreaterThan(cases.length)
    for (const line of dlpLines) expect(typeof line.dlpRule).toBe('string')
    expect(dlpLines.some((l) => l.path === '[redacted]')).toBe(true)
    expect(dlpLines.some((l) => l.host === '[redacted]')).toBe(true)
  })
})

describe('dlp.action: warn', () => {
  it('forwards and logs the finding instead of refusing', async () => {
    const warn = await startHarness({
      createScanner: createTestScanner,
      hosts: { 'plain.test': ['127.0.0.1'] },
      secrets: { github: SECRET },
      config: { allowPrivate: ['127.0.0.1/32'], dlp: { action: 'warn' }, routes: [{ host: 'plain.test', ports: [plainOrigin.port] }] },
    })
    try {
      const answer = await viaProxy(warn.port, `http://plain.test:${plainOrigin.port}/x`, { headers: { 'X-Debug': SECRET } })
      expect(answer.status).toBe(200)
      expect(warn.logs.find((l) => l.event === 'dlp.warned')).toMatchObject({ location: 'header:x-debug' })
      expect(JSON.stringify(warn.logs)).not.toContain(SECRET)
    } finally {
      await warn.close()
    }
  })
})
