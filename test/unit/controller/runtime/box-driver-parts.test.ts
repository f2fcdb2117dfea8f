/**
 * The pieces the VM-backed drivers (vm, smolvm) share: their records, one
 * change per Agent at a time, a part's output across boots, and their
 * merged event streams.
 */
import { EventEmitter } from 'node:events'
import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { AgentChanges } from '../../../../controller/runtime/agent-changes.js'
import { DriverError, type ObservedAgent, type ObservedPart, type PartEvent } from '../../../../controller/runtime/driver.js'
import { partOutputLines } from '../../../../controller/runtime/guest-output.js'
import { mergedEvents, PART_EVENT } from '../../../../controller/runtime/merged-events.js'
import { agentFolders, readPartRecord, writePartRecord } from '../../../../controller/runtime/part-records.js'
import { observedBoxAgent } from '../../../../controller/runtime/box-observation.js'

const cleanups: string[] = []
afterEach(async () => {
  for (const dir of cleanups.splice(0)) await rm(dir, { recursive: true, force: true })
})

async function collect(lines: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = []
  for await (const line of lines) out.push(line)
  return out
}

describe('part records', () => {
  it('writes a 0600 record in a 0700 folder, reads it back, and lists only agent-named folders', async () => {
    const root = await mkdtemp(join(tmpdir(), 'bottle-records-'))
    cleanups.push(root)
    const dir = join(root, 'dev')
    await writePartRecord(dir, join(dir, 'part.json'), { id: 'a1', n: 1 })
    await writePartRecord(dir, join(dir, 'part.json'), { id: 'a1', n: 2 })
    expect(await readPartRecord(join(dir, 'part.json'))).toEqual({ id: 'a1', n: 2 })
    expect((await stat(dir)).mode & 0o777).toBe(0o700)
    expect((await stat(join(dir, 'part.json'))).mode & 0o777).toBe(0o600)
    expect(await readdir(dir)).toEqual(['part.json'])
    await writeFile(join(root, 'Not-An-Agent'), '')
    await writePartRecord(join(root, '.hidden'), join(root, '.hidden', 'part.json'), {})
    expect(await agentFolders(root)).toEqual(['dev'])
    expect(await agentFolders(join(root, 'missing'))).toEqual([])
    expect(await readPartRecord(join(root, 'missing.json'))).toBeUndefined()
  })
})

describe('AgentChanges', () => {
  it('runs one change per Agent at a time, changes to different Agents side by side, and counts them', async () => {
    const changes = new AgentChanges('vm')
    const order: string[] = []
    let releaseFirst!: () => void
    const first = changes.run('start-part', 'dev', async () => {
      order.push('dev-1 begins')
      await new Promise<void>((resolve) => (releaseFirst = resolve))
      order.push('dev-1 ends')
    })
    await new Promise((r) => setTimeout(r, 10))
    expect(changes.busy('dev')).toBe(true)
    const second = changes.run('stop-part', 'dev', async () => void order.push('dev-2'))
    const other = changes.run('start-part', 'ops', async () => void order.push('ops'))
    await other
    expect(order).toEqual(['dev-1 begins', 'ops'])
    releaseFirst()
    await Promise.all([first, second])
    expect(order).toEqual(['dev-1 begins', 'ops', 'dev-1 ends', 'dev-2'])
    expect(changes.busy('dev')).toBe(false)
    expect(changes.count).toBe(3)
  })

  it('names the driver and the operation in a failure, and keeps a DriverError as it is', async () => {
    const changes = new AgentChanges('smolvm')
    await expect(changes.run('create-part', 'dev', async () => Promise.reject(new Error('disk full')))).rejects.toThrow('smolvm: create-part dev: disk full')
    const own = new DriverError('smolvm', 'boot', 'dev', 'no network')
    await expect(changes.run('create-part', 'dev', async () => Promise.reject(own))).rejects.toBe(own)
    expect(changes.busy('dev')).toBe(false)
  })
})

describe('partOutputLines', () => {
  it('gives earlier boots, then the running one, holding back a line without its newline; tail counts from the end', async () => {
    const output = { earlier: 'boot one\nboot one ends\n', current: async () => 'boot two\npartial' }
    expect(await collect(partOutputLines(output))).toEqual(['boot one', 'boot one ends', 'boot two'])
    expect(await collect(partOutputLines(output, { tail: 2 }))).toEqual(['boot one ends', 'boot two'])
  })

  it('follows what the running boot adds, and a new boot from its start', async () => {
    const states = ['a\n', 'a\nb', 'a\nbc\n', 'new\n']
    let call = 0
    const abort = new AbortController()
    const seen: string[] = []
    const output = { earlier: '', current: async () => states[Math.min(call++, states.length - 1)]! }
    for await (const line of partOutputLines(output, { follow: true, signal: abort.signal })) {
      seen.push(line)
      if (line === 'new') abort.abort()
    }
    expect(seen).toEqual(['a', 'bc', 'new'])
  })
})

describe('mergedEvents', () => {
  it('yields the driver\'s own events and every source\'s, in arrival order, until aborted; a failing source stops alone', async () => {
    const own = new EventEmitter()
    const abort = new AbortController()
    const event = (agent: string, kind: PartEvent['kind']): PartEvent => ({ agent, part: 'agent', kind, time: 't' })
    const got: string[] = []
    const stream = mergedEvents(abort.signal, own, [
      async (_signal, push) => {
        await new Promise((r) => setTimeout(r, 5))
        push(event('from-source', 'die'))
      },
      async () => Promise.reject(new Error('engine gone')),
    ])
    setTimeout(() => own.emit(PART_EVENT, event('own', 'start')), 20)
    for await (const e of stream) {
      got.push(`${e.agent}:${e.kind}`)
      if (got.length === 2) abort.abort()
    }
    expect(got).toEqual(['from-source:die', 'own:start'])
    expect(own.listenerCount(PART_EVENT)).toBe(0)
  })
})

describe('observedBoxAgent', () => {
  const bundle: ObservedAgent = { agent: 'dev', parts: { sidecars: { id: 's', name: 'n', state: 'running', hash: 'h1', image: 'sidecars:1' } }, infrastructureReady: true, infrastructure: ['net-b', 'net-a'] }
  const box: ObservedPart = { id: 'b', name: 'box', state: 'running', hash: 'h2', image: 'agent:1' }

  it('joins the bundle, the box and the workspace; ready only with both networks and the workspace', () => {
    expect(observedBoxAgent('dev', bundle, box, '/s/dev/workspace')).toEqual({
      agent: 'dev',
      parts: { sidecars: bundle.parts.sidecars, agent: box },
      infrastructureReady: true,
      infrastructure: ['/s/dev/workspace', 'net-a', 'net-b'],
      workspace: '/s/dev/workspace',
    })
    expect(observedBoxAgent('dev', bundle, box, undefined)?.infrastructureReady).toBe(false)
    expect(observedBoxAgent('dev', undefined, undefined, '/s/dev/workspace')).toMatchObject({ parts: {}, infrastructureReady: false })
  })

  it('reports nothing of an Agent with no bundle, no box and no workspace', () => {
    expect(observedBoxAgent('dev', undefined, undefined, undefined)).toBeUndefined()
  })
})
