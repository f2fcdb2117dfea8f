import { createServer, type Server } from 'node:http'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { LogOptions, PartName } from '../../../../controller/runtime/driver.js'
import { FakeDriver } from '../../../../controller/runtime/fake/fake-driver.js'
import { startFakeController } from '../../../helpers/fake-controller.js'
import { TempFolder } from '../../../helpers/temp-folder.js'

/** The fake engine, with bundle logs that stream like `docker logs -f`: lines pushed later reach open streams. */
class StreamingLogsDriver extends FakeDriver {
  readonly #waiting = new Map<string, Array<(line: string) => void>>()

  push(agent: string, line: string): void {
    for (const deliver of this.#waiting.get(agent) ?? []) deliver(line)
  }

  override async *logs(agent: string, part: PartName, options: LogOptions = {}): AsyncIterable<string> {
    if (part !== 'sidecars') return
    const queue: string[] = []
    let wake: (() => void) | undefined
    const deliver = (line: string) => (queue.push(line), wake?.())
    this.#waiting.set(agent, [...(this.#waiting.get(agent) ?? []), deliver])
    try {
      while (!options.signal?.aborted) {
        const line = queue.shift()
        if (line !== undefined) yield line
        else await new Promise<void>((r) => ((wake = r), options.signal?.addEventListener('abort', () => r(), { once: true })))
      }
    } finally {
      this.#waiting.set(agent, (this.#waiting.get(agent) ?? []).filter((d) => d !== deliver))
    }
  }
}

const refusal = (host: string, path: string) =>
  JSON.stringify({ level: 40, time: Date.now(), component: 'egress', event: 'request.denied', rule: 'no-route', reason: `no route allows host ${host}`, method: 'GET', host, path, msg: 'request denied' })

async function eventually<T>(read: () => Promise<T | undefined> | T | undefined, ms = 8000): Promise<T> {
  const deadline = Date.now() + ms
  for (;;) {
    const value = await read()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error('never happened')
    await new Promise((r) => setTimeout(r, 50))
  }
}

describe('the controller drafts proposals from refusals and posts them', () => {
  let specs: TempFolder
  let hook: Server
  let received: Record<string, unknown>[]
  let url: string

  beforeEach(async () => {
    received = []
    hook = createServer((req, res) => {
      let body = ''
      req.on('data', (c: Buffer) => (body += c.toString()))
      req.on('end', () => (received.push(JSON.parse(body) as Record<string, unknown>), res.writeHead(204).end()))
    })
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r))
    url = `http://127.0.0.1:${(hook.address() as { port: number }).port}/hook`
    specs = await TempFolder.create('bottle-drafting-')
    await specs.write('bottles/dev.yaml', `apiVersion: bottle.dev/v1alpha1\nkind: Bottle\nmetadata: {name: dev}\nspec:\n  egress:\n    routes: [{host: registry.npmjs.org}]\n  notify: {url: "${url}"}\n`)
    await specs.write('bottles/quiet.yaml', 'apiVersion: bottle.dev/v1alpha1\nkind: Bottle\nmetadata: {name: quiet}\nspec:\n  egress:\n    routes: [{host: registry.npmjs.org}]\n    proposeOnDenial: false\n')
    await specs.write('agents/impl.yaml', 'apiVersion: bottle.dev/v1alpha1\nkind: Agent\nmetadata: {name: impl}\nspec: {bottle: dev}\n')
    await specs.write('agents/calm.yaml', 'apiVersion: bottle.dev/v1alpha1\nkind: Agent\nmetadata: {name: calm}\nspec: {bottle: quiet}\n')
  })

  afterEach(async () => {
    await new Promise((r) => hook.close(r))
    await specs.dispose()
  })

  it('three refusals of one host become one draft, posted to the Bottle webhook; a Bottle that turned drafts off gets none', async () => {
    const driver = new StreamingLogsDriver()
    const fake = await startFakeController({ specs, driver })
    try {
      // The follower opens its streams on the first proposal pass.
      await new Promise((r) => setTimeout(r, 1200))
      for (const agent of ['impl', 'calm']) for (const path of ['/a', '/b', '/a']) driver.push(agent, refusal('docs.example.com', path))
      const text = await eventually(() => specs.readOptional('proposals/impl-denied-1.yaml'))
      expect(text).toContain('source: denial')
      expect(text).toMatch(/count: 3/)
      const notice = await eventually(() => received[0])
      expect(notice).toMatchObject({ type: 'bottle.proposal', proposal: 'impl-denied-1', source: 'denial', agent: 'impl', host: 'docs.example.com', denials: { count: 3, samplePaths: ['/a', '/b'] } })
      expect(notice.approve).toMatch(/^bottle approve impl-denied-1 --dir /)
      await new Promise((r) => setTimeout(r, 1500))
      expect(await specs.readOptional('proposals/calm-denied-1.yaml')).toBeUndefined()
      expect(fake.logs.text()).toContain('"event":"proposal.drafted"')
    } finally {
      await fake.stop()
    }
  })
})
