import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import type { BottleSpec, GitRemote } from '../../../../controller/spec/generated/spec-types.js'
import { layerOf, mergeLayers, resolveChain, type BottleLayer } from '../../../../controller/spec/merge-bottle-specs.js'

const remote = (name: string, upstream = `https://git.example.com/${name}.git`): GitRemote => ({ name, upstream })

describe('resolveChain applies the extends merge rules of DESIGN 2.1', () => {
  const cases: { name: string; chain: BottleSpec[]; want: BottleSpec }[] = [
    { name: 'env merges and the child wins', chain: [{ env: { A: '1', B: '1' } }, { env: { B: '2', C: '2' } }], want: { env: { A: '1', B: '2', C: '2' } } },
    { name: 'git.user merges per field', chain: [{ git: { user: { name: 'P', email: 'p@x' } } }, { git: { user: { name: 'C' } } }], want: { git: { user: { name: 'C', email: 'p@x' } } } },
    {
      name: 'git.remotes merge by name, a child entry replacing the parent one in place',
      chain: [{ git: { remotes: [remote('a'), remote('b')] } }, { git: { remotes: [remote('b', 'https://other/b.git'), remote('c')] } }],
      want: { git: { remotes: [remote('a'), remote('b', 'https://other/b.git'), remote('c')] } },
    },
    { name: 'remotes: [] clears the parent remotes', chain: [{ git: { remotes: [remote('a')] } }, { git: { remotes: [] } }], want: { git: { remotes: [] } } },
    { name: 'a child without git inherits remotes', chain: [{ git: { remotes: [remote('a')] } }, { env: { X: '1' } }], want: { git: { remotes: [remote('a')] }, env: { X: '1' } } },
    {
      name: 'egress replaces whole (no per-route merge)',
      chain: [{ egress: { routes: [{ host: 'a.com' }], dlp: { action: 'warn' } } }, { egress: { routes: [{ host: 'b.com' }] } }],
      want: { egress: { routes: [{ host: 'b.com' }] } },
    },
    { name: 'image replaces whole', chain: [{ image: { provider: 'claude' } }, { image: { ref: 'x:1' } }], want: { image: { ref: 'x:1' } } },
    { name: 'supervise replaces whole', chain: [{ supervise: { enabled: true } }, { supervise: {} }], want: { supervise: {} } },
    { name: 'resources replace whole', chain: [{ resources: { cpus: 2, memoryMiB: 1024 } }, { resources: { cpus: 1 } }], want: { resources: { cpus: 1 } } },
    { name: 'runtime: the child wins when set', chain: [{ runtime: 'vm' }, {}], want: { runtime: 'vm' } },
    { name: 'extends itself never appears in the result', chain: [{ env: { A: '1' } }, { extends: 'p', env: { B: '1' } }], want: { env: { A: '1', B: '1' } } },
  ]
  it.each(cases)('$name', ({ chain, want }) => {
    expect(resolveChain(chain)).toEqual(want)
  })
})

// Small alphabets so random chains collide on names and keys, which is where merging does work.
const name = fc.constantFrom('a', 'b', 'c')
const arbRemote = fc.record({ name, upstream: fc.constantFrom('https://h/1.git', 'https://h/2.git') })
const arbSpec: fc.Arbitrary<BottleSpec> = fc.record(
  {
    runtime: fc.constantFrom('docker' as const, 'vm' as const),
    env: fc.dictionary(fc.constantFrom('A', 'B', 'C'), fc.constantFrom('1', '2')),
    image: fc.constantFrom({ provider: 'claude' as const }, { ref: 'x:1' }),
    resources: fc.record({ cpus: fc.constantFrom(1, 2) }),
    egress: fc.record({ routes: fc.array(fc.record({ host: fc.constantFrom('a.com', 'b.com') }), { maxLength: 2 }) }),
    supervise: fc.record({ enabled: fc.boolean() }),
    git: fc.record(
      {
        user: fc.record({ name: fc.constantFrom('n1', 'n2'), email: fc.constantFrom('e1', 'e2') }, { requiredKeys: [] }),
        remotes: fc.array(arbRemote, { maxLength: 3 }).map((rs) => rs.filter((r, i) => rs.findIndex((x) => x.name === r.name) === i)),
      },
      { requiredKeys: [] },
    ),
  },
  { requiredKeys: [] },
)
const arbLayer: fc.Arbitrary<BottleLayer> = arbSpec.map(layerOf)

describe('merging bottle layers', () => {
  it('is associative, so a chain resolves the same however it is grouped', () => {
    fc.assert(
      fc.property(arbLayer, arbLayer, arbLayer, (a, b, c) => {
        expect(mergeLayers(mergeLayers(a, b), c)).toEqual(mergeLayers(a, mergeLayers(b, c)))
      }),
      { numRuns: 500 },
    )
  })

  it('folds long random chains the same left-to-right and right-to-left', () => {
    fc.assert(
      fc.property(fc.array(arbLayer, { minLength: 1, maxLength: 8 }), (layers) => {
        const left = layers.reduce((acc, l) => mergeLayers(acc, l))
        const right = layers.reduceRight((acc, l) => mergeLayers(l, acc))
        expect(left).toEqual(right)
      }),
    )
  })

  it('an empty child yields the parent', () => {
    fc.assert(
      fc.property(arbLayer, (parent) => {
        expect(mergeLayers(parent, layerOf({})).spec).toEqual(parent.spec)
      }),
    )
  })

  it('child env keys always win', () => {
    fc.assert(
      fc.property(arbSpec, arbSpec, (parent, child) => {
        const merged = resolveChain([parent, child])
        for (const [k, v] of Object.entries(child.env ?? {})) expect(merged.env?.[k]).toBe(v)
      }),
    )
  })

  it('remotes: [] always clears, whatever the parents declared', () => {
    fc.assert(
      fc.property(fc.array(arbSpec, { maxLength: 4 }), (parents) => {
        expect(resolveChain([...parents, { git: { remotes: [] } }]).git?.remotes).toEqual([])
      }),
    )
  })
})
