import { describe, expect, it } from 'vitest'
import { initialModel, reduceKey, screenLines, selectedAgent, type Key, type Model, type PendingProposal } from '../../../../../controller/cli/dashboard/dashboard-model.js'
import type { FeedLine } from '../../../../../controller/cli/dashboard/decision-feed.js'

const T = Date.parse('2025-06-01T12:00:00.000Z')

function model(overrides: Partial<Model> = {}): Model {
  const impl: FeedLine[] = [
    { at: T, daemon: 'egress', outcome: 'allowed', subject: 'GET registry.npmjs.org/left-pad 200' },
    { at: T + 1000, daemon: 'egress', outcome: 'refused', rule: 'no-route', subject: 'CONNECT docs.origin.test', host: 'docs.origin.test' },
    { at: T + 2000, daemon: 'git-gate', outcome: 'refused', rule: 'aws-access-key', subject: 'push origin main at src/keys.ts:3' },
  ]
  const draft: PendingProposal = {
    name: 'impl-denied-1',
    agent: 'impl',
    host: 'docs.origin.test',
    source: 'denial',
    summary: 'refused 3x',
    preview: { diff: '--- a/bottles/dev.yaml\n+++ b/bottles/dev.yaml\n@@ -6,2 +6,3 @@\n   routes:\n     - host: registry.npmjs.org\n+      - host: docs.origin.test\n' },
  }
  return {
    ...initialModel('specs'),
    agents: [
      { name: 'impl', bottle: 'dev', runtime: 'docker', phase: 'Running', ready: 'True', age: '5m' },
      { name: 'reviewer', bottle: 'dev', runtime: 'docker', phase: 'Running', ready: 'True', age: '4m' },
    ],
    proposals: [draft, { ...draft, name: 'reviewer-1', agent: 'reviewer', host: 'api.example.com', source: 'agent', summary: 'the build needs it', preview: { error: 'Bottle dev already allows api.example.com' } }],
    feeds: new Map([['impl', impl]]),
    ...overrides,
  }
}

/** Presses keys in order; returns the last model and every effect asked for. */
function press(start: Model, ...keys: (string | Key)[]): { model: Model; effects: unknown[] } {
  let m = start
  const effects: unknown[] = []
  for (const k of keys) {
    const step = reduceKey(m, typeof k === 'string' ? { input: k } : k)
    m = step.model
    if (step.effect) effects.push(step.effect)
  }
  return { model: m, effects }
}

