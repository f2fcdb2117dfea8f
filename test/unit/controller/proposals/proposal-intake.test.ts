import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { agentLayout } from '../../../../controller/plan/agent-layout.js'
import { ProposalIntake } from '../../../../controller/proposals/proposal-intake.js'
import { withStatus } from '../../../../controller/proposals/proposal-files.js'
import { loadSpecTree, type ResolvedAgent } from '../../../../controller/spec/load-spec-tree.js'
import { parseDecisions, type Decisions } from '../../../../sidecars/supervise/supervise-config.js'
import { captureLog } from '../../../helpers/log-capture.js'
import { TempFolder } from '../../../helpers/temp-folder.js'
import { AGENT, BOTTLE, specFolder } from './support/spec-folder.js'

const NOW = new Date('2025-06-01T12:00:00.000Z')
let specs: TempFolder
let state: TempFolder
let logs: ReturnType<typeof captureLog>
let intake: ProposalIntake

beforeEach(async () => {
  specs = await specFolder({
    'bottles/dev.yaml': BOTTLE,
    'agents/impl.yaml': AGENT,
    'bottles/plain.yaml': 'apiVersion: bottle.dev/v1alpha1\nkind: Bottle\nmetadata: {name: plain}\nspec: {}\n',
    'agents/quiet.yaml': 'apiVersion: bottle.dev/v1alpha1\nkind: Agent\nmetadata: {name: quiet}\nspec: {bottle: plain}\n',
  })
  state = await TempFolder.create('bottle-intake-state-')
  logs = captureLog()
  intake = new ProposalIntake({ specRoot: specs.path, stateDir: state.path, log: logs.log, limits: { maxPending: 3, maxPerHour: 10 }, now: () => NOW })
})

afterEach(async () => {
  await specs.dispose()
  await state.dispose()
})

async function agents(): Promise<ResolvedAgent[]> {
  return [...(await loadSpecTree(specs.path)).agents.values()]
}

function requestsDir(agent = 'impl'): string {
  return join(agentLayout(state.path, agent).sidecarsState, 'supervise', 'requests')
}

async function leaveRequest(id: string, route: Record<string, unknown>, agent = 'impl', reason = 'the build needs it'): Promise<void> {
  await mkdir(requestsDir(agent), { recursive: true })
  await writeFile(join(requestsDir(agent), `${id}.json`), JSON.stringify({ version: 1, id, agent, route, reason, requestedAt: '2025-06-01T11:59:00.000Z' }))
}

async function decisions(agent = 'impl'): Promise<Decisions> {
  const parsed = parseDecisions(await readFile(join(agentLayout(state.path, agent).sidecarsConfig, 'supervise', 'decisions.json'), 'utf8'))
  if (!parsed.ok) throw new Error(parsed.error)
  return parsed.value
}

