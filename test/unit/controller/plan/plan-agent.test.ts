import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import type { DesiredAgent } from '../../../../controller/plan/desired-agent.js'
import type { RenderedFile } from '../../../../controller/plan/rendered-file.js'
import { fileDigest, planAgent, planImpact, type ObservedFiles } from '../../../../controller/plan/plan-agent.js'
import type { ObservedAgent, ObservedPart, PartSpec } from '../../../../controller/runtime/driver.js'

const part = (hash: string): PartSpec => ({ image: `img:${hash}`, env: {}, mounts: [], init: true, hash })
const file = (path: string, content: string, onChange: RenderedFile['onChange'] = 'reload-sidecars'): RenderedFile => ({ path, content, mode: 0o600, secret: false, onChange })

function desired(over: Partial<DesiredAgent> = {}): DesiredAgent {
  return {
    name: 'impl',
    specFile: 'agents/impl.yaml',
    specHash: 'h',
    suspended: false,
    parts: { agent: part('a1'), sidecars: part('s1') },
    files: [file('sidecars/egress/config.json', '{"routes":[]}'), file('agent/gitconfig', '[user]', 'none')],
    secrets: [],
    missingSecrets: [],
    routes: [],
    daemons: ['egress'],
    ...over,
  }
}

const observedPart = (hash: string, state: ObservedPart['state'] = 'running'): ObservedPart => ({ id: `id-${hash}`, name: `n-${hash}`, state, hash, image: `img:${hash}` })

/** What the engine and the disk look like right after `d` was applied. */
function applied(d: DesiredAgent): { observed: ObservedAgent; files: ObservedFiles } {
  return {
    observed: { agent: d.name, infrastructureReady: true, infrastructure: ['net'], parts: { agent: observedPart(d.parts.agent.hash), sidecars: observedPart(d.parts.sidecars.hash) } },
    files: new Map(d.files.map((f) => [f.path, fileDigest(f.content)])),
  }
}

describe('planAgent', () => {
  it('creates everything for a new agent, bundle before agent', () => {
    const actions = planAgent(desired(), undefined, new Map())
    expect(actions.map((a) => `${a.kind}${'part' in a ? `:${a.part}` : ''}/${a.class}`)).toEqual([
      'ensure-infrastructure/create',
      'write-files/hot',
      'create-part:sidecars/create',
      'create-part:agent/create',
    ])
  })

  const cases: { name: string; change: (d: DesiredAgent) => DesiredAgent; want: string[]; impact: string }[] = [
    { name: 'a route change is hot: write config, signal the bundle', change: (d) => ({ ...d, files: [file('sidecars/egress/config.json', '{"routes":[1]}'), d.files[1]!] }), want: ['write-files/hot', 'reload-sidecars/hot'], impact: 'hot' },
    { name: 'an agent spec change recreates the agent only', change: (d) => ({ ...d, parts: { ...d.parts, agent: part('a2') } }), want: ['create-part:agent/recreate'], impact: 'recreate' },
    { name: 'a bundle spec change restarts the bundle only', change: (d) => ({ ...d, parts: { ...d.parts, sidecars: part('s2') } }), want: ['create-part:sidecars/sidecars'], impact: 'sidecars' },
    { name: 'a file read only at start is written without a reload', change: (d) => ({ ...d, files: [d.files[0]!, file('agent/gitconfig', '[user] x', 'none')] }), want: ['write-files/hot'], impact: 'hot' },
    { name: 'suspend stops the agent, then the bundle', change: (d) => ({ ...d, suspended: true }), want: ['stop-part:agent/lifecycle', 'stop-part:sidecars/lifecycle'], impact: 'lifecycle' },
  ]
  it.each(cases)('$name', ({ change, want, impact }) => {
    const before = desired()
    const { observed, files } = applied(before)
    const actions = planAgent(change(before), observed, files)
    expect(actions.map((a) => `${a.kind}${'part' in a ? `:${a.part}` : ''}/${a.class}`)).toEqual(want)
    expect(planImpact(actions)).toBe(impact)
  })

  it('restarts a stopped part and recreates a dead one', () => {
    const d = desired()
    const { observed, files } = applied(d)
    observed.parts.agent = observedPart('a1', 'stopped')
    observed.parts.sidecars = observedPart('s1', 'dead')
    expect(planAgent(d, observed, files).map((a) => a.kind)).toEqual(['create-part', 'start-part'])
  })

  it('prunes an agent whose spec is gone, and does nothing for one that never ran', () => {
    expect(planAgent(undefined, applied(desired()).observed, new Map())).toEqual([{ kind: 'remove-agent', class: 'prune' }])
    expect(planAgent(undefined, undefined, new Map())).toEqual([])
  })

  it('a suspended agent that never ran stays absent', () => {
    expect(planAgent(desired({ suspended: true }), undefined, new Map())).toEqual([])
  })

  it('planning against what a plan produced gives no actions (for any desired state)', () => {
    const arbDesired = fc.record({
      agentHash: fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: 1, maxLength: 6 }),
      sidecarsHash: fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: 1, maxLength: 6 }),
      config: fc.string(),
      gitconfig: fc.string(),
      suspended: fc.boolean(),
    })
    fc.assert(
      fc.property(arbDesired, ({ agentHash, sidecarsHash, config, gitconfig, suspended }) => {
        const d = desired({ parts: { agent: part(agentHash), sidecars: part(sidecarsHash) }, files: [file('sidecars/egress/config.json', config), file('agent/gitconfig', gitconfig, 'none')] })
        const { observed, files } = applied(d)
        if (suspended) {
          observed.parts.agent!.state = 'stopped'
          observed.parts.sidecars!.state = 'stopped'
        }
        expect(planAgent({ ...d, suspended }, observed, files)).toEqual([])
      }),
    )
  })

  it('leaves a finished task alone: neither restarted nor recreated, whatever its exit', () => {
    const task = desired({ parts: { agent: { ...part('a1'), restart: { onFailure: 1 } }, sidecars: part('s1') } })
    const { observed, files } = applied(task)
    for (const state of ['stopped', 'restarting'] as const) {
      const finished = { ...observed, parts: { ...observed.parts, agent: observedPart('a1', state) } }
      expect(planAgent(task, finished, files)).toEqual([])
    }
    const longRunning = desired()
    const stopped = { ...applied(longRunning).observed, parts: { ...applied(longRunning).observed.parts, agent: observedPart('a1', 'stopped') } }
    expect(planAgent(longRunning, stopped, applied(longRunning).files)).toEqual([{ kind: 'start-part', class: 'lifecycle', part: 'agent' }])
  })
})
