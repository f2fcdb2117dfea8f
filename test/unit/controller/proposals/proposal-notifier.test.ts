import { createServer, type IncomingMessage, type Server } from 'node:http'
import { afterEach, describe, expect, it } from 'vitest'
import { notifyUrls, proposalNotice, ProposalNotifier, webhookUrlProblem } from '../../../../controller/proposals/proposal-notifier.js'
import type { Proposal } from '../../../../controller/spec/generated/spec-types.js'
import { captureLog } from '../../../helpers/log-capture.js'
import { proposal } from './support/spec-folder.js'

/** A local webhook that answers each POST with the next status of `statuses` (the last one repeats), recording what it got. */
async function webhook(statuses: number[]): Promise<{ url: string; bodies: unknown[]; headers: IncomingMessage['headers'][]; server: Server }> {
  const bodies: unknown[] = []
  const headers: IncomingMessage['headers'][] = []
  let call = 0
  const server = createServer((req, res) => {
    let text = ''
    req.on('data', (c: Buffer) => (text += c.toString()))
    req.on('end', () => {
      bodies.push(JSON.parse(text))
      headers.push(req.headers)
      res.writeHead(statuses[Math.min(call++, statuses.length - 1)]!).end()
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const { port } = server.address() as { port: number }
  servers.push(server)
  return { url: `http://127.0.0.1:${port}/hooks/T000/SECRETPART`, bodies, headers, server }
}

const servers: Server[] = []
afterEach(async () => {
  for (const s of servers.splice(0)) await new Promise((r) => s.close(r))
})

const draft: Proposal = {
  ...proposal('impl-denied-1', 'docs.example.com'),
  spec: { ...proposal('impl-denied-1', 'docs.example.com').spec, source: 'denial', reason: 'Draft from refusals', denials: { count: 3, firstSeen: '2025-06-01T12:00:00.000Z', lastSeen: '2025-06-01T12:00:30.000Z', samplePaths: ['/v1/'] } },
}

describe('proposalNotice: what a webhook receives', () => {
  it('an agent proposal: names, host, reason and the commands', () => {
    expect(proposalNotice(proposal('impl-1', 'api.example.com'), 'proposals/impl-1.yaml', '/specs')).toEqual({
      type: 'bottle.proposal',
      proposal: 'impl-1',
      source: 'agent',
      agent: 'impl',
      bottle: 'dev',
      host: 'api.example.com',
      reason: 'needed',
      file: 'proposals/impl-1.yaml',
      approve: 'bottle approve impl-1 --dir /specs',
      reject: 'bottle reject impl-1 --reason "..." --dir /specs',
      createdAt: '2025-06-01T11:30:00.000Z',
    })
  })

  it('a draft: the refusal counts instead of a reason; a folder with spaces is quoted', () => {
    const notice = proposalNotice(draft, 'proposals/impl-denied-1.yaml', '/my specs')
    expect(notice).toMatchObject({ source: 'denial', denials: { count: 3, samplePaths: ['/v1/'] }, approve: "bottle approve impl-denied-1 --dir '/my specs'" })
    expect(notice.reason).toBeUndefined()
  })
})

describe('ProposalNotifier: delivery with retries, failures only logged', () => {
  it('posts the JSON document once to a working webhook', async () => {
    const hook = await webhook([204])
    const logs = captureLog()
    const notifier = new ProposalNotifier({ log: logs.log })
    const outcome = await notifier.deliver(proposalNotice(draft, 'proposals/impl-denied-1.yaml', '/specs'), hook.url)
    expect(outcome).toEqual({ delivered: true, attempts: 1, status: 204 })
    expect(hook.bodies).toEqual([expect.objectContaining({ proposal: 'impl-denied-1', host: 'docs.example.com', approve: 'bottle approve impl-denied-1 --dir /specs' })])
    expect(hook.headers[0]?.['content-type']).toBe('application/json')
  })

  it('retries 5xx and 429 with backoff until the webhook answers 2xx', async () => {
    const hook = await webhook([500, 429, 503, 200])
    const notifier = new ProposalNotifier({ log: captureLog().log, baseDelayMs: 5, retries: 4 })
    const started = Date.now()
    expect(await notifier.deliver(proposalNotice(draft, 'f', '/d'), hook.url)).toEqual({ delivered: true, attempts: 4, status: 200 })
    // 5 + 10 + 20 ms of backoff at least
    expect(Date.now() - started).toBeGreaterThanOrEqual(35)
    expect(hook.bodies).toHaveLength(4)
  })

  it('a webhook that keeps failing: gives up after the retries, logs the host only, never throws', async () => {
    const hook = await webhook([502])
    const logs = captureLog()
    const notifier = new ProposalNotifier({ log: logs.log, baseDelayMs: 1, retries: 2 })
    expect(await notifier.deliver(proposalNotice(draft, 'f', '/d'), hook.url)).toEqual({ delivered: false, attempts: 3, error: 'HTTP 502' })
    expect(hook.bodies).toHaveLength(3)
    const failed = logs.lines.filter((l) => l.includes('proposal.notify-failed'))
    expect(failed).toHaveLength(1)
    expect(logs.text()).not.toContain('SECRETPART')
    expect(logs.text()).toContain(new URL(hook.url).host)
  })

  it('a 4xx other than 429 is final', async () => {
    const hook = await webhook([404])
    const notifier = new ProposalNotifier({ log: captureLog().log, baseDelayMs: 1 })
    expect(await notifier.deliver(proposalNotice(draft, 'f', '/d'), hook.url)).toEqual({ delivered: false, attempts: 1, error: 'HTTP 404' })
  })

  it('a webhook nobody listens on: a connection error code, retried, then logged', async () => {
    const hook = await webhook([200])
    await new Promise((r) => hook.server.close(r))
    servers.splice(servers.indexOf(hook.server), 1)
    const logs = captureLog()
    const notifier = new ProposalNotifier({ log: logs.log, baseDelayMs: 1, retries: 1 })
    expect(await notifier.deliver(proposalNotice(draft, 'f', '/d'), hook.url)).toEqual({ delivered: false, attempts: 2, error: 'ECONNREFUSED' })
    expect(logs.text()).not.toContain('SECRETPART')
  })

  it('notify() posts to each URL once and idle() waits for the deliveries', async () => {
    const a = await webhook([200])
    const b = await webhook([200])
    const notifier = new ProposalNotifier({ log: captureLog().log })
    notifier.notify(proposalNotice(draft, 'f', '/d'), [a.url, b.url, a.url])
    await notifier.idle()
    expect([a.bodies.length, b.bodies.length]).toEqual([1, 1])
  })
})

describe('where a proposal is posted', () => {
  it("the controller's webhooks, then its Bottle's notify.url", () => {
    const tree = { bottles: new Map([['dev', { spec: { notify: { url: 'https://hooks.example.com/b' } } }]]) } as unknown as Parameters<typeof notifyUrls>[1]
    expect(notifyUrls(draft, tree, ['https://ops.example.com/a'])).toEqual(['https://ops.example.com/a', 'https://hooks.example.com/b'])
    expect(notifyUrls({ ...draft, spec: { ...draft.spec, bottle: 'other' } }, tree, [])).toEqual([])
  })

  it.each([
    ['https://hooks.example.com/x', undefined],
    ['ftp://hooks.example.com/x', 'must be http:// or https://, not ftp:'],
    ['https://user:pw@hooks.example.com/x', 'must not carry user:password'],
    ['not a url', 'is not a URL'],
  ])('webhookUrlProblem(%s)', (url, want) => {
    expect(webhookUrlProblem(url)).toBe(want)
  })
})
