import { readFile } from 'node:fs/promises'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { parseNoRouteDenial } from '../../../../controller/proposals/denial-line.js'
import { DEFAULT_DENIAL_SETTINGS, denialSettings, DenialWindow, type DenialSettings } from '../../../../controller/proposals/denial-window.js'
import { DraftIntake } from '../../../../controller/proposals/draft-intake.js'
import { decideDraft, expiredDrafts, nextDraftName, type DraftContext } from '../../../../controller/proposals/draft-proposals.js'
import { readProposals, renderProposalFile, type ProposalFile } from '../../../../controller/proposals/proposal-files.js'
import { approveProposal } from '../../../../controller/proposals/decide-proposal.js'
import type { Proposal } from '../../../../controller/spec/generated/spec-types.js'
import { loadSpecTree, type ResolvedAgent } from '../../../../controller/spec/load-spec-tree.js'
import { captureLog } from '../../../helpers/log-capture.js'
import type { TempFolder } from '../../../helpers/temp-folder.js'
import { AGENT, BOTTLE, proposal, resolvedAgent, specFolder } from './support/spec-folder.js'

const T0 = Date.parse('2025-06-01T12:00:00.000Z')
const MINUTE = 60_000

/** One line as the egress proxy writes it (sidecars/egress/event-log.ts). */
function egressLine(fields: Record<string, unknown>): string {
  return JSON.stringify({ level: 40, time: T0, component: 'egress', pid: 7, msg: 'request denied', ...fields })
}

describe('parseNoRouteDenial: what a bundle log line says about a refusal', () => {
  const cases: { name: string; line: string; want: ReturnType<typeof parseNoRouteDenial> }[] = [
    { name: 'a refused plain request: host and path', line: egressLine({ event: 'request.denied', rule: 'no-route', host: 'Docs.Example.com.', path: '/v1/index' }), want: { host: 'docs.example.com', path: '/v1/index', at: T0 } },
    { name: 'a refused CONNECT: host only', line: egressLine({ event: 'tunnel.denied', rule: 'no-route', host: 'api.example.com', port: 443 }), want: { host: 'api.example.com', at: T0 } },
    // the proxy logs the path without its query; a query that slips through is cut anyway
    { name: 'a query string never survives', line: egressLine({ event: 'request.denied', rule: 'no-route', host: 'a.example.com', path: '/x?token=abc#f' }), want: { host: 'a.example.com', path: '/x', at: T0 } },
    { name: 'another rule is not a no-route refusal', line: egressLine({ event: 'request.denied', rule: 'dlp', host: 'a.example.com' }), want: undefined },
    { name: 'an allowed request', line: egressLine({ event: 'request.allowed', host: 'a.example.com', rule: 'no-route' }), want: undefined },
    { name: 'another daemon', line: egressLine({ component: 'git-gate', event: 'request.denied', rule: 'no-route', host: 'a.example.com' }), want: undefined },
    { name: 'not JSON', line: 'no-route a.example.com', want: undefined },
    { name: 'a huge line', line: egressLine({ event: 'request.denied', rule: 'no-route', host: 'a.example.com', path: `/${'a'.repeat(20_000)}` }), want: undefined },
    { name: 'a long path is dropped, the refusal kept', line: egressLine({ event: 'request.denied', rule: 'no-route', host: 'a.example.com', path: `/${'a'.repeat(300)}` }), want: { host: 'a.example.com', at: T0 } },
  ]
  it.each(cases)('$name', ({ line, want }) => {
    expect(parseNoRouteDenial(line, T0 + 5)).toEqual(want)
  })

  it('a line without a time is dated when it was read', () => {
    expect(parseNoRouteDenial(JSON.stringify({ component: 'egress', event: 'tunnel.denied', rule: 'no-route', host: 'a.example.com' }), 42)?.at).toBe(42)
  })
})

describe('denialSettings: per Bottle, on by default', () => {
  const cases: { name: string; egress: Record<string, unknown> | undefined; want: DenialSettings }[] = [
    { name: 'no egress section', egress: undefined, want: DEFAULT_DENIAL_SETTINGS },
    { name: 'off', egress: { proposeOnDenial: false }, want: { ...DEFAULT_DENIAL_SETTINGS, enabled: false } },
    { name: 'a window of its own', egress: { denialWindow: { refusals: 5, within: '1h' } }, want: { enabled: true, refusals: 5, withinMs: 60 * MINUTE } },
  ]
  it.each(cases)('$name', ({ egress, want }) => {
    expect(denialSettings({ egress } as Parameters<typeof denialSettings>[0])).toEqual(want)
  })
})