describe('ProposalIntake.sync', () => {
  it('files a request as a Proposal the loader accepts, answers it, and removes the request', async () => {
    await leaveRequest('impl-1', { host: 'docs.example.com', paths: ['/v1/'] })
    const report = await intake.sync(await agents())
    expect(report).toEqual({ filed: ['impl-1'], refused: [] })

    const tree = await loadSpecTree(specs.path)
    expect(tree.errors).toEqual([])
    const loaded = tree.proposals.get('impl-1')
    expect(loaded?.file).toBe('proposals/impl-1.yaml')
    expect(loaded?.value.spec).toEqual({ agent: 'impl', bottle: 'dev', route: { host: 'docs.example.com', paths: ['/v1/'] }, reason: 'the build needs it' })
    expect(loaded?.value.status).toEqual({ phase: 'Pending' })
    expect(await specs.read('proposals/impl-1.yaml')).toMatch(/^# Agent impl asks for a new egress route in Bottle dev\.\n# Approve .*bottle approve impl-1\n/)

    expect(await decisions()).toEqual({ version: 1, nextNumber: 2, proposals: { 'impl-1': { phase: 'Pending', host: 'docs.example.com', paths: ['/v1/'] } } })
    expect(await readdir(requestsDir())).toEqual([])
    expect(logs.text()).toMatch(/"event":"proposal.filed","agent":"impl","proposal":"impl-1","host":"docs.example.com"/)
  })

  it('answers a refusal through decisions.json, writes no Proposal, and logs the code only', async () => {
    await leaveRequest('impl-1', { host: 'registry.npmjs.org' }, 'impl', 'marker-reason')
    await leaveRequest('impl-2', { host: '10.0.0.1' })
    const report = await intake.sync(await agents())
    expect(report).toEqual({ filed: [], refused: ['impl-1', 'impl-2'] })
    const answer = await decisions()
    expect(answer.nextNumber).toBe(3)
    expect(answer.proposals['impl-1']).toMatchObject({ phase: 'Rejected', refused: true, host: 'registry.npmjs.org', message: expect.stringMatching(/^refused by the controller: registry\.npmjs\.org is already allowed/) })
    expect(answer.proposals['impl-2']).toMatchObject({ phase: 'Rejected', refused: true, message: expect.stringMatching(/IP literal/) })
    expect(await specs.readOptional('proposals/impl-1.yaml')).toBeUndefined()
    expect(logs.text()).toMatch(/"event":"proposal.refused","agent":"impl","proposal":"impl-1","code":"already-allowed"/)
    expect(logs.text()).not.toContain('marker-reason')

    // Refusals are remembered across passes (they have no Proposal file).
    await intake.sync(await agents())
    expect(Object.keys((await decisions()).proposals)).toEqual(['impl-1', 'impl-2'])
  })

  it("reflects a human's decision in the Proposal file into decisions.json", async () => {
    await leaveRequest('impl-1', { host: 'docs.example.com' })
    await intake.sync(await agents())
    const text = await specs.read('proposals/impl-1.yaml')
    await specs.write('proposals/impl-1.yaml', withStatus(text, { phase: 'Rejected', message: 'use the mirror', decidedAt: '2025-06-01T12:05:00.000Z' }))
    await intake.sync(await agents())
    expect((await decisions()).proposals['impl-1']).toEqual({ phase: 'Rejected', host: 'docs.example.com', message: 'use the mirror', decidedAt: '2025-06-01T12:05:00.000Z' })
  })

  it('enforces the pending limit across passes', async () => {
    for (const [i, host] of ['a', 'b', 'c', 'd'].entries()) await leaveRequest(`impl-${i + 1}`, { host: `${host}.example.com` })
    const report = await intake.sync(await agents())
    expect(report).toEqual({ filed: ['impl-1', 'impl-2', 'impl-3'], refused: ['impl-4'] })
    expect((await decisions()).proposals['impl-4']?.message).toMatch(/3 proposals are already waiting/)
  })

  it('recognises a request whose Proposal was written before a crash, and files no duplicate', async () => {
    await leaveRequest('impl-1', { host: 'docs.example.com' })
    await intake.sync(await agents())
    await leaveRequest('impl-1', { host: 'docs.example.com' })
    expect(await intake.sync(await agents())).toEqual({ filed: [], refused: [] })
    expect(await readdir(requestsDir())).toEqual([])
    expect((await readdir(specs.join('proposals'))).sort()).toEqual(['impl-1.yaml'])
  })

  it('gives the daemon a floor above every number used, even after its requests are gone', async () => {
    await specs.write('proposals/impl-7.yaml', (await import('../../../../controller/proposals/proposal-files.js')).renderProposalFile({
      apiVersion: 'bottle.dev/v1alpha1',
      kind: 'Proposal',
      metadata: { name: 'impl-7', creationTimestamp: '2025-05-01T00:00:00.000Z' },
      spec: { agent: 'impl', bottle: 'dev', route: { host: 'old.example.com' }, reason: 'earlier' },
      status: { phase: 'Approved' },
    }))
    await intake.sync(await agents())
    expect((await decisions()).nextNumber).toBe(8)
  })

  it('leaves agents without supervise alone and survives junk in the requests folder', async () => {
    await leaveRequest('quiet-1', { host: 'docs.example.com' }, 'quiet')
    await mkdir(requestsDir(), { recursive: true })
    await writeFile(join(requestsDir(), 'not-an-id!.json'), '{}')
    await writeFile(join(requestsDir(), 'impl-1.json'), 'garbage')
    await writeFile(join(requestsDir(), '.impl-2.json.123.tmp'), 'half written')
    const report = await intake.sync(await agents())
    expect(report).toEqual({ filed: [], refused: ['impl-1'] })
    expect(await readdir(requestsDir('quiet'))).toEqual(['quiet-1.json'])
    expect((await readdir(requestsDir())).sort()).toEqual(['.impl-2.json.123.tmp'])
    expect((await decisions()).proposals['impl-1']?.message).toMatch(/malformed: invalid JSON/)
  })

  it('runs passes one at a time', async () => {
    await leaveRequest('impl-1', { host: 'docs.example.com' })
    const list = await agents()
    const [a, b] = await Promise.all([intake.sync(list), intake.sync(list)])
    expect([...a.filed, ...b.filed]).toEqual(['impl-1'])
  })
})
