import { once } from 'node:events'
import { createServer, request, type IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'
import { PassThrough } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { EgressDenial, isEgressDenial, respondDenied, respondUpstreamFailure } from '../../../../sidecars/egress/deny.js'

async function answerFrom(write: (res: import('node:http').ServerResponse) => void): Promise<{ res: IncomingMessage; body: string }> {
  const server = createServer((_req, res) => write(res))
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const port = (server.address() as AddressInfo).port
  const res = await new Promise<IncomingMessage>((resolve) => request({ port, host: '127.0.0.1' }, resolve).end())
  let body = ''
  for await (const chunk of res) body += chunk
  server.close()
  return { res, body }
}

describe('respondDenied', () => {
  const cases: Array<{ rule: EgressDenial['rule']; reason: string }> = [
    { rule: 'no-route', reason: 'no route allows host x.test' },
    { rule: 'dlp', reason: 'secret matching rule github-pat in header:x-note' },
    { rule: 'ssrf', reason: 'destination resolves to a metadata address (169.254.169.254/32); not in allowPrivate' },
  ]
  it.each(cases)('writes a 403 with the marker for $rule', async ({ rule, reason }) => {
    const { res, body } = await answerFrom((response) => respondDenied(response, new EgressDenial(rule, reason)))
    expect(res.statusCode).toBe(403)
    expect(res.headers['x-bottle-egress']).toBe('denied')
    expect(res.headers['x-bottle-egress-rule']).toBe(rule)
    expect(res.headers['content-type']).toBe('text/plain; charset=utf-8')
    expect(body).toBe(`bottle-egress: ${rule}: ${reason}\n`)
  })

  it('asks to close the connection when the body was not read', async () => {
    const { res } = await answerFrom((response) => respondDenied(response, new EgressDenial('body-too-large', 'x'), { close: true }))
    expect(res.headers.connection).toBe('close')
  })

  it('writes a raw HTTP answer on a socket before any tunnel', async () => {
    const socket = new PassThrough()
    let text = ''
    socket.on('data', (chunk: Buffer) => (text += chunk.toString()))
    respondDenied(socket, new EgressDenial('no-route', 'no route allows host x.test'))
    await once(socket, 'finish')
    expect(text).toMatch(/^HTTP\/1\.1 403 Forbidden\r\n/)
    expect(text).toContain('X-Bottle-Egress: denied\r\n')
    expect(text).toContain('Connection: close\r\n')
    expect(text.endsWith('\r\n\r\nbottle-egress: no-route: no route allows host x.test\n')).toBe(true)
  })

  it('marks upstream failures differently from denials', async () => {
    const { res, body } = await answerFrom((response) => respondUpstreamFailure(response, 'ECONNREFUSED'))
    expect(res.statusCode).toBe(502)
    expect(res.headers['x-bottle-egress']).toBe('upstream-error')
    expect(body).toBe('bottle-egress: upstream-error: ECONNREFUSED\n')
  })
})

describe('isEgressDenial', () => {
  it.each([
    [new EgressDenial('dlp', 'x'), true],
    [new Error('dlp: x'), false],
    [{ rule: 'dlp', name: 'EgressDenial' }, false],
    [undefined, false],
  ])('%o -> %s', (value, want) => {
    expect(isEgressDenial(value)).toBe(want)
  })
})