describe('DenialWindow: refusals counted per agent and host, bounded', () => {
  const settings: DenialSettings = { enabled: true, refusals: 3, withinMs: 10 * MINUTE }
  const deny = (w: DenialWindow, host: string, at: number, path?: string, agent = 'impl') => w.record(agent, { host, at, ...(path ? { path } : {}) })

  it('is due after `refusals` refusals within the window, not before', () => {
    const w = new DenialWindow(() => settings)
    deny(w, 'a.example.com', T0)
    deny(w, 'a.example.com', T0 + MINUTE)
    expect(w.isDue('impl', 'a.example.com', T0 + MINUTE)).toBe(false)
    deny(w, 'a.example.com', T0 + 2 * MINUTE)
    expect(w.isDue('impl', 'a.example.com', T0 + 2 * MINUTE)).toBe(true)
    expect(w.pending('impl')).toEqual([{ host: 'a.example.com', count: 3, firstSeen: T0, lastSeen: T0 + 2 * MINUTE, samplePaths: [] }])
  })

  it('refusals spread wider than the window are not due', () => {
    const w = new DenialWindow(() => settings)
    for (const minutes of [0, 6, 12]) deny(w, 'a.example.com', T0 + minutes * MINUTE)
    expect(w.isDue('impl', 'a.example.com', T0 + 12 * MINUTE)).toBe(false)
    // a fourth inside the window of the last two makes three within ten minutes
    deny(w, 'a.example.com', T0 + 13 * MINUTE)
    expect(w.isDue('impl', 'a.example.com', T0 + 13 * MINUTE)).toBe(true)
  })

  it('a due host goes stale once its last refusal leaves the window, and prune forgets it', () => {
    const w = new DenialWindow(() => settings)
    for (let i = 0; i < 3; i++) deny(w, 'a.example.com', T0 + i)
    expect(w.isDue('impl', 'a.example.com', T0 + 11 * MINUTE)).toBe(false)
    w.prune(T0 + 11 * MINUTE)
    expect(w.agents()).toEqual([])
  })

  it('keeps at most a few distinct sample paths and at most hostsPerAgent hosts, forgetting the least recent', () => {
    const w = new DenialWindow(() => settings, { hostsPerAgent: 2, samplePaths: 2 })
    for (const path of ['/a', '/a', '/b', '/c']) deny(w, 'x.example.com', T0, path)
    expect(w.pending('impl')[0]?.samplePaths).toEqual(['/a', '/b'])
    deny(w, 'y.example.com', T0 + 1)
    deny(w, 'x.example.com', T0 + 2)
    deny(w, 'z.example.com', T0 + 3)
    expect(w.pending('impl').map((h) => h.host).sort()).toEqual(['x.example.com', 'z.example.com'])
  })

  it('records nothing for an agent whose Bottle turned drafts off, or that it does not know', () => {
    const w = new DenialWindow((agent) => (agent === 'impl' ? { ...settings, enabled: false } : undefined))
    deny(w, 'a.example.com', T0)
    deny(w, 'a.example.com', T0, undefined, 'ghost')
    expect(w.agents()).toEqual([])
  })
})