describe('keys', () => {
  const cases: { name: string; keys: (string | Key)[]; effects: unknown[]; check?: (m: Model) => void }[] = [
    { name: 'q quits', keys: ['q'], effects: [{ kind: 'quit' }] },
    { name: 'ctrl-c quits', keys: [{ input: 'c', ctrl: true }], effects: [{ kind: 'quit' }] },
    { name: 'a approves the first pending proposal', keys: ['a'], effects: [{ kind: 'approve', proposal: 'impl-denied-1' }], check: (m) => expect(m.busy).toBe('approve impl-denied-1') },
    { name: 'a second a while one runs waits', keys: ['a', 'a'], effects: [{ kind: 'approve', proposal: 'impl-denied-1' }], check: (m) => expect(m.message?.tone).toBe('error') },
    { name: 'tab, down, a approves the selected proposal', keys: [{ input: '', tab: true }, { input: '', downArrow: true }, 'a'], effects: [{ kind: 'approve', proposal: 'reviewer-1' }] },
    { name: 'r asks a reason, enter rejects with it', keys: ['r', 'n', 'o', ' ', 'n', 'e', 'e', 'd', { input: '', return: true }], effects: [{ kind: 'reject', proposal: 'impl-denied-1', reason: 'no need' }] },
    { name: 'r then enter with no reason does not reject', keys: ['r', { input: '', return: true }], effects: [], check: (m) => expect(m.prompt?.kind).toBe('reject') },
    { name: 'r then esc cancels', keys: ['r', 'x', { input: '', escape: true }], effects: [], check: (m) => expect(m.prompt).toBeUndefined() },
    { name: 'q while typing a reason is text, not quit', keys: ['r', 'q'], effects: [], check: (m) => expect(m.prompt).toEqual({ kind: 'reject', proposal: 'impl-denied-1', text: 'q' }) },
    { name: 'enter attaches to the selected agent', keys: [{ input: '', downArrow: true }, { input: '', return: true }], effects: [{ kind: 'attach', agent: 'reviewer' }] },
    { name: 'j and k move too', keys: ['j', 'j', 'k'], effects: [], check: (m) => expect(selectedAgent(m)?.name).toBe('impl') },
    { name: 'd describes the agent, or the proposal when proposals have focus', keys: ['d', { input: '', tab: true }, 'd'], effects: [{ kind: 'describe', what: 'agent', name: 'impl' }, { kind: 'describe', what: 'proposal', name: 'impl-denied-1' }] },
    { name: '/ filters as it is typed; enter keeps it', keys: ['/', 'r', 'e', 'v', { input: '', return: true }], effects: [], check: (m) => expect([m.filter, selectedAgent(m)?.name]).toEqual(['rev', 'reviewer']) },
    { name: 'keys arriving together are read one by one', keys: ['/rev', { input: '', return: true }], effects: [], check: (m) => expect(m.filter).toBe('rev') },
    { name: 'esc clears the filter', keys: ['/', 'x', { input: '', return: true }, { input: '', escape: true }], effects: [], check: (m) => expect(m.filter).toBe('') },
    { name: '? opens help, esc closes it, q inside help only closes', keys: ['?', 'q'], effects: [], check: (m) => expect(m.overlay).toBeUndefined() },
    { name: 'control characters are not typed into a reason', keys: ['r', '\u001b[31m', 'ok', { input: '', return: true }], effects: [{ kind: 'reject', proposal: 'impl-denied-1', reason: 'ok' }] },
  ]
  it.each(cases)('$name', ({ keys, effects, check }) => {
    const result = press(model(), ...keys)
    expect(result.effects).toEqual(effects)
    check?.(result.model)
  })

  it('with nothing pending, a says so instead of approving', () => {
    const result = press(model({ proposals: [] }), 'a')
    expect(result.effects).toEqual([])
    expect(result.model.message).toEqual({ text: 'no pending proposal to decide', tone: 'error' })
  })

  it('a text panel scrolls within its lines', () => {
    const start = model({ overlay: { kind: 'text', title: 'x', lines: ['1', '2', '3'], scroll: 0 } })
    expect(press(start, { input: '', downArrow: true }, { input: '', downArrow: true }, { input: '', downArrow: true }).model.overlay).toMatchObject({ scroll: 2 })
  })
})

describe('screenLines: the layout', () => {
  for (const size of [{ columns: 80, rows: 23 }, { columns: 120, rows: 40 }, { columns: 40, rows: 10 }]) {
    it(`fills ${size.columns}x${size.rows} exactly, no line wider`, () => {
      const lines = screenLines(model(), size)
      expect(lines).toHaveLength(size.rows)
      for (const line of lines) expect(line.text.length).toBeLessThanOrEqual(size.columns)
    })
  }

  it('at 80x24 shows both agents, the last egress decision, the feed, the proposals and the diff', () => {
    const text = screenLines(model(), { columns: 80, rows: 23 }).map((l) => l.text).join('\n')
    expect(text).toMatch(/^>impl +dev +docker +Running +True +5m +refused no-route docs\.origin\.test$/m)
    expect(text).toMatch(/^ reviewer +dev +docker +Running/m)
    expect(text).toContain('── decisions: impl')
    expect(text).toMatch(/egress +allowed .*registry\.npmjs\.org\/left-pad 200/)
    expect(text).toMatch(/git-gate refused +aws-access-key +push origin main/)
    expect(text).toContain('>impl-denied-1  impl  docs.origin.test  draft: refused 3x')
    expect(text).toContain('+      - host: docs.origin.test')
  })

  it('the selected proposal that approve would refuse shows why', () => {
    const { model: m } = press(model(), { input: '', tab: true }, { input: '', downArrow: true })
    expect(screenLines(m, { columns: 80, rows: 23 }).map((l) => l.text)).toContain('  approve would refuse: Bottle dev already allows api.example.com')
  })

  it('marks added and removed diff lines, the focused selection, and prompts in the footer', () => {
    const { model: m } = press(model(), 'r', 'n', 'o')
    const lines = screenLines(m, { columns: 80, rows: 23 })
    expect(lines.find((l) => l.text.includes('+      - host'))?.style).toBe('added')
    expect(lines.find((l) => l.text.startsWith('>impl-denied-1'))?.style).toBe('selected')
    expect(lines.at(-1)?.text).toMatch(/^reject impl-denied-1, reason: no_/)
  })

  it('an empty folder says so', () => {
    const text = screenLines(initialModel('specs'), { columns: 80, rows: 23 }).map((l) => l.text).join('\n')
    expect(text).toContain('no agents in this folder yet')
    expect(text).toContain('none pending')
  })
})