describe('decideDraft: a draft is held to the rules of an agent proposal', () => {
  let specs: TempFolder
  let agent: ResolvedAgent
  beforeEach(async () => {
    specs = await specFolder()
    agent = await resolvedAgent(specs)
  })
  afterEach(async () => specs.dispose())

  const now = new Date(T0 + MINUTE)
  const denials = (host: string, samplePaths: string[] = []) => ({ host, count: 3, firstSeen: T0, lastSeen: T0 + 30_000, samplePaths })
  const context = (overrides: Partial<DraftContext> = {}): DraftContext => ({
    agent,
    proposals: new Map(),
    limits: { maxPending: 5, maxPerHour: 10 },
    now,
    looksSecret: () => false,
    due: true,
    ...overrides,
  })
  const files = (...proposals: Proposal[]) => new Map<string, ProposalFile>(proposals.map((p) => [p.metadata.name, { path: `proposals/${p.metadata.name}.yaml`, proposal: p }]))

  it('a due host becomes a Pending draft for the host only, with counts, times and clean sample paths', () => {
    const decision = decideDraft(denials('docs.example.com', ['/v1/index', '/a/../b']), context())
    expect(decision).toEqual({
      kind: 'create',
      proposal: {
        apiVersion: 'bottle.dev/v1alpha1',
        kind: 'Proposal',
        metadata: { name: 'impl-denied-1', creationTimestamp: now.toISOString() },
        spec: {
          agent: 'impl',
          bottle: 'dev',
          route: { host: 'docs.example.com' },
          reason: expect.stringContaining('refused docs.example.com (no route) 3 times between 2025-06-01T12:00:00.000Z and 2025-06-01T12:00:30.000Z'),
          source: 'denial',
          // the non-canonical sample is dropped
          denials: { count: 3, firstSeen: '2025-06-01T12:00:00.000Z', lastSeen: '2025-06-01T12:00:30.000Z', samplePaths: ['/v1/index'] },
        },
        status: { phase: 'Pending' },
      },
    })
  })

  it('below the threshold it waits', () => {
    expect(decideDraft(denials('docs.example.com'), context({ due: false }))).toEqual({ kind: 'wait' })
  })

  const refused: { name: string; host: string; code: string }[] = [
    { name: 'a private name', host: 'db.internal', code: 'rule' },
    { name: 'a bare top-level domain', host: 'localhost', code: 'rule' },
    { name: 'an IP literal', host: '10.0.0.7', code: 'rule' },
    { name: 'a name with characters no DNS name has', host: 'under_score.example.com', code: 'rule' },
  ]
  it.each(refused)('never drafts $name', ({ host, code }) => {
    expect(decideDraft(denials(host), context())).toMatchObject({ kind: 'refuse', code })
  })

  it('never drafts a host the secret scan objects to, and drops sample paths it objects to', () => {
    expect(decideDraft(denials('a.example.com'), context({ looksSecret: (_t, where) => where === 'host' }))).toMatchObject({ kind: 'refuse', code: 'secret-shaped' })
    const decision = decideDraft(denials('a.example.com', ['/ok', '/leak']), context({ looksSecret: (t) => t === '/leak' }))
    expect(decision.kind === 'create' && decision.proposal.spec.denials?.samplePaths).toEqual(['/ok'])
  })

  it('drops what the Bottle allows by now, and what the agent itself proposed', () => {
    expect(decideDraft(denials('registry.npmjs.org'), context())).toEqual({ kind: 'drop', why: 'already-allowed' })
    expect(decideDraft(denials('a.cdn.example.net'), context())).toEqual({ kind: 'drop', why: 'already-allowed' })
    expect(decideDraft(denials('docs.example.com'), context({ proposals: files(proposal('impl-1', 'docs.example.com')) }))).toEqual({ kind: 'drop', why: 'already-proposed' })
  })

  it('the agent rate limits count drafts and its own proposals alike', () => {
    const waiting = files(proposal('impl-1', 'a.example.com'), proposal('impl-2', 'b.example.com'))
    expect(decideDraft(denials('docs.example.com'), context({ proposals: waiting, limits: { maxPending: 2, maxPerHour: 10 } }))).toMatchObject({ kind: 'refuse', code: 'rate-limited' })
  })

  it('adds new refusals to the draft already waiting, even below the threshold', () => {
    const first = decideDraft(denials('docs.example.com', ['/a']), context())
    if (first.kind !== 'create') throw new Error('expected a draft')
    const next = decideDraft({ host: 'docs.example.com', count: 1, firstSeen: T0 + 5 * MINUTE, lastSeen: T0 + 5 * MINUTE, samplePaths: ['/b'] }, context({ due: false, proposals: files(first.proposal) }))
    expect(next).toMatchObject({
      kind: 'update',
      file: 'proposals/impl-denied-1.yaml',
      proposal: { spec: { denials: { count: 4, firstSeen: '2025-06-01T12:00:00.000Z', lastSeen: '2025-06-01T12:05:00.000Z', samplePaths: ['/a', '/b'] }, reason: expect.stringContaining('4 times') } },
    })
  })

  it('names drafts apart from the agent numbering, and within the CRD name pattern for long agent names', () => {
    expect(nextDraftName('impl', ['impl-1', 'impl-7', 'impl-denied-2', 'other-denied-9'])).toBe('impl-denied-3')
    expect(nextDraftName('a'.repeat(53), [])).toMatch(/^[a-z][a-z0-9-]{0,52}-[0-9]{1,9}$/)
  })
})

describe('expiredDrafts: a Pending draft nobody needed for a day goes', () => {
  const draft = (name: string, lastSeen: string, phase: 'Pending' | 'Approved' = 'Pending'): ProposalFile => ({
    path: `proposals/${name}.yaml`,
    proposal: { ...proposal(name, 'a.example.com', { phase }), spec: { ...proposal(name, 'a.example.com').spec, source: 'denial', denials: { count: 3, firstSeen: lastSeen, lastSeen } } },
  })
  it('only Pending drafts whose last refusal is older than a day', () => {
    const now = new Date('2025-06-02T12:00:00.000Z')
    const all = new Map<string, ProposalFile>([
      ['impl-denied-1', draft('impl-denied-1', '2025-06-01T11:59:59.000Z')],
      ['impl-denied-2', draft('impl-denied-2', '2025-06-01T12:00:01.000Z')],
      ['impl-denied-3', draft('impl-denied-3', '2025-05-01T00:00:00.000Z', 'Approved')],
      ['impl-1', { path: 'proposals/impl-1.yaml', proposal: proposal('impl-1', 'b.example.com', { createdAt: '2025-05-01T00:00:00.000Z' }) }],
    ])
    expect(expiredDrafts(all, now).map((f) => f.proposal.metadata.name)).toEqual(['impl-denied-1'])
  })
})

describe('DraftIntake: refusals to files, and approve makes the same edit as for an agent proposal', () => {
  let specs: TempFolder
  beforeEach(async () => {
    specs = await specFolder({ 'bottles/dev.yaml': BOTTLE, 'agents/impl.yaml': AGENT })
  })
  afterEach(async () => specs.dispose())

  it('writes one draft per host, updates it with later refusals, then approve adds the host route', async () => {
    const tree = await loadSpecTree(specs.path)
    const logs = captureLog()
    let clock = T0
    const window = new DenialWindow((a) => (tree.agents.has(a) ? denialSettings(tree.agents.get(a)!.bottle.spec) : undefined))
    const filed: string[] = []
    const intake = new DraftIntake({ specRoot: specs.path, window, log: logs.log, now: () => new Date(clock), onFiled: (p, file) => filed.push(`${p.metadata.name} ${file}`) })
    for (let i = 0; i < 3; i++) window.record('impl', { host: 'docs.example.com', path: '/secret-less/path', at: T0 + i * 1000 })
    window.record('impl', { host: 'once.example.com', at: T0 })
    clock = T0 + 5000
    expect(await intake.sync(tree.agents)).toEqual({ filed: ['impl-denied-1'], updated: [], expired: [] })
    expect(filed).toEqual(['impl-denied-1 proposals/impl-denied-1.yaml'])
    const text = await specs.read('proposals/impl-denied-1.yaml')
    expect(text).toContain('source: denial')
    expect(text).toContain('bottle approve impl-denied-1')

    window.record('impl', { host: 'docs.example.com', path: '/other', at: T0 + 9000 })
    clock = T0 + 10_000
    expect(await intake.sync(tree.agents)).toEqual({ filed: [], updated: ['impl-denied-1'], expired: [] })
    const updated = (await readProposals(specs.path)).get('impl-denied-1')?.proposal
    expect(updated?.spec.denials).toEqual({ count: 4, firstSeen: '2025-06-01T12:00:00.000Z', lastSeen: '2025-06-01T12:00:09.000Z', samplePaths: ['/secret-less/path', '/other'] })
    // The header comment of the file the controller wrote survives the update.
    expect(await specs.read('proposals/impl-denied-1.yaml')).toMatch(/^# Draft: agent impl was refused this host repeatedly \(Bottle dev\); it did not ask\.\n/)

    const approved = await approveProposal({ dir: specs.path, id: 'impl-denied-1', now: () => new Date(clock) })
    expect(approved.diff).toContain('+      - host: docs.example.com\n')
    expect(approved.route).toEqual({ host: 'docs.example.com' })
    expect(logs.text()).not.toContain('/secret-less/path')
  })

  it('removes an expired draft, and a host that can never be drafted is logged once, by code', async () => {
    const tree = await loadSpecTree(specs.path)
    const old: Proposal = { ...proposal('impl-denied-4', 'old.example.com'), spec: { ...proposal('impl-denied-4', 'old.example.com').spec, source: 'denial', denials: { count: 3, firstSeen: '2025-05-01T00:00:00.000Z', lastSeen: '2025-05-01T00:00:00.000Z' } } }
    await specs.write('proposals/impl-denied-4.yaml', renderProposalFile(old))
    const logs = captureLog()
    const window = new DenialWindow(() => DEFAULT_DENIAL_SETTINGS)
    const intake = new DraftIntake({ specRoot: specs.path, window, log: logs.log, now: () => new Date(T0 + 5000) })
    for (let i = 0; i < 3; i++) window.record('impl', { host: 'db.internal', at: T0 + i })
    expect(await intake.sync(tree.agents)).toEqual({ filed: [], updated: [], expired: ['impl-denied-4'] })
    await expect(readFile(specs.join('proposals/impl-denied-4.yaml'))).rejects.toThrow()
    for (let i = 0; i < 3; i++) window.record('impl', { host: 'db.internal', at: T0 + 10 + i })
    await intake.sync(tree.agents)
    const refusals = logs.lines.filter((l) => l.includes('proposal.draft-refused'))
    expect(refusals).toHaveLength(1)
    expect(refusals[0]).toContain('"code":"rule"')
  })
})
